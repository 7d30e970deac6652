"""Every transition × every actor, generated from process.TRANSITIONS: allowed actors succeed, the others are refused.

For each transition a scenario brings a deal (or auction) into a source state where the transition's guards
hold and gives a valid body for the actor about to fire it. Allowed actors must succeed; the others get 403
when they can see the deal or auction, 404 when they cannot (other organisations never learn a deal
exists). The system actor fires through the engine as the worker does; HTTP callers can never fire a
system transition.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.process import BROKER_SIDE, DELEGABLE, TRANSITIONS, Actor, Transition, transition
from marketplace.deals.service import DealsService
from marketplace.kit.errors import AppError
from marketplace.kit.time import utcnow
from tests.catalogue import API
from tests.deals.conftest import World, offer_body, shift
from tests.factories import Actor as Caller


@dataclass
class Case:
    """Where a transition is about to fire: the subject, the body, and who may see the subject."""

    subject: str  # deal, auction, new-deal, new-auction
    subject_id: str
    body: dict[str, Any] = field(default_factory=dict)


Setup = Callable[[World, AsyncSession, Actor], Awaitable[Case]]
SETUPS: dict[str, Setup] = {}


def setup(name: str) -> Callable[[Setup], Setup]:
    def register(fn: Setup) -> Setup:
        SETUPS[name] = fn
        return fn

    return register


def side_of(actor: Actor) -> str:
    """The side an actor fires for (bystanders act as if buyers: any offer they name is someone else's)."""
    return "seller" if actor in (Actor.seller, Actor.seller_broker) else "buyer"


def other(side: str) -> str:
    return "buyer" if side == "seller" else "seller"


async def with_brokers(w: World, deal_id: str) -> None:
    """Appoint both sides' brokers with every transition they may be delegated."""
    buyer_scope = sorted(n for n in DELEGABLE if Actor.buyer_broker in transition(n).actors)
    seller_scope = sorted(n for n in DELEGABLE if Actor.seller_broker in transition(n).actors)
    await w.appoint(w.buyer, deal_id, w.broker, buyer_scope)
    await w.appoint(w.seller, deal_id, w.seller_broker, seller_scope)


async def offer_from(
    w: World, side: str, *, parts: tuple[int, ...] = (30_000_000,), state_funded: bool = False
) -> dict[str, Any]:
    """A negotiating deal whose open offer was made by `side`."""
    deal = await w.negotiating(await w.listing(state_funded=state_funded))
    maker = w.buyer if side == "buyer" else w.seller
    return await w.ok(maker, deal["id"], "make_offer", offer_body(parts=parts))


# ---------------------------------------------------------------- deal scenarios


@setup("open")
async def _open(w: World, s: AsyncSession, a: Actor) -> Case:
    body: dict[str, Any] = {"listing_id": await w.listing(), "message": "请介绍一下许可条件。"}
    if a in BROKER_SIDE:
        body.update(buyer_organization_id=str(w.buyer.organization.id), commission_bps=200)
    return Case("new-deal", "", body)


@setup("reply")
async def _reply(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.open(await w.listing())
    return Case("deal", deal["id"], {"body": "可以，欢迎来访。"})


@setup("decline")
async def _decline(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.open(await w.listing())
    return Case("deal", deal["id"], {"reason": "暂不对外许可"})


@setup("message")
async def _message(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    return Case("deal", deal["id"], {"body": "请问能否提供中试报告？"})


@setup("make_offer")
async def _make_offer(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    return Case("deal", deal["id"], offer_body())


async def _offer_case(w: World, a: Actor, *, own: bool) -> Case:
    side = side_of(a)
    deal = await offer_from(w, side if own else other(side))
    return Case("deal", deal["id"], {"offer_id": deal["open_offer"]["id"]})


@setup("accept_offer")
async def _accept(w: World, s: AsyncSession, a: Actor) -> Case:
    return await _offer_case(w, a, own=False)


@setup("reject_offer")
async def _reject(w: World, s: AsyncSession, a: Actor) -> Case:
    return await _offer_case(w, a, own=False)


@setup("withdraw_offer")
async def _withdraw(w: World, s: AsyncSession, a: Actor) -> Case:
    return await _offer_case(w, a, own=True)


@setup("expire_offer")
async def _expire(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await offer_from(w, "buyer")
    await shift(s, "deal_offers", "expires_at", deal["open_offer"]["id"], -timedelta(days=30))
    return Case("deal", deal["id"], {"offer_id": deal["open_offer"]["id"]})


async def _objection(w: World) -> tuple[dict[str, Any], str]:
    deal = await w.in_notice()
    objector = await w.factory.actor(kind=OrganizationKind.institute, role=Role.member)
    response = await w.client.post(
        f"{API}/public-notices/{deal['notice']['id']}/objections",
        json={"grounds": "该成果的权属存在争议，请平台核查。"},
        headers=objector.headers,
    )
    assert response.status_code == 201, response.text
    return deal, response.json()["id"]


@setup("file_objection")
async def _file(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.in_notice()
    return Case("deal", deal["id"], {"grounds": "成交价格明显低于评估价值。"})


@setup("uphold_objection")
async def _uphold(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, objection_id = await _objection(w)
    return Case("deal", deal["id"], {"objection_id": objection_id, "outcome": "renegotiate"})


@setup("dismiss_objection")
async def _dismiss(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, objection_id = await _objection(w)
    return Case("deal", deal["id"], {"objection_id": objection_id})


@setup("end_notice")
async def _end_notice(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.in_notice()
    await shift(s, "deal_notices", "ends_at", deal["notice"]["id"], -timedelta(days=30))
    return Case("deal", deal["id"])


async def _awarded(w: World, s: AsyncSession) -> str:
    """A deal that came out of an auction (winner: the buyer)."""
    auction = await _auction(w, a=None)
    await _register(w, w.buyer, auction["id"], deposit=True)
    bid = await w.client.post(
        f"{API}/auctions/{auction['id']}/bids", json={"amount_fen": 1_200_000}, headers=w.buyer.headers
    )
    assert bid.status_code == 201, bid.text
    await s.execute(
        sa.text("UPDATE auctions SET ends_at = :t, starts_at = :s WHERE id = :id"),
        {"t": utcnow() - timedelta(seconds=1), "s": utcnow() - timedelta(hours=1), "id": uuid.UUID(auction["id"])},
    )
    ctx = await DealsService(s).fire_auction(None, uuid.UUID(auction["id"]), "close_auction", {}, system=True)
    assert ctx.auction is not None and ctx.auction.winner_deal_id is not None
    return str(ctx.auction.winner_deal_id)


@setup("award")
async def _award(w: World, s: AsyncSession, a: Actor) -> Case:
    return Case("deal", await _awarded(w, s))


@setup("confirm_contract")
async def _confirm(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.contracting()
    return Case("deal", deal["id"])


@setup("lapse_confirmation")
async def _lapse(w: World, s: AsyncSession, a: Actor) -> Case:
    deal_id = await _awarded(w, s)
    await shift(s, "deals", "confirm_by", deal_id, -timedelta(days=30))
    return Case("deal", deal_id)


@setup("decline_award")
async def _decline_award(w: World, s: AsyncSession, a: Actor) -> Case:
    return Case("deal", await _awarded(w, s), {"reason": "资金安排变化"})


async def _milestone(w: World, status: str) -> tuple[dict[str, Any], str]:
    deal = await w.performing()
    milestone = deal["milestones"][0]["id"]
    if status in ("delivered", "disputed"):
        await w.ok(w.seller, deal["id"], "deliver_milestone", {"milestone_id": milestone})
    if status == "disputed":
        await w.ok(w.buyer, deal["id"], "dispute_milestone", {"milestone_id": milestone, "reason": "资料不全"})
    return deal, milestone


@setup("deliver_milestone")
async def _deliver(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, milestone = await _milestone(w, "pending")
    return Case("deal", deal["id"], {"milestone_id": milestone})


@setup("accept_milestone")
async def _accept_milestone(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, milestone = await _milestone(w, "delivered")
    return Case("deal", deal["id"], {"milestone_id": milestone})


@setup("dispute_milestone")
async def _dispute(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, milestone = await _milestone(w, "delivered")
    return Case("deal", deal["id"], {"milestone_id": milestone, "reason": "交付物与约定不符"})


@setup("resolve_dispute")
async def _resolve(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, milestone = await _milestone(w, "disputed")
    return Case("deal", deal["id"], {"milestone_id": milestone, "release_fen": 4_000_000, "refund_fen": 6_000_000})


@setup("auto_accept_milestone")
async def _auto_accept(w: World, s: AsyncSession, a: Actor) -> Case:
    deal, milestone = await _milestone(w, "delivered")
    await shift(s, "deal_milestones", "review_due_at", milestone, -timedelta(days=30))
    return Case("deal", deal["id"], {"milestone_id": milestone})


@setup("appoint_broker")
async def _appoint(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    broker = w.seller_broker if side_of(a) == "seller" else w.broker
    return Case(
        "deal", deal["id"], {"broker_user_id": str(broker.user.id), "scope": ["message"], "commission_bps": 250}
    )


@setup("revoke_broker")
async def _revoke(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    return Case("deal", deal["id"])


@setup("cancel")
async def _cancel(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    return Case("deal", deal["id"], {"reason": "需求变化"})


@setup("platform_cancel")
async def _platform_cancel(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    return Case("deal", deal["id"], {"reason": "收到投诉，平台终止交易"})


@setup("expire_idle")
async def _expire_idle(w: World, s: AsyncSession, a: Actor) -> Case:
    deal = await w.negotiating()
    await shift(s, "deals", "last_activity_at", deal["id"], -timedelta(days=365))
    return Case("deal", deal["id"])


# ---------------------------------------------------------------- auction scenarios


async def _auction(w: World, a: Actor | None) -> dict[str, Any]:
    listing_id = await w.listing("auction")
    body = {"listing_id": listing_id, "ends_at": (utcnow() + timedelta(hours=2)).isoformat()}
    response = await w.client.post(f"{API}/auctions", json=body, headers=w.seller.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _register(w: World, bidder: Caller, auction_id: str, *, deposit: bool) -> dict[str, Any]:
    response = await w.client.post(f"{API}/auctions/{auction_id}/registrations", json={}, headers=bidder.headers)
    assert response.status_code == 201, response.text
    registration = dict(response.json())
    if deposit:
        confirmed = await w.client.post(
            f"{API}/auctions/{auction_id}/transitions/confirm_deposit",
            json={"registration_id": registration["id"]},
            headers=w.platform.headers,
        )
        assert confirmed.status_code == 200, confirmed.text
    return registration


@setup("open_auction")
async def _open_auction(w: World, s: AsyncSession, a: Actor) -> Case:
    listing_id = await w.listing("auction")
    return Case("new-auction", "", {"listing_id": listing_id, "ends_at": (utcnow() + timedelta(hours=1)).isoformat()})


@setup("register")
async def _register_case(w: World, s: AsyncSession, a: Actor) -> Case:
    return Case("auction", (await _auction(w, a))["id"])


@setup("confirm_deposit")
async def _confirm_deposit(w: World, s: AsyncSession, a: Actor) -> Case:
    auction = await _auction(w, a)
    bidder = await w.factory.actor(kind=OrganizationKind.enterprise, role=Role.member)
    registration = await _register(w, bidder, auction["id"], deposit=False)
    return Case("auction", auction["id"], {"registration_id": registration["id"]})


@setup("withdraw_registration")
async def _withdraw_registration(w: World, s: AsyncSession, a: Actor) -> Case:
    auction = await _auction(w, a)
    await _register(w, w.buyer, auction["id"], deposit=True)
    return Case("auction", auction["id"])


@setup("bid")
async def _bid(w: World, s: AsyncSession, a: Actor) -> Case:
    auction = await _auction(w, a)
    await _register(w, w.buyer, auction["id"], deposit=True)
    return Case("auction", auction["id"], {"amount_fen": 1_000_000})


@setup("cancel_auction")
async def _cancel_auction(w: World, s: AsyncSession, a: Actor) -> Case:
    auction = await _auction(w, a)
    return Case("auction", auction["id"], {"reason": "成果权属变更", "version": auction["version"]})


@setup("close_auction")
async def _close(w: World, s: AsyncSession, a: Actor) -> Case:
    auction = await _auction(w, a)
    await s.execute(
        sa.text("UPDATE auctions SET ends_at = :t, starts_at = :s WHERE id = :id"),
        {"t": utcnow() - timedelta(seconds=1), "s": utcnow() - timedelta(hours=1), "id": uuid.UUID(auction["id"])},
    )
    return Case("auction", auction["id"])


# ---------------------------------------------------------------- the matrix


def test_every_transition_has_a_scenario() -> None:
    assert set(SETUPS) == {t.name for t in TRANSITIONS}


async def caller_for(w: World, actor: Actor) -> Caller:
    return {
        Actor.buyer: w.buyer,
        Actor.seller: w.seller,
        Actor.buyer_broker: w.broker,
        Actor.seller_broker: w.seller_broker,
        Actor.platform: w.platform,
        # a verified organisation that is party to nothing (an institute: no bidder either)
        Actor.verified_org: await w.factory.actor(kind=OrganizationKind.institute, role=Role.member),
    }[actor]


def expected_refusal(t: Transition, actor: Actor, case: Case) -> int:
    """403 when the caller sees the subject, 404 when it does not."""
    if t.name == "award":
        return 404  # creates a deal from the auction close; no route fires it
    if case.subject == "deal" and actor is Actor.verified_org:
        return 404  # a deal is the parties' business (objections go through the public notice)
    return 403


async def fire_http(w: World, s: AsyncSession, t: Transition, caller: Caller, case: Case) -> tuple[int, Any]:
    if case.subject == "new-deal":
        r = await w.client.post(f"{API}/deals", json=case.body, headers=caller.headers)
    elif case.subject == "new-auction":
        r = await w.client.post(f"{API}/auctions", json=case.body, headers=caller.headers)
    elif case.subject == "auction":
        path = f"{API}/auctions/{case.subject_id}/transitions/{t.name}"
        if t.name == "bid":
            path = f"{API}/auctions/{case.subject_id}/bids"
        elif t.name == "register":
            path = f"{API}/auctions/{case.subject_id}/registrations"
        r = await w.client.post(path, json=case.body, headers=caller.headers)
    elif t.name == "file_objection":
        notice_id = (await w.get(case.subject_id, by=w.platform))["notice"]["id"]
        r = await w.client.post(f"{API}/public-notices/{notice_id}/objections", json=case.body, headers=caller.headers)
    else:
        version = (await w.get(case.subject_id, by=w.platform))["version"]
        r = await w.client.post(
            f"{API}/deals/{case.subject_id}/transitions/{t.name}",
            json=case.body,
            headers={**caller.headers, "If-Match": f'W/"{version}"'},
        )
    return r.status_code, r.json()


async def fire_system(s: AsyncSession, t: Transition, case: Case) -> None:
    service = DealsService(s)
    if case.subject.startswith("new-"):
        raise AssertionError("creation by the system is covered by award")
    if case.subject == "auction":
        await service.fire_auction(None, uuid.UUID(case.subject_id), t.name, case.body, system=True)
    else:
        await service.fire_deal(None, uuid.UUID(case.subject_id), t.name, system_data=case.body)


CASES = [pytest.param(t.name, a, id=f"{t.name}-{a.value}") for t in TRANSITIONS for a in Actor]


@pytest.mark.parametrize(("name", "actor"), CASES)
async def test_transition_by_actor(world: World, session: AsyncSession, name: str, actor: Actor) -> None:
    t = transition(name)
    if name == "open" and actor is Actor.seller_broker:
        pytest.skip("before a deal exists a broker has no side: it opens deals as the buyer's broker")
    allowed = actor in t.actors
    if actor is Actor.system and t.creates:
        assert allowed == (name == "award")  # award: fired by the auction close, as every award scenario shows
        return
    case = await SETUPS[name](world, session, actor)
    if case.subject == "deal" and (actor in BROKER_SIDE or name == "revoke_broker"):
        await with_brokers(world, case.subject_id)

    if actor is Actor.system:
        if allowed:
            await fire_system(session, t, case)
        else:
            with pytest.raises(AppError) as info:
                await fire_system(session, t, case)
            assert info.value.status_code == 403, info.value.detail
        return

    status, body = await fire_http(world, session, t, await caller_for(world, actor), case)
    if allowed:
        assert status in (200, 201), body
    else:
        assert status == expected_refusal(t, actor, case), body
