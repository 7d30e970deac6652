"""The index follows the database: drift is measured by fingerprint, a rebuild repairs it, and the CLI says so."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.search_api.cli import reindex
from marketplace.search_api.service import measure_drift, rebuild_index, source_count, source_documents
from search.engine import SearchEngine
from search.model import SearchDocument
from search.settings import DEMANDS, LISTINGS
from tests.catalogue import create_demand, published_listing
from tests.factories import Factory


@pytest.fixture
async def catalogue(client: httpx.AsyncClient, factory: Factory) -> dict[str, Any]:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    listings = [
        (await published_listing(client, owner, platform, title_zh=f"重建测试成果{n}")).json()["id"] for n in range(3)
    ]
    demand = (await create_demand(client, enterprise, title="重建测试需求")).json()["id"]
    return {"listings": listings, "demand": demand}


async def test_drift_is_found_and_a_rebuild_repairs_it(
    catalogue: dict[str, Any],
    sessionmaker: async_sessionmaker[AsyncSession],
    postgres_engine: SearchEngine,
) -> None:
    engine = postgres_engine
    async with sessionmaker() as session:
        expected = await source_count(session, LISTINGS)
        backend = engine.backend(session)
        await backend.clear(LISTINGS)
        # one stale document (an older title) and one orphan (no longer public)
        stale_id = catalogue["listings"][0]
        current = [d async for docs in source_documents(session, LISTINGS) for d in docs if d.id == stale_id]
        await backend.upsert(
            LISTINGS, [_retitled(current[0], "旧标题"), _retitled(current[0], "孤儿", doc_id="orphan-1")]
        )
        await session.commit()

    before = await measure_drift(sessionmaker, engine, LISTINGS)
    assert before.in_database == expected and before.in_index == 2
    assert before.stale == [stale_id]
    assert before.orphaned == ["orphan-1"]
    assert set(catalogue["listings"][1:]) <= set(before.missing)

    phases: list[tuple[str, int, int]] = []
    result = await rebuild_index(sessionmaker, engine, LISTINGS, batch=2, on_progress=lambda *a: phases.append(a))
    assert result.written == expected and result.removed == 1
    assert result.after.clean, result.after
    assert ("index", expected, expected) in phases and phases[-1][0] == "statistics"

    demands = await rebuild_index(sessionmaker, engine, DEMANDS)
    assert demands.after.clean and catalogue["demand"] in {d for d in demands.before.missing}


def _retitled(doc: SearchDocument, title: str, *, doc_id: str | None = None) -> SearchDocument:
    data = doc.as_json()
    data["title"] = title
    if doc_id:
        data["id"] = doc_id
    return SearchDocument.from_json(data)


def test_reindex_command_help_names_what_it_does() -> None:
    result = CliRunner().invoke(reindex, ["--help"])
    assert result.exit_code == 0
    assert "missing" in result.output and "stale" in result.output and "--check" in result.output


def test_reindex_command_checks_and_rebuilds_a_database(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the command as an operator would, against the test server (the search tables only)."""
    from marketplace.config import get_settings
    from search.engine import set_search_engine

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    set_search_engine(None)
    try:
        rebuilt = CliRunner().invoke(reindex, ["--index", "all"])
        assert rebuilt.exit_code == 0, rebuilt.output
        assert "listings" in rebuilt.output and "demands" in rebuilt.output
        checked = CliRunner().invoke(reindex, ["--check"])
        assert checked.exit_code == 0, checked.output
        assert "Search index drift" in checked.output
    finally:
        get_settings.cache_clear()
        set_search_engine(None)
