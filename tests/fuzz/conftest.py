"""Fuzzing fixtures: the app on a database of its own with its own engine, and committed callers of every kind."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import schemathesis
from litestar import Litestar
from litestar.types import Receive, Scope, Send
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.app import create_app
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.migrate import upgrade
from tests.factories import Factory

SPEC_PATH = Path(__file__).resolve().parents[2] / "api_specs" / "openapi.json"
# The kinds of organisation the API serves; every fuzz test runs once as each.
KINDS = ("institute", "enterprise", "broker_agency", "platform")


@dataclass(frozen=True)
class FuzzWorld:
    """Bearer headers of an owner (an admin for the platform) of one committed organisation per kind."""

    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="session")
def fuzz_database_url(database_url: str) -> Iterator[str]:
    """A database of its own on the test server, migrated, dropped at the end: fuzzing commits what it creates,
    and other tests (search, reports) must not see it."""
    url = make_url(database_url)
    name = f"{url.database}_fuzz"
    own = url.set(database=name).render_as_string(hide_password=False)

    async def admin(*statements: str) -> None:
        conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
    upgrade(own)
    yield own
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def fuzz_world(fuzz_database_url: str) -> FuzzWorld:
    """Organisations, users and keys committed for real: the app under test reads them on its own connections."""

    async def build() -> FuzzWorld:
        engine = create_async_engine(to_asyncpg_url(fuzz_database_url))
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                factory = Factory(session)
                headers = {}
                for kind in KINDS:
                    role = Role.admin if kind == "platform" else Role.owner
                    actor = await factory.actor(kind=OrganizationKind(kind), role=role)
                    headers[kind] = actor.headers
                await session.commit()
        finally:
            await engine.dispose()
        return FuzzWorld(headers=headers)

    return asyncio.run(build())


@dataclass(frozen=True)
class Caller:
    """The organisation kind a test runs as, and its Authorization header."""

    kind: str
    headers: dict[str, str]


@pytest.fixture(params=KINDS)
def caller(request: pytest.FixtureRequest, fuzz_world: FuzzWorld) -> Caller:
    """The organisation kind this test runs as."""
    return Caller(kind=request.param, headers=fuzz_world.headers[request.param])


class LateApp:
    """An ASGI app whose target is built later: the spec is read at collection, the database is known in fixtures."""

    def __init__(self) -> None:
        self.target: Litestar | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.target is not None, "the fuzz_app fixture builds the app"
        await self.target(scope, receive, send)


APP = LateApp()

# The import takes JSON lines as a text body; schemathesis sends it like text/plain.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")

# A request the spec allows may still break a business rule the schema cannot express (an unknown region or
# field code, a listing that is not published, a deadline in the past): 400/422 are right answers to those, and
# 415 to an import whose file part is an image (the schema cannot say which files a multipart part takes).
# That the validator's own schema rules never reject a spec-valid request is checked by spec_matches_validator.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "412", "415", "422", "428"]
            }
        }
    }
)


def load_schema() -> OpenApiSchema:
    """The committed spec, called in-process against the app."""
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)
    schema.app = APP
    return schema


@pytest.fixture(scope="session")
def fuzz_app(fuzz_database_url: str) -> Litestar:
    """The app with default wiring: its start-up makes its own engine on the test database, so every 2xx commits."""
    if APP.target is None:
        APP.target = create_app(
            Settings(database_url=fuzz_database_url, log_level="ERROR", rate_limit_enabled=False),
            check_migrations=False,
        )
    return APP.target
