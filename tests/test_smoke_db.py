"""The test database is real PostgreSQL, built by the migrations."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def test_schema_is_built_by_alembic(session: AsyncSession) -> None:
    version = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == "0001"
    server = (await session.execute(text("SHOW server_version_num"))).scalar_one()
    assert int(server) >= 150000


async def test_ready_reports_current_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "revision": ["0001"]}
