"""Auctions under real concurrency (committed transactions on separate connections).

Bids lock the auction row (SELECT ... FOR UPDATE) and validate against the high bid and the end time under
that lock; the close locks the same row and checks the status. So bids and the close serialize: the
accepted bids form a strictly increasing sequence of whole increments, the close happens once, and a
last-second bid is either in the result or refused. The last test switches the lock off and shows the
anomalies it prevents.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.db.engine import make_sessionmaker
from marketplace.deals import repository, service
from marketplace.deals.models import Auction, AuctionBid, Deal
from marketplace.deals.service import DealsService
from marketplace.deals.tasks import KINDS
from marketplace.events import jobs
from marketplace.events.models import Job, OutboxEvent
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.time import utcnow
from tests.catalogue import API, published_listing
from tests.deals.conftest import NEUTRAL_TEXT
from tests.factories import Actor, Factory

START = 1_000_000
INCREMENT = 10_000
RESERVE = 1_500_000


@pytest.fixture
def maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit."""
    return make_sessionmaker(engine)


@dataclass
class Hall:
    """A committed auction with registered, deposit-paid bidders."""

    client: httpx.AsyncClient
    seller: Actor
    platform: Actor
    bidders: list[Actor]
    auction_id: str


async def committed_actors(maker: async_sessionmaker[AsyncSession], bidders: int) -> tuple[Actor, Actor, list[Actor]]:
    async with maker() as s:
        factory = Factory(s)
        seller = await factory.actor(kind=OrganizationKind.institute, role=Role.member)
        platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
        people = [await factory.actor(kind=OrganizationKind.enterprise, role=Role.member) for _ in range(bidders)]
        await s.commit()
    return seller, platform, people


async def open_hall(
    client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], *, bidders: int, minutes: int = 60
) -> Hall:
    seller, platform, people = await committed_actors(maker, bidders)
    pricing = {
        "kind": "auction",
        "start_price_fen": START,
        "increment_fen": INCREMENT,
        "reserve_fen": RESERVE,
        "deposit_fen": 50_000,
    }
    listing = await published_listing(client, seller, platform, **NEUTRAL_TEXT, pricing=pricing, ip_assets=[])
    opened = await client.post(
        f"{API}/auctions",
        json={"listing_id": listing.json()["id"], "ends_at": (utcnow() + timedelta(minutes=minutes)).isoformat()},
        headers=seller.headers,
    )
    assert opened.status_code == 201, opened.text
    auction_id = opened.json()["id"]
    for bidder in people:
        reg = await client.post(f"{API}/auctions/{auction_id}/registrations", json={}, headers=bidder.headers)
        assert reg.status_code == 201, reg.text
        paid = await client.post(
            f"{API}/auctions/{auction_id}/transitions/confirm_deposit",
            json={"registration_id": reg.json()["id"]},
            headers=platform.headers,
        )
        assert paid.status_code == 200, paid.text
    return Hall(client, seller, platform, people, auction_id)


async def bid(hall: Hall, bidder: Actor, amount: int) -> httpx.Response:
    return await hall.client.post(
        f"{API}/auctions/{hall.auction_id}/bids", json={"amount_fen": amount}, headers=bidder.headers
    )


async def recorded(maker: async_sessionmaker[AsyncSession], auction_id: str) -> tuple[Auction, list[AuctionBid]]:
    async with maker() as s:
        auction = await s.get(Auction, uuid.UUID(auction_id))
        assert auction is not None
        rows = (
            await s.execute(
                sa.select(AuctionBid)
                .where(AuctionBid.auction_id == auction.id)
                .order_by(AuctionBid.seq, AuctionBid.placed_at)  # type: ignore[arg-type]
            )
        ).scalars()
        return auction, list(rows)


def anomalies(auction: Auction, bids: list[AuctionBid]) -> list[str]:
    """Everything wrong with an auction's accepted-bid sequence."""
    found: list[str] = []
    seqs = [b.seq for b in bids]
    if seqs != list(range(1, len(bids) + 1)):
        found.append(f"bid sequence numbers are not 1..{len(bids)}: duplicates or gaps")
    if bids and bids[0].amount_fen < START:
        found.append("first bid below the start price")
    for before, after in itertools.pairwise(bids):
        step = after.amount_fen - before.amount_fen
        if step <= 0 or step % INCREMENT:
            found.append(f"bid #{after.seq} ({after.amount_fen}) is not above #{before.seq} by whole increments")
    top = max((b.amount_fen for b in bids), default=None)
    if auction.high_bid_fen != top:
        found.append(f"recorded high {auction.high_bid_fen} is not the highest accepted bid {top}")
    if auction.bid_count != len(bids):
        found.append(f"bid_count {auction.bid_count} but {len(bids)} bids recorded")
    return found


