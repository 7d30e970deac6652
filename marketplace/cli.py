"""The `marketplace` command: serve, db, demo, create-admin, import, openapi."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table

from marketplace.config import Settings, get_settings

T = TypeVar("T")
console = Console(stderr=True)
ROOT = Path(__file__).resolve().parents[1]


def resolve_database(settings: Settings, *, migrate: bool) -> str:
    """The database URL to use: DATABASE_URL, or the embedded server (started, and migrated if asked)."""
    if settings.database_url:
        return settings.database_url
    from marketplace.db.embedded import start_embedded

    started = time.perf_counter()
    _server, url = start_embedded(settings.marketplace_data_dir)
    console.print(
        f"[green]embedded PostgreSQL[/] in {settings.marketplace_data_dir}/pg "
        f"ready in {time.perf_counter() - started:.2f}s"
    )
    if migrate:
        from marketplace.db.migrate import upgrade

        upgrade(url)
    # Child processes (uvicorn workers) and create_app read the URL from the environment.
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    return url


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run one coroutine to completion."""
    return asyncio.run(factory())  # type: ignore[arg-type]


async def _with_session(url: str, work: Callable[[Any], Awaitable[T]]) -> T:
    from marketplace.config import to_asyncpg_url
    from marketplace.db.engine import make_engine, make_sessionmaker

    engine = make_engine(get_settings(), url=to_asyncpg_url(url))
    try:
        async with make_sessionmaker(engine)() as session:
            result = await work(session)
            await session.commit()
            return result
    finally:
        await engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Technology-results and IP exchange: the API server and its tools."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--demo/--no-demo", default=False, show_default=True, help="Seed demo data and print its API keys.")
@click.option("--reload", is_flag=True, help="Reload on code changes (development).")
@click.option(
    "--reuse-port",
    is_flag=True,
    help=(
        "Listen with SO_REUSEPORT: start several `serve --reuse-port` on one port (with DATABASE_URL set),"
        " one per core; the kernel spreads connections over them."
    ),
)
def serve(host: str, port: int, workers: int, demo: bool, reload: bool, reuse_port: bool) -> None:
    """Serve the API (embedded PostgreSQL when DATABASE_URL is unset)."""
    from marketplace.web import serving

    started = time.perf_counter()
    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)
    if demo:
        _print_demo(run_async(lambda: _seed(url)))
    console.print(
        f"[bold]API[/] http://{host}:{port}/api/v1  docs http://{host}:{port}/schema  "
        f"(prepared in {time.perf_counter() - started:.2f}s)"
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; exit normally instead, so the embedded
    # server's exit hook stops PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serving.run(
        "marketplace.app:create_app",
        reuse_port=reuse_port,
        factory=True,
        host=host,
        port=port,
        workers=workers if not reload else None,
        reload=reload,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )


@main.command()
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Worker loops in this process (each claims its own jobs).",
)
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds to sleep when idle.")
def worker(concurrency: int, poll: float) -> None:
    """Run the outbox and the durable jobs (timers, indexing, webhooks) until SIGTERM/SIGINT."""
    import signal

    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.events.worker import Worker, WorkerConfig
    from marketplace.kit.logging import configure_logging
    from marketplace.tasks import load_all

    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)
    configure_logging(level=settings.log_level, json=settings.log_json)
    loaded = load_all()

    async def run() -> None:
        from marketplace.config import to_asyncpg_url

        engine = make_engine(settings, url=to_asyncpg_url(url))
        maker = make_sessionmaker(engine)
        workers = [Worker(maker, WorkerConfig(poll_interval=poll)) for _ in range(concurrency)]
        loop = asyncio.get_running_loop()

        def stop_all() -> None:
            for w in workers:
                w.stop()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop_all)
        console.print(f"worker: {concurrency} loop(s), handlers from {', '.join(loaded) or 'no domain'}")
        try:
            await asyncio.gather(*(w.run() for w in workers))
        finally:
            await engine.dispose()

    asyncio.run(run())


