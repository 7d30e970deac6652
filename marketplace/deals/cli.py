"""`marketplace deals-doc`: write docs/deals.md from the process table."""

from __future__ import annotations

from pathlib import Path

import click

from marketplace.deals.doc import render

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "deals.md"


@click.command("deals-doc")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=DOC_PATH,
    show_default=True,
    help="Where to write the document ('-' for stdout).",
)
@click.option("--check", is_flag=True, help="Do not write; fail if the file differs from the process table.")
def deals_doc(output: Path, check: bool) -> None:
    """Write docs/deals.md (states, transitions, guards, deadlines, diagrams) from marketplace/deals/process.py."""
    text = render()
    if str(output) == "-":
        click.echo(text, nl=False)
        return
    if check:
        if not output.exists() or output.read_text(encoding="utf-8") != text:
            raise click.ClickException(f"{output} is stale: run `marketplace deals-doc`")
        click.echo(f"{output} is up to date")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}")
