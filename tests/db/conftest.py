"""Scratch databases on the test server, for tests that need an empty or a second database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from marketplace.config import to_asyncpg_url


def _admin(database_url: str, sql: str) -> None:
    async def run() -> None:
        url = make_url(to_asyncpg_url(database_url)).set(database="postgres")
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(run())


def _scratch(database_url: str) -> Iterator[str]:
    name = f"scratch_{uuid.uuid4().hex[:12]}"
    _admin(database_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(database_url, f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def scratch_database(database_url: str) -> Iterator[str]:
    """An empty database on the same server, dropped afterwards."""
    yield from _scratch(database_url)


@pytest.fixture
def second_scratch_database(database_url: str) -> Iterator[str]:
    """Another empty database, e.g. to stand in for a read replica."""
    yield from _scratch(database_url)
