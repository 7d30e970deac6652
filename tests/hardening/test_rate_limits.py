"""Rate limits per API key and per client address: 429 problem+json with Retry-After, exempt system routes,
and one budget shared by several app instances through the PostgreSQL store under concurrent requests."""

from __future__ import annotations

import asyncio
import hashlib
import secrets

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.engine import make_engine, make_sessionmaker
from tests.catalogue import API
from tests.factories import Factory
from tests.hardening.conftest import app_with, attach, client_from

ANON_ROUTE = f"{API}/listings"
KEYED_ROUTE = f"{API}/organizations/me"


def random_address() -> str:
    """A client address no earlier run has counted (the PostgreSQL counters outlive a test)."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


async def test_anonymous_callers_are_limited_per_address(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = attach(
        app_with(settings, rate_limit_enabled=True, rate_limit_anonymous_requests=3), settings, engine, sessionmaker
    )
    async with client_from(app, "192.0.2.10") as one, client_from(app, "192.0.2.11") as other:
        answers = [await one.get(ANON_ROUTE) for _ in range(3)]
        assert [r.status_code for r in answers] == [200, 200, 200]
        assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
        assert answers[0].headers["RateLimit-Limit"] == "3"
        assert answers[0].headers["RateLimit-Policy"] == "3;w=60"

        refused = await one.get(ANON_ROUTE)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        body = refused.json()
        assert body["status"] == 429 and body["type"].endswith("/too-many-requests")
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["RateLimit-Remaining"] == "0"
        assert refused.headers["x-request-id"] == body["request_id"]
        assert refused.headers["x-content-type-options"] == "nosniff"

        # Another address has its own budget; health, readiness and metrics are never limited.
        assert (await other.get(ANON_ROUTE)).status_code == 200
        for path in ("/health", "/ready", "/metrics"):
            for _ in range(5):
                assert (await one.get(path)).status_code != 429


async def test_api_keys_have_their_own_budget(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], factory: Factory
) -> None:
    app = attach(
        app_with(settings, rate_limit_enabled=True, rate_limit_key_requests=4, rate_limit_anonymous_requests=2),
        settings,
        engine,
        sessionmaker,
    )
    alice, bob = await factory.actor(), await factory.actor()
    async with client_from(app, "192.0.2.20") as c:
        statuses = [(await c.get(KEYED_ROUTE, headers=alice.headers)).status_code for _ in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        # Same address, another key: a fresh budget; and the address's anonymous budget was not spent by alice.
        assert (await c.get(KEYED_ROUTE, headers=bob.headers)).status_code == 200
        assert (await c.get(ANON_ROUTE)).status_code == 200
        # Guessing keys does not get past the limit either: an unknown key is counted under its own digest.
        wrong = {"Authorization": "Bearer mk_" + "x" * 40}
        wrong_statuses = [(await c.get(KEYED_ROUTE, headers=wrong)).status_code for _ in range(5)]
        assert wrong_statuses[-1] == 429 and set(wrong_statuses[:4]) == {401}


async def test_memory_store_is_exact_under_concurrency(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = attach(
        app_with(settings, rate_limit_enabled=True, rate_limit_anonymous_requests=7), settings, engine, sessionmaker
    )
    async with client_from(app, "192.0.2.30") as c:
        answers = await asyncio.gather(*(c.get("/api/v1/reference/regions") for _ in range(20)))
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(429) == 13
    assert len([s for s in statuses if s < 400]) == 7


@pytest.mark.parametrize("instances", [2])
async def test_postgres_store_shares_one_budget_between_app_instances(settings: Settings, instances: int) -> None:
    """Two apps, each with its own engine and pool (as two API processes would be), share one limit exactly."""
    limit, requests = 10, 48
    engines = [make_engine(settings, url=to_asyncpg_url(settings.database_url or "")) for _ in range(instances)]
    address = random_address()
    try:
        apps = [
            attach(
                app_with(
                    settings,
                    rate_limit_enabled=True,
                    rate_limit_store="postgres",
                    rate_limit_anonymous_requests=limit,
                    rate_limit_window_seconds=86_400,
                ),
                settings,
                eng,
                make_sessionmaker(eng),
            )
            for eng in engines
        ]
        clients = [client_from(a, address) for a in apps]
        try:
            answers = await asyncio.gather(
                *(clients[i % instances].get(ANON_ROUTE, params={"limit": 1}) for i in range(requests))
            )
        finally:
            for c in clients:
                await c.aclose()
        statuses = [r.status_code for r in answers]
        assert statuses.count(200) == limit, statuses
        assert statuses.count(429) == requests - limit
        # Both instances answered some of each (the budget really is shared, not split).
        served_by = {i % instances for i, s in enumerate(statuses) if s == 200}
        refused_by = {i % instances for i, s in enumerate(statuses) if s == 429}
        assert served_by | refused_by == set(range(instances))
        async with engines[0].connect() as conn:
            hits = (
                await conn.execute(
                    sa.text("SELECT hits FROM rate_limit_counters WHERE key = :k"), {"k": f"ip:{address}"}
                )
            ).scalar_one()
        assert hits == requests
    finally:
        for eng in engines:
            await eng.dispose()


async def test_postgres_store_names_keys_by_digest_only(
    settings: Settings, factory: Factory, session: AsyncSession
) -> None:
    engine = make_engine(settings, url=to_asyncpg_url(settings.database_url or ""))
    try:
        app = attach(
            app_with(settings, rate_limit_enabled=True, rate_limit_store="postgres"),
            settings,
            engine,
            make_sessionmaker(engine),
        )
        secret = "mk_" + secrets.token_hex(20)
        async with client_from(app, random_address()) as c:
            r = await c.get(KEYED_ROUTE, headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 401
        async with engine.connect() as conn:
            result = await conn.execute(sa.text("SELECT key, hits FROM rate_limit_counters"))
            rows = {str(k): int(h) for k, h in result.all()}
        assert not any(secret in k or secret[3:] in k for k in rows)
        assert rows["key:" + hashlib.sha256(secret.encode()).hexdigest()[:40]] == 1
    finally:
        await engine.dispose()


async def test_limits_are_off_in_the_test_settings(settings: Settings) -> None:
    assert settings.rate_limit_enabled is False
    assert Settings(database_url="postgresql://x@localhost/x").rate_limit_enabled is True


async def test_redis_store_shares_one_budget_between_app_instances(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The same proof with RATE_LIMIT_STORE=redis, when the package is installed and a server answers."""
    redis = pytest.importorskip("redis.asyncio")
    probe = redis.Redis.from_url(Settings.model_fields["rate_limit_redis_url"].default)
    try:
        await probe.ping()
    except Exception as exc:
        pytest.skip(f"no Redis server answers at the default URL ({type(exc).__name__})")
    finally:
        await probe.aclose()
    limit, requests, address = 6, 30, random_address()
    apps = [
        attach(
            app_with(
                settings,
                rate_limit_enabled=True,
                rate_limit_store="redis",
                rate_limit_anonymous_requests=limit,
                rate_limit_window_seconds=86_400,
            ),
            settings,
            engine,
            sessionmaker,
        )
        for _ in range(2)
    ]
    clients = [client_from(a, address) for a in apps]
    try:
        answers = await asyncio.gather(*(clients[i % 2].get("/api/v1/reference/trl") for i in range(requests)))
    finally:
        for c in clients:
            await c.aclose()
    statuses = [r.status_code for r in answers]
    assert statuses.count(200) == limit and statuses.count(429) == requests - limit


