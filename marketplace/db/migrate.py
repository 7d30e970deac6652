"""Alembic from code: upgrade, downgrade, and the check that refuses to serve on a stale schema."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory


def migrations_root() -> Path:
    """Where migrations/ and alembic.ini are: the source checkout, or <prefix>/share/marketplace when installed."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "migrations" / "env.py").is_file():
        return checkout
    installed = Path(sys.prefix) / "share" / "marketplace"
    if (installed / "migrations" / "env.py").is_file():
        return installed
    raise FileNotFoundError(f"no migrations next to the package ({checkout}) nor in {installed}")


ROOT = migrations_root()


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at migrations/ and the given database."""
    ini = ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply migrations up to revision."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Revert migrations down to revision."""
    command.downgrade(alembic_config(database_url), revision)


def script_heads(database_url: str) -> set[str]:
    """The head revisions the code expects."""
    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


async def current_revisions_async(conn: object) -> set[str]:
    """The revisions applied in the database (on an async connection)."""
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(conn, AsyncConnection)
    return set(await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_heads()))


def known_revisions(database_url: str) -> set[str]:
    """Every revision this code knows."""
    return {rev.revision for rev in ScriptDirectory.from_config(alembic_config(database_url)).walk_revisions()}


def schema_state(applied: set[str], *, heads: set[str], known: set[str]) -> str:
    """'current', 'behind' (migrations pending) or 'ahead' (a newer release migrated it, as in a rolling deploy)."""
    if applied == heads:
        return "current"
    if applied and not applied <= known:
        return "ahead"
    return "behind"


__all__ = ["current_revisions_async", "downgrade", "known_revisions", "schema_state", "script_heads", "upgrade"]
