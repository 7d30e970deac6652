"""Search engines under test: PostgreSQL always (in the test transaction; by statement and from its in-memory copy), Meilisearch when MEILISEARCH_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from search.backend import SearchBackend
from search.config import SearchSettings
from search.engine import SearchEngine, set_search_engine
from search.memory import MemoryIndexes
from search.postgres import PostgresSearchBackend, TermCache
from search.settings import index_settings

ENGINES = ["postgres", "postgres-memory", "meilisearch"]
NO_MEILISEARCH = "MEILISEARCH_URL is not set: no Meilisearch server to run the conformance suite against"


@pytest.fixture(autouse=True)
def postgres_engine() -> Iterator[SearchEngine]:
    """The app's engine for these tests: PostgreSQL with a fresh term cache (test writes are rolled back)."""
    engine = SearchEngine(SearchSettings(meilisearch_url=None))
    set_search_engine(engine)
    yield engine
    set_search_engine(None)


@pytest.fixture(params=ENGINES)
async def backend(request: pytest.FixtureRequest, connection: AsyncConnection) -> AsyncIterator[SearchBackend]:
    """Each engine in turn, with an empty index named "conformance" (its settings applied)."""
    settings = index_settings("conformance")
    if request.param.startswith("postgres"):
        # postgres-memory: every search answered from an in-memory copy loaded in the test's transaction
        memory = MemoryIndexes(min_documents=0, inline=True) if request.param == "postgres-memory" else None
        pg = PostgresSearchBackend(connection, cache=TermCache(), memory=memory)
        await pg.apply_settings(settings)
        yield pg
        return
    url = os.environ.get("MEILISEARCH_URL")
    if not url:
        pytest.skip(NO_MEILISEARCH)
    from search.meili import MeilisearchBackend

    meili = MeilisearchBackend.connect(
        url, api_key=os.environ.get("MEILISEARCH_API_KEY") or None, prefix=f"test_{uuid.uuid4().hex[:10]}_"
    )
    await meili.apply_settings(settings)
    try:
        yield meili
    finally:
        index = meili.client.index(meili.uid("conformance"))
        await index.delete_if_exists()
        await meili.aclose()
