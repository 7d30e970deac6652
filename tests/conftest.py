"""Test fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL), built by Alembic once, each test rolled back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.app import create_app
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.engine import make_engine
from marketplace.db.migrate import known_revisions, script_heads, upgrade
from tests.factories import Factory

# The in-memory copies of big search indexes load in the background when the index changes; tests
# index a few documents and search at once, so the suite runs without them and tests/search/test_memory.py
# tests them on purpose (set before the search settings are first read).
os.environ.setdefault("SEARCH_MEMORY", "false")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A migrated database: TEST_DATABASE_URL if set, else a fresh embedded server in a temporary folder."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        upgrade(url)
        yield url
        return
    from marketplace.db.embedded import start_embedded

    with tempfile.TemporaryDirectory(prefix="marketplace-test-") as tmp:
        server, url = start_embedded(Path(tmp), "marketplace_test")
        upgrade(url)
        os.environ["MARKETPLACE_TEST_EMBEDDED_DIR"] = tmp
        yield url
        server.stop()


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    """Settings pointing at the test database (no rate limits: the whole run is one client address)."""
    return Settings(database_url=database_url, log_json=True, log_level="WARNING", rate_limit_enabled=False)


@pytest.fixture(scope="session")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """One engine for the whole run."""
    eng = make_engine(settings, url=to_asyncpg_url(settings.database_url or ""))
    yield eng
    await eng.dispose()


@pytest.fixture(scope="session")
def app(settings: Settings) -> Litestar:
    """The application, built once; each test points it at its own transaction."""
    return create_app(settings, check_migrations=False)


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            yield conn
        finally:
            if trans.is_active:
                await trans.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions joined to the test transaction: their commits only release savepoints."""
    return async_sessionmaker(bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint")


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session for service-level tests, rolled back with the test."""
    async with sessionmaker() as s:
        yield s


@pytest.fixture
async def client(
    app: Litestar, engine: AsyncEngine, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the app whose requests all run in the test's transaction."""
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.expected_heads = script_heads(settings.database_url or "")
    app.state.known_revisions = known_revisions(settings.database_url or "")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def committing_client(app: Litestar, engine: AsyncEngine, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose requests commit for real, each on its own pooled connection (concurrency tests)."""
    from marketplace.db.engine import make_sessionmaker

    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.expected_heads = script_heads(settings.database_url or "")
    app.state.known_revisions = known_revisions(settings.database_url or "")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
async def factory(session: AsyncSession) -> Factory:
    """Builders for organisations, users and keys in the test transaction."""
    return Factory(session)
