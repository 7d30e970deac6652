"""Alembic from code: upgrade, downgrade, and the check that refuses to serve on a stale schema."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parents[2]


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


def pending(database_url: str, applied: set[str]) -> bool:
    """Whether the database is behind the code."""
    return applied != script_heads(database_url)


__all__ = ["current_revisions_async", "downgrade", "pending", "script_heads", "upgrade"]