@main.group()
def db() -> None:
    """Database schema: upgrade, downgrade, current."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from marketplace.db.migrate import upgrade

    url = resolve_database(get_settings(), migrate=False)
    upgrade(url, revision)
    console.print(f"[green]upgraded to {revision}[/]")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1 or base)."""
    from marketplace.db.migrate import downgrade

    url = resolve_database(get_settings(), migrate=False)
    downgrade(url, revision)
    console.print(f"[yellow]downgraded to {revision}[/]")


@db.command("current")
def db_current() -> None:
    """Print the applied revision and whether migrations are pending."""
    from marketplace.db.migrate import current_revisions_async, script_heads

    url = resolve_database(get_settings(), migrate=False)

    async def read(session: Any) -> set[str]:
        conn = await session.connection()
        return await current_revisions_async(conn)

    applied = run_async(lambda: _with_session(url, read))
    heads = script_heads(url)
    click.echo(json.dumps({"applied": sorted(applied), "head": sorted(heads), "pending": applied != heads}))


@main.command()
def demo() -> None:
    """Seed the demo organisations, users and keys (idempotent) and print the keys."""
    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)
    _print_demo(run_async(lambda: _seed(url)))


@main.command("create-admin")
@click.option("--email", required=True, help="The admin's e-mail address.")
@click.option("--name", default="Platform admin", show_default=True, help="Display name.")
@click.option("--org-name", default="技术交易平台运营方", show_default=True, help="Platform organisation name, if new.")
def create_admin(email: str, name: str, org_name: str) -> None:
    """Create a platform administrator (and the platform organisation if missing); print their key once."""
    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)

    async def work(session: Any) -> str:
        from marketplace.accounts.keys import display_prefix, generate_key, hash_key
        from marketplace.accounts.models import (
            ApiKey,
            Organization,
            OrganizationKind,
            Role,
            User,
            VerificationStatus,
        )
        from marketplace.accounts.repository import AccountsRepository
        from marketplace.events.service import EventRecorder

        repo = AccountsRepository(session)
        if await repo.user_by_email(email):
            raise click.ClickException(f"a user with e-mail {email} exists already")
        org = await repo.platform_organization()
        if org is None:
            org = Organization(
                kind=OrganizationKind.platform,
                name_zh=org_name,
                verification_status=VerificationStatus.verified,
            )
            await repo.add(org)
        user = User(organization_id=org.id, email=email, display_name=name, role=Role.owner)
        await repo.add(user)
        secret = generate_key()
        await repo.add(
            ApiKey(
                user_id=user.id,
                name="created by create-admin",
                prefix=display_prefix(secret),
                key_hash=hash_key(secret),
                scopes=["read", "write"],
            )
        )
        EventRecorder(session).audit(
            actor=None,
            organization_id=org.id,
            action="user.created",
            target_type="user",
            target_id=user.id,
            diff={"role": [None, "owner"], "via": [None, "create-admin"]},
        )
        return secret

    secret = run_async(lambda: _with_session(url, work))
    console.print(f"[green]platform admin {email} created[/]; API key (shown once):")
    click.echo(secret)


@main.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=ROOT / "api_specs" / "openapi.json",
    show_default=True,
    help="Where to write the spec ('-' for stdout).",
)
def openapi(output: Path) -> None:
    """Write the OpenAPI spec generated from the app."""
    text = render_openapi()
    if str(output) == "-":
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}")


@main.group("import")
def import_group() -> None:
    """Bulk import from CSV or JSON lines: every row is validated, then all are imported or none."""


