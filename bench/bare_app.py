"""The baseline for bench_org_read.py: bare Litestar + a plain asyncpg pool, one route.

It answers the same path as the real app, `GET /api/v1/organizations/{org_id}`, with the same public
fields read from the same `organizations` row, but with none of the real app's machinery: no
SQLAlchemy session or unit of work, no API-key lookup (only a check that a Bearer token is present),
no policy guard, no middleware, no access log.

Serve it like the real app (DATABASE_URL must be set):

    DATABASE_URL=postgresql://... python -m uvicorn bench.bare_app:create_app --factory --port 8001
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import asyncpg
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException, NotFoundException

ORG_COLUMNS = "id, kind, name_zh, name_en, region_code, website, description, verification_status, created_at"
ORG_QUERY = f"SELECT {ORG_COLUMNS} FROM organizations WHERE id = $1"


def _dsn() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("bench.bare_app needs DATABASE_URL")
    for prefix in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


@get("/api/v1/organizations/{org_id:uuid}")
async def get_organization(request: Request[Any, Any, Any], state: State, org_id: uuid.UUID) -> dict[str, Any]:
    """One organisation's public fields, straight from the pool."""
    if not request.headers.get("authorization", "").lower().startswith("bearer "):
        raise NotAuthorizedException("Bearer token required")
    pool: asyncpg.Pool = state.pool
    row = await pool.fetchrow(ORG_QUERY, org_id)
    if row is None:
        raise NotFoundException("no such organisation")
    return dict(row)


@get("/ready")
async def ready(state: State) -> dict[str, str]:
    """The pool answers."""
    await state.pool.fetchval("SELECT 1")
    return {"status": "ready"}


def create_app() -> Litestar:
    """The baseline app; the pool mirrors the real app's size and session settings."""

    async def on_startup(app: Litestar) -> None:
        app.state.pool = await asyncpg.create_pool(
            _dsn(),
            min_size=1,
            max_size=int(os.environ.get("DB_POOL_SIZE", "10")) + int(os.environ.get("DB_MAX_OVERFLOW", "10")),
            server_settings={"statement_timeout": "15000", "application_name": "bare_app", "timezone": "UTC"},
        )

    async def on_shutdown(app: Litestar) -> None:
        await app.state.pool.close()

    return Litestar(
        route_handlers=[get_organization, ready],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=None,
        logging_config=None,
        debug=False,
    )