async def storm(hall: Hall, *, per_bidder: int, seed: int) -> tuple[list[int], list[httpx.Response]]:
    """Every bidder fires `per_bidder` bids at once, each a random whole number of increments above the start."""
    rng = random.Random(seed)
    plan = [(bidder, START + INCREMENT * rng.randint(0, 400)) for bidder in hall.bidders for _ in range(per_bidder)]
    rng.shuffle(plan)
    responses = await asyncio.gather(*(bid(hall, bidder, amount) for bidder, amount in plan))
    return [amount for _, amount in plan], list(responses)


async def test_200_concurrent_bids_keep_a_strictly_increasing_sequence(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], processes: str
) -> None:
    hall = await open_hall(committing_client, maker, bidders=20)
    amounts, responses = await storm(hall, per_bidder=10, seed=7)
    statuses = [r.status_code for r in responses]
    assert len(statuses) == 200
    assert set(statuses) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)][:3]
    accepted = [r.json()["bid"]["amount_fen"] for r in responses if r.status_code == 201]
    auction, bids = await recorded(maker, hall.auction_id)
    assert anomalies(auction, bids) == []
    assert auction.high_bid_fen == max(amounts), "the highest valid bid always gets in"
    assert sorted(accepted) == sorted(b.amount_fen for b in bids), "every 201 is a recorded bid and vice versa"
    refused = [r.json() for r in responses if r.status_code == 409]
    assert all(r["type"].endswith("/bid-too-low") for r in refused)
    # The public history has bidder numbers only; the platform sees who bid.
    public = (await committing_client.get(f"{API}/auctions/{hall.auction_id}/bids?limit=100")).json()["items"]
    assert public and all(b["organization_id"] is None for b in public)
    full = await committing_client.get(
        f"{API}/auctions/{hall.auction_id}/bids?limit=100", headers=hall.platform.headers
    )
    bidder_orgs = {str(b.organization.id) for b in hall.bidders}
    assert {b["organization_id"] for b in full.json()["items"]} <= bidder_orgs


async def close_jobs_due(maker: async_sessionmaker[AsyncSession], auction_id: str, *, copies: int) -> None:
    """End the bidding window now and have `copies` close timers due (as if rescheduled several times)."""
    async with maker() as s, s.begin():
        await s.execute(
            sa.update(Auction)
            .where(Auction.id == uuid.UUID(auction_id))  # type: ignore[arg-type]
            .values(ends_at=utcnow() - timedelta(milliseconds=1))
        )
        await s.execute(
            sa.update(Job)
            .where(Job.kind == "deals.auction_close", Job.payload["auction_id"].astext == auction_id)  # type: ignore[arg-type, index]
            .values(run_at=utcnow() - timedelta(seconds=1))
        )
        for n in range(copies - 1):
            await jobs.schedule(
                s,
                kind="deals.auction_close",
                payload={"auction_id": auction_id},
                run_at=utcnow() - timedelta(seconds=1),
                dedupe_key=f"deals.auction_close:{auction_id}:copy{n}",
            )


async def close_events(maker: async_sessionmaker[AsyncSession], auction_id: str) -> list[OutboxEvent]:
    async with maker() as s:
        rows = await s.execute(
            sa.select(OutboxEvent).where(
                OutboxEvent.type == "auction.close_auction",
                OutboxEvent.subject_id == auction_id,  # type: ignore[arg-type]
            )
        )
        return list(rows.scalars())


async def award_deals(maker: async_sessionmaker[AsyncSession], auction_id: str) -> list[Deal]:
    async with maker() as s:
        rows = await s.execute(sa.select(Deal).where(Deal.auction_id == uuid.UUID(auction_id)))  # type: ignore[arg-type]
        return list(rows.scalars())


