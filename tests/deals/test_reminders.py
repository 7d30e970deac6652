"""Reminders: the outbid bidder alone is told; registered bidders hear the end is near; parties hear a milestone is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import marketplace.notifications.tasks  # noqa: F401  (registers the notification jobs)
from marketplace.deals.service import CLOSING_SOON_KIND, MILESTONE_DUE_KIND
from marketplace.deals.tasks import KINDS as DEAL_KINDS
from marketplace.events.models import Job, OutboxEvent
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.time import utcnow
from marketplace.notifications.rules import DISPATCH_KIND
from marketplace.notifications.service import EMAIL_KIND
from tests.deals.conftest import World, make_due
from tests.deals.test_auction import INCREMENT, START, bid, bidders, open_auction, register

KINDS = DEAL_KINDS | {DISPATCH_KIND, EMAIL_KIND}


async def events_of(session: AsyncSession, event_type: str, auction_id: str) -> list[OutboxEvent]:
    stmt = (
        sa.select(OutboxEvent)
        .where(OutboxEvent.type == event_type, OutboxEvent.subject_id == auction_id)  # type: ignore[arg-type]
        .order_by(OutboxEvent.seq)  # type: ignore[arg-type]
    )
    return list((await session.execute(stmt)).scalars().all())


def reminders(auction_id: str) -> sa.Select[tuple[Job]]:
    return sa.select(Job).where(
        Job.kind == CLOSING_SOON_KIND,  # type: ignore[arg-type]
        Job.payload["auction_id"].astext == auction_id,  # type: ignore[index]
    )


async def notification_kinds(world: World, actor_headers: dict[str, str]) -> list[str]:
    response = await world.client.get("/api/v1/notifications", headers=actor_headers)
    assert response.status_code == 200, response.text
    return [n["kind"] for n in response.json()["items"]]


async def test_the_outbid_bidder_alone_is_told(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    auction = await open_auction(world)
    a, b, c = await bidders(world, 3)
    for bidder in (a, b, c):
        await register(world, auction["id"], bidder)
    assert (await bid(world, auction["id"], a, START)).status_code == 201
    assert await events_of(session, "auction.outbid", auction["id"]) == []  # the first bid beats nobody
    assert (await bid(world, auction["id"], b, START + INCREMENT)).status_code == 201
    assert (await bid(world, auction["id"], b, START + 2 * INCREMENT)).status_code == 201  # raising one's own
    assert (await bid(world, auction["id"], c, START + 3 * INCREMENT)).status_code == 201

    outbid = await events_of(session, "auction.outbid", auction["id"])
    assert [(e.organization_id, e.audience) for e in outbid] == [
        (a.organization.id, [a.organization.id]),
        (b.organization.id, [b.organization.id]),
    ]
    assert outbid[0].payload["your_bidder_number"] == 1
    assert outbid[0].payload["high_bid_fen"] == START + INCREMENT
    assert outbid[1].payload["next_minimum_bid_fen"] == START + 4 * INCREMENT
    assert "organization_id" not in outbid[1].payload  # the new high bidder stays anonymous

    await Worker(sessionmaker, WorkerConfig(kinds=KINDS)).run_until_idle()
    assert "outbid" in await notification_kinds(world, a.headers)
    assert "outbid" in await notification_kinds(world, b.headers)
    assert "outbid" not in await notification_kinds(world, c.headers)


async def test_bidders_with_a_held_deposit_are_told_the_end_is_near_once(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    auction = await open_auction(world, hours=3)
    paid, unpaid = await bidders(world, 2)
    await register(world, auction["id"], paid)
    await register(world, auction["id"], unpaid, pay=False)
    (reminder,) = (await session.execute(reminders(auction["id"]))).scalars().all()
    ends_at = utcnow() + timedelta(hours=3)
    assert abs((ends_at - timedelta(minutes=60)) - reminder.run_at) < timedelta(minutes=1)

    assert await make_due(session, CLOSING_SOON_KIND, auction_id=auction["id"]) == 1
    await Worker(sessionmaker, WorkerConfig(kinds=KINDS)).run_until_idle()
    (event,) = await events_of(session, "auction.closing_soon", auction["id"])
    assert event.organization_id == world.seller.organization.id
    assert set(event.audience) == {world.seller.organization.id, paid.organization.id}
    assert event.payload["next_minimum_bid_fen"] == START
    assert "auction_closing_soon" in await notification_kinds(world, paid.headers)
    assert "auction_closing_soon" not in await notification_kinds(world, unpaid.headers)
    assert "auction_closing_soon" not in await notification_kinds(world, world.seller.headers)


async def test_no_reminder_for_a_cancelled_auction(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    auction = await open_auction(world, hours=3)
    (bidder,) = await bidders(world, 1)
    await register(world, auction["id"], bidder)
    cancelled = await world.client.post(
        f"/api/v1/auctions/{auction['id']}/transitions/cancel_auction",
        json={"reason": "listing withdrawn", "version": auction["version"]},
        headers=world.seller.headers,
    )
    assert cancelled.status_code == 200, cancelled.text
    await make_due(session, CLOSING_SOON_KIND, auction_id=auction["id"])
    await Worker(sessionmaker, WorkerConfig(kinds=KINDS)).run_until_idle()
    assert await events_of(session, "auction.closing_soon", auction["id"]) == []
    (job,) = (await session.execute(reminders(auction["id"]))).scalars().all()
    assert job.status != "pending", job


async def test_both_parties_are_reminded_before_a_pending_milestone_falls_due(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.performing(parts=(10_000_000, 20_000_000))
    first, second = (m["id"] for m in deal["milestones"])
    stmt = sa.select(Job).where(
        Job.kind == MILESTONE_DUE_KIND,  # type: ignore[arg-type]
        Job.payload["deal_id"].astext == deal["id"],  # type: ignore[index]
    )
    jobs = (await session.execute(stmt)).scalars().all()
    assert {j.payload["milestone_id"] for j in jobs} == {first, second}
    # plan() dates every milestone 2031-01-01: the reminder is three days before, 09:00 China time.
    assert {j.run_at for j in jobs} == {datetime(2030, 12, 29, 1, 0, tzinfo=UTC)}

    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": first})  # no longer pending
    await session.execute(sa.update(Job).where(Job.kind == MILESTONE_DUE_KIND).values(run_at=utcnow()))  # type: ignore[arg-type]
    await Worker(sessionmaker, WorkerConfig(kinds=KINDS)).run_until_idle()
    stmt_events = sa.select(OutboxEvent).where(
        OutboxEvent.type == "deal.milestone_due",  # type: ignore[arg-type]
        OutboxEvent.subject_id == deal["id"],  # type: ignore[arg-type]
    )
    (event,) = (await session.execute(stmt_events)).scalars().all()
    assert event.payload["milestone_id"] == second and event.payload["amount_fen"] == 20_000_000
    assert set(event.audience) == {world.seller.organization.id, world.buyer.organization.id}
    assert "milestone_due" in await notification_kinds(world, world.buyer.headers)
    assert "milestone_due" in await notification_kinds(world, world.seller.headers)
