"""Auctions (电子竞价): opening, registration and deposits, the bid rules, extension, the close, confirmation."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.config import DealsSettings
from marketplace.deals.ports import RecordingPorts
from marketplace.kit.time import utcnow
from marketplace.kit.workdays import add_workdays
from tests.catalogue import API
from tests.deals.conftest import World, make_due, run_timers, shift
from tests.factories import Actor

START, INCREMENT, RESERVE, DEPOSIT = 1_000_000, 50_000, 1_200_000, 100_000


async def open_auction(world: World, *, by: Actor | None = None, hours: float = 2, **pricing: Any) -> dict[str, Any]:
    listing_id = await world.listing("auction", pricing=pricing) if pricing else await world.listing("auction")
    body = {"listing_id": listing_id, "ends_at": (utcnow() + timedelta(hours=hours)).isoformat()}
    response = await world.client.post(f"{API}/auctions", json=body, headers=(by or world.seller).headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def register(world: World, auction_id: str, bidder: Actor, *, pay: bool = True) -> dict[str, Any]:
    response = await world.client.post(f"{API}/auctions/{auction_id}/registrations", headers=bidder.headers)
    assert response.status_code == 201, response.text
    if pay:
        paid = await world.client.post(
            f"{API}/auctions/{auction_id}/transitions/confirm_deposit",
            json={"registration_id": response.json()["id"], "reference": "BANK-0001"},
            headers=world.platform.headers,
        )
        assert paid.status_code == 200, paid.text
    return dict(response.json())


async def bid(world: World, auction_id: str, bidder: Actor, amount: int) -> Any:
    return await world.client.post(
        f"{API}/auctions/{auction_id}/bids", json={"amount_fen": amount}, headers=bidder.headers
    )


async def end_now(session: AsyncSession, auction_id: str) -> None:
    await session.execute(
        sa.text("UPDATE auctions SET starts_at = :s, ends_at = :e WHERE id = :id"),
        {"s": utcnow() - timedelta(hours=3), "e": utcnow() - timedelta(seconds=1), "id": uuid.UUID(auction_id)},
    )
    assert await make_due(session, "deals.auction_close", auction_id=auction_id) >= 1


async def bidders(world: World, n: int) -> list[Actor]:
    return [await world.factory.actor(kind=OrganizationKind.enterprise, role=Role.member) for _ in range(n)]


async def test_opening_an_auction(world: World) -> None:
    auction = await open_auction(world)
    assert auction["status"] == "open" and auction["start_price_fen"] == START
    assert auction["reserve_fen"] == RESERVE  # the seller sees its reserve
    public = (await world.client.get(f"{API}/auctions/{auction['id']}")).json()
    assert public["reserve_fen"] is None and public["next_minimum_bid_fen"] == START
    by_platform = await open_auction(world, by=world.platform)
    assert by_platform["status"] == "open"
    body = {"listing_id": auction["listing_id"], "ends_at": (utcnow() + timedelta(hours=1)).isoformat()}
    twice = await world.client.post(f"{API}/auctions", json=body, headers=world.seller.headers)
    assert twice.status_code == 409 and twice.json()["blocked_by"] == ["no_running_auction"]
    other = await world.client.post(
        f"{API}/auctions", json={**body, "listing_id": await world.listing("auction")}, headers=world.buyer.headers
    )
    assert other.status_code == 403
    negotiable = await world.client.post(
        f"{API}/auctions", json={**body, "listing_id": await world.listing()}, headers=world.seller.headers
    )
    assert negotiable.status_code == 409 and negotiable.json()["blocked_by"] == ["listing_auction_priced"]
    short = await world.client.post(
        f"{API}/auctions",
        json={"listing_id": await world.listing("auction"), "ends_at": (utcnow() + timedelta(minutes=2)).isoformat()},
        headers=world.seller.headers,
    )
    assert short.status_code == 422 and short.json()["errors"][0]["pointer"] == "/ends_at"
    listed = (await world.client.get(f"{API}/auctions?status=open&listing_id={auction['listing_id']}")).json()
    assert [a["id"] for a in listed["items"]] == [auction["id"]]


async def test_registration_and_deposit(world: World, ports: RecordingPorts) -> None:
    auction = await open_auction(world)
    registration = await register(world, auction["id"], world.buyer, pay=False)
    assert registration["bidder_number"] == 1 and registration["deposit_status"] == "pending"
    assert registration["deposit_fen"] == DEPOSIT and registration["deposit_reference"] == "DEP-1"
    assert ports.named("request") == [{"registration_id": uuid.UUID(registration["id"]), "amount_fen": DEPOSIT}]
    unpaid = await bid(world, auction["id"], world.buyer, START)
    assert unpaid.status_code == 409 and unpaid.json()["blocked_by"] == ["deposit_held"]
    again = await world.client.post(f"{API}/auctions/{auction['id']}/registrations", headers=world.buyer.headers)
    assert again.status_code == 409 and again.json()["blocked_by"] == ["not_registered"]
    institute = await world.factory.actor(kind=OrganizationKind.institute, role=Role.member)
    assert (
        await world.client.post(f"{API}/auctions/{auction['id']}/registrations", headers=institute.headers)
    ).status_code == 403
    seller_confirms = await world.client.post(
        f"{API}/auctions/{auction['id']}/transitions/confirm_deposit",
        json={"registration_id": registration["id"]},
        headers=world.seller.headers,
    )
    assert seller_confirms.status_code == 403
    paid = await world.client.post(
        f"{API}/auctions/{auction['id']}/transitions/confirm_deposit",
        json={"registration_id": registration["id"]},
        headers=world.platform.headers,
    )
    assert paid.status_code == 200 and paid.json()["my_registration"] is None  # the platform is no bidder
    mine = (await world.client.get(f"{API}/auctions/{auction['id']}", headers=world.buyer.headers)).json()
    assert mine["my_registration"]["deposit_status"] == "held"
    assert (await bid(world, auction["id"], world.buyer, START)).status_code == 201
    # Registrations: the seller sees numbers and deposits, not who; a bidder sees its own; the platform all.
    seller_view = (
        await world.client.get(f"{API}/auctions/{auction['id']}/registrations", headers=world.seller.headers)
    ).json()["items"]
    assert [(r["bidder_number"], r["organization_id"]) for r in seller_view] == [(1, None)]
    platform_view = (
        await world.client.get(f"{API}/auctions/{auction['id']}/registrations", headers=world.platform.headers)
    ).json()["items"]
    assert platform_view[0]["organization_id"] == str(world.buyer.organization.id)
    other_view = (
        await world.client.get(f"{API}/auctions/{auction['id']}/registrations", headers=world.outsider.headers)
    ).json()["items"]
    assert other_view == []


async def test_the_bid_rules(world: World) -> None:
    auction = await open_auction(world)
    a, b = await bidders(world, 2)
    await register(world, auction["id"], a)
    await register(world, auction["id"], b)
    low = await bid(world, auction["id"], a, START - 1)
    assert low.status_code == 409 and low.json()["next_minimum_bid_fen"] == START
    first = await bid(world, auction["id"], a, START + 7)  # any amount at or over the start price opens
    assert first.status_code == 201 and first.json()["bid"]["seq"] == 1
    high = START + 7
    same = await bid(world, auction["id"], b, high)
    assert same.status_code == 409 and same.json()["next_minimum_bid_fen"] == high + INCREMENT
    off_step = await bid(world, auction["id"], b, high + INCREMENT + 1)
    assert off_step.status_code == 422 and off_step.json()["errors"][0]["pointer"] == "/amount_fen"
    assert off_step.json()["nearest_valid_fen"] == [high + INCREMENT, high + 2 * INCREMENT]
    jump = await bid(world, auction["id"], b, high + 3 * INCREMENT)  # several increments at once
    assert jump.status_code == 201 and jump.json()["next_minimum_bid_fen"] == high + 4 * INCREMENT
    raise_own = await bid(world, auction["id"], b, high + 4 * INCREMENT)  # the high bidder may raise
    assert raise_own.status_code == 201
    unregistered = await bid(world, auction["id"], world.outsider, high + 10 * INCREMENT)
    assert unregistered.status_code == 409 and unregistered.json()["blocked_by"][0] == "registered"
    seller_bid = await bid(world, auction["id"], world.seller, high + 10 * INCREMENT)
    assert seller_bid.status_code == 403
    history = (await world.client.get(f"{API}/auctions/{auction['id']}/bids")).json()["items"]
    assert [(h["seq"], h["bidder_number"], h["amount_fen"]) for h in history] == [
        (1, 1, high),
        (2, 2, high + 3 * INCREMENT),
        (3, 2, high + 4 * INCREMENT),
    ]
    assert all(h["organization_id"] is None for h in history)
    public = (await world.client.get(f"{API}/auctions/{auction['id']}")).json()
    assert public["high_bid_fen"] == high + 4 * INCREMENT and public["high_bidder_number"] == 2


async def test_bids_before_the_window_are_refused(world: World) -> None:
    listing_id = await world.listing("auction")
    body = {
        "listing_id": listing_id,
        "starts_at": (utcnow() + timedelta(hours=1)).isoformat(),
        "ends_at": (utcnow() + timedelta(hours=3)).isoformat(),
    }
    auction = (await world.client.post(f"{API}/auctions", json=body, headers=world.seller.headers)).json()
    await register(world, auction["id"], world.buyer)
    early = await bid(world, auction["id"], world.buyer, START)
    assert early.status_code == 409 and early.json()["blocked_by"] == ["bidding_window_open"]


async def test_a_late_bid_moves_the_close(world: World, session: AsyncSession) -> None:
    auction = await open_auction(world)
    await register(world, auction["id"], world.buyer)
    await session.execute(
        sa.text("UPDATE auctions SET ends_at = :e WHERE id = :id"),
        {"e": utcnow() + timedelta(minutes=2), "id": uuid.UUID(auction["id"])},
    )
    placed = await bid(world, auction["id"], world.buyer, START)
    assert placed.status_code == 201
    ends = datetime.fromisoformat(placed.json()["ends_at"])
    extended_to = datetime.fromisoformat(placed.json()["bid"]["extended_to"])
    assert ends == extended_to and timedelta(minutes=4, seconds=50) < ends - utcnow() <= timedelta(minutes=5)
    # An early bid does not move it.
    await session.execute(
        sa.text("UPDATE auctions SET ends_at = :e WHERE id = :id"),
        {"e": utcnow() + timedelta(hours=1), "id": uuid.UUID(auction["id"])},
    )
    early = await bid(world, auction["id"], world.buyer, START + INCREMENT)
    assert early.json()["bid"]["extended_to"] is None


async def test_the_close_awards_the_highest_bid_over_the_reserve(
    world: World,
    session: AsyncSession,
    maker_in_test: async_sessionmaker[AsyncSession],
    ports: RecordingPorts,
) -> None:
    auction = await open_auction(world)
    a, b, c = await bidders(world, 3)
    reg_a = await register(world, auction["id"], a)
    reg_b = await register(world, auction["id"], b)
    reg_c = await register(world, auction["id"], c, pay=False)  # never paid: nothing to release
    assert (await bid(world, auction["id"], a, START)).status_code == 201
    assert (await bid(world, auction["id"], b, RESERVE + INCREMENT)).status_code == 201
    await end_now(session, auction["id"])
    await run_timers(maker_in_test)
    closed = (await world.client.get(f"{API}/auctions/{auction['id']}", headers=world.seller.headers)).json()
    assert closed["status"] == "closed" and closed["reserve_met"] is True
    deals = (await world.client.get(f"{API}/deals", headers=b.headers)).json()["items"]
    assert len(deals) == 1
    deal = (await world.client.get(f"{API}/deals/{deals[0]['id']}", headers=b.headers)).json()
    assert deal["state"] == "contracting" and deal["origin"] == "auction" and deal["price_basis"] == "auction"
    assert deal["price_fen"] == RESERVE + INCREMENT and deal["deposit_fen"] == DEPOSIT
    assert deal["notice_required"] is False
    close_time = datetime.fromisoformat(deal["created_at"])
    assert datetime.fromisoformat(deal["confirm_by"]) == add_workdays(close_time, 5)
    assert [d["name"] for d in deal["deadlines"]] == ["confirmation"]
    assert deal["contract"]["payment_plan"][0]["amount_fen"] == RESERVE + INCREMENT
    # The loser's deposit is released; the winner's is kept; the unpaid one is void.
    # (timers of auctions other tests committed may close alongside: look at this auction's registrations)
    ours = {uuid.UUID(r["id"]) for r in (reg_a, reg_b, reg_c)}
    assert [c["registration_id"] for c in ports.named("release") if c["registration_id"] in ours] == [
        uuid.UUID(reg_a["id"])
    ]
    statuses = {
        r["id"]: r["deposit_status"]
        for r in (
            await world.client.get(f"{API}/auctions/{auction['id']}/registrations", headers=world.platform.headers)
        ).json()["items"]
    }
    assert statuses == {reg_a["id"]: "released", reg_b["id"]: "held", reg_c["id"]: "void"}
    assert (await world.client.get(f"{API}/deals", headers=a.headers)).json()["items"] == []
    late = await bid(world, auction["id"], a, RESERVE + 5 * INCREMENT)
    assert late.status_code == 409 and late.json()["state"] == "closed"


async def test_no_bid_over_the_reserve_leaves_the_auction_unsold(
    world: World,
    session: AsyncSession,
    maker_in_test: async_sessionmaker[AsyncSession],
    ports: RecordingPorts,
) -> None:
    auction = await open_auction(world)
    reg = await register(world, auction["id"], world.buyer)
    assert (await bid(world, auction["id"], world.buyer, START)).status_code == 201
    await end_now(session, auction["id"])
    await run_timers(maker_in_test)
    unsold = (await world.client.get(f"{API}/auctions/{auction['id']}")).json()
    assert unsold["status"] == "unsold" and unsold["reserve_met"] is False
    released = [c["registration_id"] for c in ports.named("release")]
    assert released.count(uuid.UUID(reg["id"])) == 1
    assert (await world.client.get(f"{API}/deals", headers=world.buyer.headers)).json()["items"] == []


async def awarded(world: World, session: AsyncSession, maker: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    auction = await open_auction(world)
    await register(world, auction["id"], world.buyer)
    assert (await bid(world, auction["id"], world.buyer, RESERVE)).status_code == 201
    await end_now(session, auction["id"])
    await run_timers(maker)
    deal_id = (await world.client.get(f"{API}/deals", headers=world.buyer.headers)).json()["items"][0]["id"]
    return await world.get(deal_id)


async def test_a_winner_who_does_not_confirm_in_time_forfeits(
    world: World,
    session: AsyncSession,
    maker_in_test: async_sessionmaker[AsyncSession],
    ports: RecordingPorts,
) -> None:
    deal = await awarded(world, session, maker_in_test)
    # The seller confirming does not help: the winner must.
    assert (await world.ok(world.seller, deal["id"], "confirm_contract"))["state"] == "contracting"
    early = await world.fire(world.seller, deal["id"], "cancel")
    assert early.status_code == 409 and early.json()["blocked_by"] == ["not_awaiting_award_confirmation"]
    await shift(session, "deals", "confirm_by", deal["id"], -timedelta(days=10))
    assert await make_due(session, "deals.confirmation", deal_id=deal["id"]) == 1
    await run_timers(maker_in_test)
    after = await world.get(deal["id"])
    assert after["state"] == "forfeited"
    assert len(ports.named("forfeit")) == 1 and ports.named("forfeit")[0]["amount_fen"] == DEPOSIT


async def test_a_confirming_winner_has_the_deposit_applied(
    world: World,
    session: AsyncSession,
    maker_in_test: async_sessionmaker[AsyncSession],
    ports: RecordingPorts,
) -> None:
    deal = await awarded(world, session, maker_in_test)
    await world.ok(world.buyer, deal["id"], "confirm_contract")
    performing = await world.ok(world.seller, deal["id"], "confirm_contract")
    assert performing["state"] == "performing" and performing["deadlines"] == []
    assert [c["deal_id"] for c in ports.named("apply_to_price")] == [uuid.UUID(deal["id"])]
    assert await make_due(session, "deals.confirmation", deal_id=deal["id"]) == 0  # cancelled
    assert ports.named("forfeit") == []


async def test_a_winner_may_walk_away(
    world: World,
    session: AsyncSession,
    maker_in_test: async_sessionmaker[AsyncSession],
    ports: RecordingPorts,
) -> None:
    deal = await awarded(world, session, maker_in_test)
    assert (await world.fire(world.seller, deal["id"], "decline_award")).status_code == 403
    walked = await world.ok(world.buyer, deal["id"], "decline_award", {"reason": "董事会未批准"})
    assert walked["state"] == "forfeited" and len(ports.named("forfeit")) == 1


async def test_cancel_and_withdraw(world: World, ports: RecordingPorts) -> None:
    auction = await open_auction(world)
    reg = await register(world, auction["id"], world.buyer)
    withdrawn = await world.client.post(
        f"{API}/auctions/{auction['id']}/transitions/withdraw_registration", json={}, headers=world.buyer.headers
    )
    assert withdrawn.status_code == 200
    assert [c["registration_id"] for c in ports.named("release")] == [uuid.UUID(reg["id"])]
    other = await open_auction(world)
    await register(world, other["id"], world.buyer)
    assert (await bid(world, other["id"], world.buyer, START)).status_code == 201
    bound = await world.client.post(
        f"{API}/auctions/{other['id']}/transitions/withdraw_registration", json={}, headers=world.buyer.headers
    )
    assert bound.status_code == 409 and bound.json()["blocked_by"] == ["no_bids_by_bidder"]
    url = f"{API}/auctions/{other['id']}/transitions/cancel_auction"
    assert (await world.client.post(url, json={}, headers=world.seller.headers)).status_code == 428
    by_seller = await world.client.post(url, json={"version": other["version"]}, headers=world.seller.headers)
    assert by_seller.status_code == 409 and by_seller.json()["blocked_by"] == ["no_bids_unless_platform"]
    stale = await world.client.post(url, json={"version": 99}, headers=world.platform.headers)
    assert stale.status_code == 409 and stale.json()["current_version"] == other["version"]
    cancelled = await world.client.post(
        url, json={"version": other["version"], "reason": "权属纠纷"}, headers=world.platform.headers
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["version"] == other["version"] + 1
    assert len(ports.named("release")) == 2


@pytest.mark.parametrize("workdays", [5, 3])
def test_the_confirmation_period_counts_working_days(workdays: int) -> None:
    settings = DealsSettings(confirmation_workdays=workdays)
    friday = datetime.fromisoformat("2031-01-03T10:00:00+08:00")
    assert settings.calendar.add_workdays(friday, workdays).weekday() == workdays - 1  # Mon..Fri next week
