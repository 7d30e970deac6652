"""Health, readiness and version routes (outside /api/v1, no authentication)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from sqlalchemy import text

from marketplace.db.migrate import current_revisions_async, schema_state
from search.engine import get_search_engine


@get("/health", operation_id="health", summary="Process is up", tags=["system"], include_in_schema=True)
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@get("/ready", operation_id="ready", summary="Database reachable and schema current", tags=["system"])
async def ready(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Readiness: the database answers and its migrations match the code."""
    state = request.app.state
    try:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
            applied = await current_revisions_async(conn)
    except Exception as exc:  # any failure to reach the database means not ready
        return Response({"status": "unavailable", "database": type(exc).__name__}, status_code=503)
    schema = schema_state(applied, heads=state.expected_heads, known=state.known_revisions)
    if schema == "behind":
        return Response(
            {"status": "migrations pending", "database": sorted(applied), "code": sorted(state.expected_heads)},
            status_code=503,
        )
    # A schema ahead of the code is a rolling deploy in progress: migrations are additive, keep serving.
    return Response(
        {"status": "ready", "revision": sorted(applied), "schema": schema, "search": get_search_engine().status()},
        status_code=200,
    )
