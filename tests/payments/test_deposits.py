"""Auction deposits through the ledger: requested with a reference, paid by transfer (which confirms the
deposit), released to losers, applied to the winner's price, or forfeited per the schedule's rule."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.deals.conftest import World, run_timers
from tests.deals.test_auction import DEPOSIT, INCREMENT, RESERVE, START, bid, bidders, end_now, open_auction
from tests.payments.conftest import API, balances, deal_money, ledger_is_sound, transfer


async def registered(world: World, auction_id: str, bidder: Any) -> dict[str, Any]:
    response = await world.client.post(f"{API}/auctions/{auction_id}/registrations", headers=bidder.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def deposit_reference(world: World, bidder: Any) -> str:
    items = (await world.client.get(f"{API}/money/payables", headers=bidder.headers)).json()["items"]
    (deposit,) = [p for p in items if p["kind"] == "deposit"]
    assert deposit["due_fen"] == DEPOSIT
    return str(deposit["reference"])


async def awarded(
    world: World, session: AsyncSession, maker: async_sessionmaker[AsyncSession]
) -> tuple[Any, Any, dict[str, Any]]:
    auction = await open_auction(world)
    a, b = await bidders(world, 2)
    await registered(world, auction["id"], a)
    await registered(world, auction["id"], b)
    ref_a, ref_b = await deposit_reference(world, a), await deposit_reference(world, b)
    assert (await transfer(world, ref_a, DEPOSIT // 2, "DEP-A1")).json()["status"] == "partial"
    refused = await bid(world, auction["id"], a, START)
    assert refused.status_code == 409  # half a deposit is no deposit
    await transfer(world, ref_a, DEPOSIT // 2, "DEP-A2")
    await transfer(world, ref_b, DEPOSIT, "DEP-B1")
    assert (await balances(world, a))["held"] == DEPOSIT
    assert (await bid(world, auction["id"], a, START)).status_code == 201
    assert (await bid(world, auction["id"], b, RESERVE + INCREMENT)).status_code == 201
    await end_now(session, auction["id"])
    await run_timers(maker)
    (deal,) = (await world.client.get(f"{API}/deals", headers=b.headers)).json()["items"]
    return a, b, deal


async def test_losers_get_their_deposit_back_and_the_winner_applies_it(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    a, b, deal = await awarded(world, session, maker_in_test)
    assert await balances(world, a) == {"available": DEPOSIT, "held": 0}
    assert (await balances(world, b))["held"] == DEPOSIT
    b_view = world.__class__(**{**world.__dict__, "buyer": b})
    await b_view.ok(b, deal["id"], "confirm_contract")
    await b_view.ok(world.seller, deal["id"], "confirm_contract")
    money = await deal_money(world, deal["id"], by=b)
    assert money["escrow_fen"] == DEPOSIT
    (payable,) = money["payables"]
    assert payable["received_fen"] == DEPOSIT and payable["due_fen"] > DEPOSIT
    assert (await balances(world, b))["held"] == 0
    await ledger_is_sound(world)


async def test_a_winner_who_walks_away_forfeits_the_deposit_to_the_seller(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    _, b, deal = await awarded(world, session, maker_in_test)
    b_view = world.__class__(**{**world.__dict__, "buyer": b})
    await b_view.ok(b, deal["id"], "decline_award", {"reason": "资金不到位"})
    assert (await balances(world, b))["held"] == 0
    assert (await balances(world, world.seller))["available"] == DEPOSIT
    await ledger_is_sound(world)