async def test_the_close_fires_exactly_once_with_several_workers(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    hall = await open_hall(committing_client, maker, bidders=3)
    for i, bidder in enumerate(hall.bidders):
        assert (await bid(hall, bidder, RESERVE + i * INCREMENT)).status_code == 201
    await close_jobs_due(maker, hall.auction_id, copies=4)
    workers = [Worker(maker, WorkerConfig(kinds=KINDS, dispatch_outbox=False, job_batch=1)) for _ in range(3)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    auction, bids = await recorded(maker, hall.auction_id)
    assert auction.status == "closed"
    assert len(await close_events(maker, hall.auction_id)) == 1
    deals = await award_deals(maker, hall.auction_id)
    assert len(deals) == 1
    winner = deals[0]
    assert winner.state == "contracting" and winner.price_fen == bids[-1].amount_fen == auction.high_bid_fen
    assert str(winner.buyer_organization_id) == str(hall.bidders[-1].organization.id)
    assert auction.winner_deal_id == winner.id


async def test_the_close_survives_a_worker_dying_at_the_closing_instant(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession]
) -> None:
    from marketplace.events.repository import JobsRepository

    hall = await open_hall(committing_client, maker, bidders=2)
    assert (await bid(hall, hall.bidders[0], RESERVE)).status_code == 201
    await close_jobs_due(maker, hall.auction_id, copies=1)
    # A worker claims the close, starts it, and dies before committing (its transaction is lost).
    async with maker() as s, s.begin():
        claimed = await JobsRepository(s).claim_jobs(
            worker="doomed",
            now=utcnow(),
            lease=timedelta(milliseconds=300),
            limit=50,
            kinds=frozenset({"deals.auction_close"}),
        )
    mine = [j for j in claimed if j.payload.get("auction_id") == hall.auction_id]
    assert len(mine) == 1
    async with maker() as s:
        await s.begin()
        await DealsService(s).run_deadline("auction_close", mine[0].payload)  # the work, then the crash
        await s.rollback()
    assert (await recorded(maker, hall.auction_id))[0].status == "open"
    survivor = Worker(maker, WorkerConfig(kinds=frozenset({"deals.auction_close"}), dispatch_outbox=False))
    await asyncio.sleep(0.4)  # the doomed worker's lease runs out
    await survivor.run_until_idle()
    auction, _ = await recorded(maker, hall.auction_id)
    assert auction.status == "closed"
    assert len(await close_events(maker, hall.auction_id)) == 1
    assert len(await award_deals(maker, hall.auction_id)) == 1
    async with maker() as s:
        job = await s.get(Job, mine[0].id)
        assert job is not None and job.status == "done" and job.attempts == 2


async def close_at(maker: async_sessionmaker[AsyncSession], hall: Hall, closing: datetime, *, delay: float) -> bool:
    """Run the close timer at the closing instant (plus delay), as the worker would."""
    await asyncio.sleep(max((closing - utcnow()).total_seconds(), 0) + delay)
    async with maker() as s, s.begin():
        return await DealsService(s).run_deadline("auction_close", {"auction_id": hall.auction_id})


async def bid_at(hall: Hall, moment: datetime, bidder: Actor, amount: int) -> httpx.Response:
    """Bid at a given instant."""
    await asyncio.sleep(max((moment - utcnow()).total_seconds(), 0))
    return await bid(hall, bidder, amount)


@pytest.mark.parametrize("extension_minutes", [5, 0])
async def test_a_last_second_bid_and_the_close_serialize(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], extension_minutes: int
) -> None:
    outcomes: set[str] = set()
    for round_, lead in enumerate((40, 25, 15, 8, 3, 0)):  # the bid leaves this many ms before the close
        hall = await open_hall(committing_client, maker, bidders=2)
        assert (await bid(hall, hall.bidders[0], RESERVE)).status_code == 201
        closing = utcnow() + timedelta(milliseconds=60)
        async with maker() as s, s.begin():
            await s.execute(
                sa.update(Auction)
                .where(Auction.id == uuid.UUID(hall.auction_id))  # type: ignore[arg-type]
                .values(ends_at=closing, extension_minutes=extension_minutes)
            )

        closed, late = await asyncio.gather(
            close_at(maker, hall, closing, delay=0.0005 * round_),
            bid_at(hall, closing - timedelta(milliseconds=lead), hall.bidders[1], RESERVE + INCREMENT),
        )
        auction, bids = await recorded(maker, hall.auction_id)
        assert anomalies(auction, bids) == []
        deals = await award_deals(maker, hall.auction_id)
        events = await close_events(maker, hall.auction_id)
        assert len(events) <= 1 and len(deals) <= 1
        if late.status_code == 201:
            if auction.status == "open":  # the bid came first and moved the close
                assert not closed and extension_minutes > 0 and auction.ends_at > closing
                outcomes.add("extended")
            else:  # no extension: the close waited for the bid and counted it
                assert closed and deals[0].price_fen == RESERVE + INCREMENT
                outcomes.add("bid-then-close")
        else:
            assert late.status_code == 409, late.text  # the close came first: the window is shut
            assert closed and auction.status == "closed" and deals[0].price_fen == RESERVE
            outcomes.add("close-then-bid")
    assert outcomes, "every round ended in a consistent state"


@pytest.fixture
def no_lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Bids read the auction with a plain SELECT, as if there were no lock, each as if from its own process."""
    monkeypatch.setattr(repository, "LOCK_AUCTIONS", False)
    monkeypatch.setattr(service, "GATE_AUCTIONS", False)
    yield None


@pytest.fixture(params=["one process", "many processes"])
def processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Bids queue in this process before the row lock, or go straight at it as if each came from another process."""
    if request.param == "many processes":
        monkeypatch.setattr(service, "GATE_AUCTIONS", False)
    return str(request.param)


async def test_without_the_lock_the_anomalies_appear(
    committing_client: httpx.AsyncClient, maker: async_sessionmaker[AsyncSession], no_lock: None
) -> None:
    """The demonstration: the same storm without SELECT ... FOR UPDATE records an invalid bid sequence."""
    observed: list[str] = []
    for attempt in range(5):
        hall = await open_hall(committing_client, maker, bidders=20)
        await storm(hall, per_bidder=10, seed=attempt)
        observed = anomalies(*(await recorded(maker, hall.auction_id)))
        if observed:
            break
    assert observed, "without the lock, concurrent bids should have been validated against a stale high bid"
