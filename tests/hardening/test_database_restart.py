"""PostgreSQL crashes and comes back under write load through a real HTTP server: the API answers 503
problem+json while it is down (never 500), recovers on its own, and every write it acknowledged is there after.

This test runs its own embedded PostgreSQL in a temporary folder (even when TEST_DATABASE_URL is set), so
stopping it disturbs nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from marketplace.accounts.models import ApiKey
from marketplace.app import create_app
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.embedded import EmbeddedPostgres, start_embedded
from marketplace.db.engine import make_engine, make_sessionmaker
from marketplace.db.migrate import upgrade
from tests.factories import Actor, Factory

pytestmark = pytest.mark.slow
WRITERS = 4


@dataclass
class Ledger:
    """What the writers saw, by phase."""

    acknowledged: list[uuid.UUID] = field(default_factory=list)
    statuses: dict[str, Counter[int]] = field(
        default_factory=lambda: {"before": Counter(), "down": Counter(), "after": Counter()}
    )
    bad_outage_answers: list[str] = field(default_factory=list)
    phase: str = "before"
    acked_after: int = 0


@contextlib.asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[str]:
    """The real app (its own engine, built at start-up) behind uvicorn on a free local port."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=0,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # leave pytest's signals alone
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await task


async def writer(client: httpx.AsyncClient, actor: Actor, ledger: Ledger, stop: asyncio.Event, n: int) -> None:
    """Create API keys as fast as the server answers; note every acknowledged id and every status."""
    i = 0
    while not stop.is_set():
        i += 1
        phase = ledger.phase
        try:
            response = await client.post(
                "/api/v1/users/me/api-keys", json={"name": f"fault-{n}-{i}"}, headers=actor.headers, timeout=15
            )
        except httpx.HTTPError as exc:  # the server itself must keep answering
            ledger.bad_outage_answers.append(f"transport error {type(exc).__name__}")
            continue
        ledger.statuses[phase][response.status_code] += 1
        if response.status_code == 201:
            ledger.acknowledged.append(uuid.UUID(response.json()["id"]))
            if phase == "after":
                ledger.acked_after += 1
        elif response.status_code == 503:
            if not response.headers["content-type"].startswith("application/problem+json") or not response.headers.get(
                "retry-after"
            ):
                ledger.bad_outage_answers.append(f"503 without problem+json/Retry-After: {response.headers}")
        else:
            ledger.bad_outage_answers.append(f"{phase}: {response.status_code} {response.text[:200]}")
        if response.status_code != 201:
            await asyncio.sleep(0.05)


async def wait_for(condition: object, *, seconds: float, what: str, ledger: Ledger) -> None:
    for _ in range(int(seconds / 0.05)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(
        f"timed out waiting for {what}: statuses {dict(ledger.statuses)}, odd answers {ledger.bad_outage_answers[:3]}"
    )


async def test_database_crash_under_write_load() -> None:
    with tempfile.TemporaryDirectory(prefix="marketplace-fault-") as tmp:
        pg, url = start_embedded(Path(tmp), "fault")
        try:
            await asyncio.to_thread(upgrade, url)
            await run_scenario(pg, url)
        finally:
            with contextlib.suppress(Exception):
                pg.stop()


async def run_scenario(pg: EmbeddedPostgres, url: str) -> None:
    settings = Settings(database_url=url, log_level="CRITICAL", rate_limit_enabled=False, db_pool_size=5)
    check_engine = make_engine(settings, url=to_asyncpg_url(url))
    try:
        async with make_sessionmaker(check_engine)() as session:
            actor = await Factory(session).actor()
            await session.commit()
        await check_engine.dispose()  # its connections would die with the server anyway

        ledger = Ledger()
        stop = asyncio.Event()
        async with serve(settings) as base_url, httpx.AsyncClient(base_url=base_url) as client:
            tasks = [asyncio.create_task(writer(client, actor, ledger, stop, n)) for n in range(WRITERS)]
            try:
                await wait_for(
                    lambda: len(ledger.acknowledged) >= 20, seconds=60, what="20 writes before the crash", ledger=ledger
                )

                ledger.phase = "down"
                await asyncio.to_thread(pg.stop_immediately)
                await wait_for(
                    lambda: ledger.statuses["down"][503] >= 10, seconds=30, what="503s during the outage", ledger=ledger
                )
                ready = await client.get("/ready")
                assert ready.status_code == 503

                await asyncio.to_thread(pg.start_again)
                ledger.phase = "after"
                await wait_for(
                    lambda: ledger.acked_after >= 20, seconds=60, what="20 writes after the restart", ledger=ledger
                )
                assert (await client.get("/ready")).status_code == 200
            finally:
                stop.set()
                await asyncio.gather(*tasks)

        assert ledger.bad_outage_answers == [], ledger.bad_outage_answers[:5]
        assert 500 not in ledger.statuses["down"] and 500 not in ledger.statuses["after"]
        assert set(ledger.statuses["down"]) <= {201, 503}  # (a write in flight at the crash may have finished)
        print(  # the figures for the record
            f"\nfault test: {len(ledger.acknowledged)} acknowledged writes; statuses {dict(ledger.statuses)}"
        )

        verify_engine = make_engine(settings, url=to_asyncpg_url(url))
        try:
            async with verify_engine.connect() as conn:
                stored = set(
                    (
                        await conn.execute(
                            sa.select(ApiKey.id).where(ApiKey.id.in_(ledger.acknowledged))  # type: ignore[attr-defined]
                        )
                    ).scalars()
                )
            lost = set(ledger.acknowledged) - stored
            assert lost == set(), f"{len(lost)} acknowledged writes are missing after the restart"
        finally:
            await verify_engine.dispose()
    finally:
        await check_engine.dispose()
