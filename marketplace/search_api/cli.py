"""`marketplace reindex`: rebuild the search index from the database and report how far it had drifted."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from search.settings import INDEXES

console = Console(stderr=True)


def _drift_table(rows: list[tuple[str, Any]], *, title: str) -> Table:
    table = Table(title=title, expand=False)
    for name in ("index", "in database", "in index", "missing", "stale", "orphaned"):
        table.add_column(name, justify="right" if name != "index" else "left")
    for index, drift in rows:
        table.add_row(
            index,
            str(drift.in_database),
            str(drift.in_index),
            str(len(drift.missing)),
            str(len(drift.stale)),
            str(len(drift.orphaned)),
        )
    return table


def _examples(drift: Any) -> None:
    for label, ids in (("missing", drift.missing), ("stale", drift.stale), ("orphaned", drift.orphaned)):
        if ids:
            shown = ", ".join(ids[:5]) + (f" … (+{len(ids) - 5})" if len(ids) > 5 else "")
            console.print(f"  {drift.index} {label}: {shown}")


@click.command("reindex")
@click.option(
    "--index",
    "indexes",
    type=click.Choice([*INDEXES, "all"]),
    default="all",
    show_default=True,
    help="Which index to rebuild.",
)
@click.option("--check", is_flag=True, help="Only report drift (exit status 1 when there is any); change nothing.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(10, 5000), help="Documents per write.")
def reindex(indexes: str, check: bool, batch: int) -> None:
    """Rebuild the search index (PostgreSQL or Meilisearch, whichever runs) from the database.

    Reports, per index, documents missing from the index, stale (an older version indexed) and
    orphaned (indexed but no longer public), then writes every public listing and open demand,
    removes orphans and recounts ranking statistics. Safe while the service runs.
    """
    from marketplace.cli import resolve_database
    from marketplace.config import get_settings, to_asyncpg_url
    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.search_api.service import measure_drift, rebuild_index
    from search.engine import get_search_engine

    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)
    names = list(INDEXES) if indexes == "all" else [indexes]
    engine = get_search_engine()
    console.print(f"search engine: [bold]{engine.name}[/]")

    async def run() -> int:
        db = make_engine(settings, url=to_asyncpg_url(url))
        maker = make_sessionmaker(db)
        try:
            if check:
                drifts = [(name, await measure_drift(maker, engine, name)) for name in names]
                console.print(_drift_table(drifts, title="Search index drift"))
                for _name, drift in drifts:
                    _examples(drift)
                return 0 if all(d.clean for _, d in drifts) else 1
            results = []
            with Progress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=console,
            ) as progress:
                tasks: dict[tuple[str, str], Any] = {}
                for name in names:

                    def on_progress(phase: str, done: int, total: int, name: str = name) -> None:
                        if (name, phase) not in tasks:
                            tasks[name, phase] = progress.add_task(f"{name}: {phase}", total=total)
                        progress.update(tasks[name, phase], completed=done, total=total)

                    results.append(await rebuild_index(maker, engine, name, batch=batch, on_progress=on_progress))
            console.print(_drift_table([(r.index, r.before) for r in results], title="Drift found before rebuilding"))
            for result in results:
                _examples(result.before)
                rate = result.written / result.seconds if result.seconds else 0.0
                console.print(
                    f"[green]{result.index}[/]: wrote {result.written}, removed {result.removed} "
                    f"in {result.seconds:.1f}s ({rate:.0f} documents/s); "
                    + ("index matches the database" if result.after.clean else "[yellow]changed again meanwhile[/]")
                )
            return 0
        finally:
            await engine.aclose()
            await db.dispose()

    sys.exit(asyncio.run(run()))