@import_group.command("listings")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_ref", required=True, help="The owning organisation: its id or its credit code.")
@click.option("--submit", is_flag=True, help="Submit the listings for review instead of keeping them as drafts.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="File format (default: from the file extension).",
)
def import_listings(file: Path, org_ref: str, submit: bool, fmt: str | None) -> None:
    """Import listings from FILE for one organisation (columns: docs/import.md)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from marketplace.listings import bulk
    from marketplace.listings.errors import ImportRejected

    fmt = fmt or bulk.detect_format(content_type=None, filename=file.name)
    if fmt is None:
        raise click.ClickException("cannot tell the format from the file name; pass --format csv or --format jsonl")
    content = file.read_bytes()
    settings = get_settings()
    url = resolve_database(settings, migrate=settings.embedded)
    started = time.perf_counter()
    with Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = progress.add_task(phase, total=total)
            progress.update(tasks[phase], completed=done, total=total)

        async def work(session: Any) -> int:
            from marketplace.listings.service import ImportOwner, ListingsService

            org = await _organization_by_ref(session, org_ref)
            owner = ImportOwner(
                organization_id=org.id,
                kind=org.kind,
                verified=org.verification_status == "verified",
            )
            return await ListingsService(session).import_listings(
                owner, content, fmt, submit=submit, progress=on_progress
            )

        try:
            count = run_async(lambda: _with_session(url, work))
        except ImportRejected as exc:
            progress.stop()
            _print_import_problems(exc)
            raise SystemExit(1) from exc
    elapsed = time.perf_counter() - started
    state = "submitted for review" if submit else "drafts"
    console.print(f"[green]imported {count} listings[/] as {state} in {elapsed:.1f}s")


async def _organization_by_ref(session: Any, ref: str) -> Any:
    """An organisation by id or credit code, or a usage error."""
    import uuid

    from marketplace.accounts.repository import AccountsRepository

    repo = AccountsRepository(session)
    try:
        org = await repo.get_organization(uuid.UUID(ref))
    except ValueError:
        org = await repo.organization_by_credit_code(ref.strip().upper())
    if org is None:
        raise click.ClickException(f"no organisation with id or credit code {ref!r}")
    return org


def _print_import_problems(exc: Any) -> None:
    rows = exc.extra.get("rows", [])
    table = Table(title=f"Nothing imported: {exc.detail}", expand=False)
    for col in ("row", "column", "problem"):
        table.add_column(col, overflow="fold")
    for problem in rows:
        table.add_row(str(problem["row"]), problem.get("column") or problem["field"], problem["problem"])
    console.print(table)
    total = exc.extra.get("problem_count", len(rows))
    if total > len(rows):
        console.print(f"... and {total - len(rows)} more problem(s)")


def render_openapi() -> str:
    """The spec as stable, pretty JSON (no database needed)."""
    from marketplace.app import create_app

    app = create_app(Settings(database_url="postgresql://spec@localhost/spec"), check_migrations=False)
    return json.dumps(app.openapi_schema.to_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


async def _seed(url: str) -> list[Any]:
    from marketplace.demo import seed_demo

    async def work(session: Any) -> list[Any]:
        creds, created = await seed_demo(session)
        console.print(f"demo data: {created} new organisation(s), {len(creds)} demo users")
        return creds

    creds = await _with_session(url, work)
    await _index_demo(url)
    return creds


async def _index_demo(url: str) -> None:
    """Put the demo's listings and demands in the search index now (no worker runs beside `serve --demo`)."""
    from marketplace.config import get_settings, to_asyncpg_url
    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.search_api.service import rebuild_index
    from search.engine import get_search_engine
    from search.settings import INDEXES

    db = make_engine(get_settings(), url=to_asyncpg_url(url))
    engine = get_search_engine()
    try:
        for name in INDEXES:
            await rebuild_index(make_sessionmaker(db), engine, name)
    finally:
        await engine.aclose()
        await db.dispose()
    console.print("demo data: search index up to date")


def _print_demo(creds: list[Any]) -> None:
    table = Table(title="Demo API keys (demo data only)", expand=False)
    for col in ("API key", "user", "role", "kind", "organisation"):
        table.add_column(col, no_wrap=True, overflow="ignore")
    for c in creds:
        table.add_row(c.key, c.email, c.role, c.kind, c.organization)
    Console(width=200).print(table)


def _register_domain_commands() -> None:
    from marketplace.deals.cli import deals_doc
    from marketplace.search_api.cli import reindex

    main.add_command(reindex)
    main.add_command(deals_doc)


_register_domain_commands()


if __name__ == "__main__":
    main()
