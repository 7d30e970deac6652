"""Hardening tests: apps built with their own settings, and clients that talk to them from a given address."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.app import create_app
from marketplace.config import Settings
from marketplace.db.migrate import known_revisions, script_heads
from tests.reports.conftest import seeded  # noqa: F401 (the dashboard tests here use its seeded data)


def app_with(settings: Settings, **overrides: Any) -> Litestar:
    """An app built from the test settings with some of them changed."""
    return create_app(settings.model_copy(update=overrides), check_migrations=False)


def attach(app: Litestar, settings: Settings, engine: AsyncEngine, maker: async_sessionmaker[AsyncSession]) -> Litestar:
    """Point an app built outside its lifespan at an engine and a sessionmaker (as the shared fixtures do)."""
    app.state.engine = engine
    app.state.sessionmaker = maker
    app.state.expected_heads = script_heads(settings.database_url or "")
    app.state.known_revisions = known_revisions(settings.database_url or "")
    return app


def client_from(app: Litestar, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client for app whose requests come from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
