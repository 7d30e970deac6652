"""Deal timers are durable jobs: each fires once with several workers, survives a dead worker, and follows moves."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.db.engine import make_sessionmaker
from marketplace.deals.service import DealsService
from marketplace.deals.tasks import KINDS
from marketplace.events.models import Job, OutboxEvent
from marketplace.events.repository import JobsRepository
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.time import utcnow
from tests.deals.conftest import World, make_due, run_timers, shift
from tests.factories import Factory


@pytest.fixture
def maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit."""
    return make_sessionmaker(engine)


async def committed_world(client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]) -> World:
    async with maker() as s:
        factory = Factory(s)
        world = World(
            client=client,
            factory=factory,
            seller=await factory.actor(kind=OrganizationKind.institute, role=Role.member),
            buyer=await factory.actor(kind=OrganizationKind.enterprise, role=Role.member),
            platform=await factory.actor(kind=OrganizationKind.platform, role=Role.member),
            broker=await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member),
            seller_broker=await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member),
            outsider=await factory.actor(kind=OrganizationKind.enterprise, role=Role.member),
        )
        await s.commit()
    return world


async def lapse_offer(maker: async_sessionmaker[AsyncSession], offer_id: str) -> None:
    async with maker() as s, s.begin():
        await shift(s, "deal_offers", "expires_at", offer_id, -timedelta(days=8))
        assert await make_due(s, "deals.offer_expiry", offer_id=offer_id) == 1


async def events(maker: async_sessionmaker[AsyncSession], deal_id: str, kind: str) -> list[OutboxEvent]:
    async with maker() as s:
        rows = await s.execute(
            sa.select(OutboxEvent).where(OutboxEvent.subject_id == deal_id, OutboxEvent.type == kind)  # type: ignore[arg-type]
        )
        return list(rows.scalars())


async def test_offer_timers_fire_once_with_two_workers(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    world = await committed_world(committing_client, maker)
    deals = [await world.offered() for _ in range(6)]
    for deal in deals:
        await lapse_offer(maker, deal["open_offer"]["id"])
    workers = [Worker(maker, WorkerConfig(kinds=KINDS, dispatch_outbox=False, job_batch=1)) for _ in range(2)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    for deal in deals:
        assert len(await events(maker, deal["id"], "deal.expire_offer")) == 1
        after = await world.get(deal["id"])
        assert after["open_offer"] is None and after["version"] == deal["version"] + 1
    async with maker() as s:
        statuses = (
            await s.execute(
                sa.select(Job.status).where(
                    Job.kind == "deals.offer_expiry",  # type: ignore[arg-type]
                    Job.payload["deal_id"].astext.in_([d["id"] for d in deals]),  # type: ignore[index]
                )
            )
        ).scalars()
        assert sorted(statuses) == ["done"] * 6


async def test_a_timer_fires_after_its_worker_died_mid_way(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    world = await committed_world(committing_client, maker)
    deal = await world.offered()
    offer_id = deal["open_offer"]["id"]
    await lapse_offer(maker, offer_id)
    async with maker() as s, s.begin():
        claimed = await JobsRepository(s).claim_jobs(
            worker="killed",
            now=utcnow(),
            lease=timedelta(milliseconds=300),
            limit=100,
            kinds=frozenset({"deals.offer_expiry"}),
        )
    job = next(j for j in claimed if j.payload.get("offer_id") == offer_id)
    async with maker() as s:  # it ran the timer's work, then was killed before committing
        await s.begin()
        assert await DealsService(s).run_deadline("offer_expiry", job.payload) is True
        await s.rollback()
    survivor = Worker(maker, WorkerConfig(kinds=frozenset({"deals.offer_expiry"}), dispatch_outbox=False))
    await survivor.run_until_idle()
    assert await events(maker, deal["id"], "deal.expire_offer") == []  # still leased to the dead worker
    await asyncio.sleep(0.4)
    await survivor.run_until_idle()
    assert len(await events(maker, deal["id"], "deal.expire_offer")) == 1
    async with maker() as s:
        done = await s.get(Job, job.id)
        assert done is not None and done.status == "done" and done.attempts == 2
    # Running it again (a duplicate, a retry) changes nothing.
    async with maker() as s, s.begin():
        assert await DealsService(s).run_deadline("offer_expiry", job.payload) is False
    assert len(await events(maker, deal["id"], "deal.expire_offer")) == 1


async def test_the_idle_timer_follows_activity_then_expires_the_deal(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.negotiating()
    # Due early (as after a restart with a clock ahead): the deal was active, so the timer moves.
    assert await make_due(session, "deals.idle_expiry", deal_id=deal["id"]) == 1
    await run_timers(maker_in_test)
    assert (await world.get(deal["id"]))["state"] == "negotiating"
    pending = (
        (
            await session.execute(
                sa.select(Job).where(
                    Job.kind == "deals.idle_expiry",
                    Job.status == "pending",
                    Job.payload["deal_id"].astext == deal["id"],  # type: ignore[arg-type, index]
                )
            )
        )
        .scalars()
        .all()
    )
    assert len(pending) == 1 and pending[0].run_at > utcnow() + timedelta(days=29)
    await shift(session, "deals", "last_activity_at", deal["id"], -timedelta(days=31))
    assert await make_due(session, "deals.idle_expiry", deal_id=deal["id"]) == 1
    await run_timers(maker_in_test)
    after = await world.get(deal["id"])
    assert after["state"] == "expired" and after["deadlines"] == []


async def test_system_transitions_are_not_for_callers(world: World, session: AsyncSession) -> None:
    deal = await world.offered()
    refused = await world.fire(world.platform, deal["id"], "expire_offer", {"offer_id": deal["open_offer"]["id"]})
    assert refused.status_code == 403
    service = DealsService(session)
    assert (
        await service.fire_system("deal", uuid.UUID(deal["id"]), "expire_offer", {"offer_id": deal["open_offer"]["id"]})
        is False
    )
