"""The test database is real PostgreSQL, built by the migrations."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.db.migrate import schema_state, script_heads


async def test_schema_is_built_by_alembic(session: AsyncSession, database_url: str) -> None:
    version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert {version} == script_heads(database_url)
    server = (await session.execute(text("SHOW server_version_num"))).scalar_one()
    assert int(server) >= 150000


async def test_ready_reports_current_schema(client: httpx.AsyncClient, database_url: str) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "revision": sorted(script_heads(database_url)),
        "schema": "current",
        "search": {"engine": "postgres"},  # no in-memory copies in the test suite (tests/conftest.py)
    }


def test_schema_states() -> None:
    known = {"0001", "0002"}
    assert schema_state({"0002"}, heads={"0002"}, known=known) == "current"
    assert schema_state({"0001"}, heads={"0002"}, known=known) == "behind"
    assert schema_state(set(), heads={"0002"}, known=known) == "behind"
    assert schema_state({"0099"}, heads={"0002"}, known=known) == "ahead"