@pytest.mark.parametrize("store", ["memory", "postgres"])
async def test_guessing_keys_is_limited_per_address(settings: Settings, factory: Factory, store: str) -> None:
    """Each guessed key would have a fresh budget of its own: failed sign-ins count against the address."""
    engine = make_engine(settings, url=to_asyncpg_url(settings.database_url or ""))
    try:
        app = attach(
            app_with(settings, rate_limit_enabled=True, rate_limit_store=store, rate_limit_auth_failures=3),
            settings,
            engine,
            make_sessionmaker(engine),
        )
        honest = await factory.actor()  # (uncommitted: its key is unknown to this app's own connections)
        address, elsewhere = random_address(), random_address()
        async with client_from(app, address) as c, client_from(app, elsewhere) as other:
            guesses = [
                (await c.get(KEYED_ROUTE, headers={"Authorization": f"Bearer mkt_{secrets.token_urlsafe(32)}"}))
                for _ in range(3)
            ]
            assert [r.status_code for r in guesses] == [401, 401, 401]
            blocked = await c.get(KEYED_ROUTE, headers={"Authorization": f"Bearer mkt_{secrets.token_urlsafe(32)}"})
            assert blocked.status_code == 429 and "failed sign-ins" in blocked.json()["detail"]
            assert 1 <= int(blocked.headers["Retry-After"]) <= 60
            # The dashboard's sign-in form is closed to that address too; anonymous reads are not.
            assert (await c.post("/dashboard/login", data={"key": honest.key})).status_code == 429
            assert (await c.get(ANON_ROUTE)).status_code == 200
            # Another address is not affected; anonymous calls to protected routes are no sign-in failures.
            for _ in range(5):
                assert (await other.get(KEYED_ROUTE)).status_code == 401
            assert (await other.get(KEYED_ROUTE, headers=honest.headers)).status_code == 401  # unknown here, not 429
    finally:
        await engine.dispose()
