"""Inquiry and negotiation: opening, answering, offers and counter-offers, versions, idempotency, offer expiry."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.events.models import AuditEvent, Job, OutboxEvent
from marketplace.kit.time import utcnow
from tests.catalogue import API
from tests.deals.conftest import World, make_due, offer_body, run_timers, shift


async def events_of(session: AsyncSession, deal_id: str) -> list[OutboxEvent]:
    rows = await session.execute(
        sa.select(OutboxEvent).where(OutboxEvent.subject_id == deal_id).order_by(OutboxEvent.seq)  # type: ignore[arg-type]
    )
    return list(rows.scalars())


async def test_an_inquiry_is_answered_and_negotiated(world: World, session: AsyncSession) -> None:
    listing_id = await world.listing()
    response = await world.client.post(
        f"{API}/deals", json={"listing_id": listing_id, "message": "请问可否独占许可？"}, headers=world.buyer.headers
    )
    assert response.status_code == 201, response.text
    assert response.headers["ETag"] == 'W/"1"'
    deal = response.json()
    assert deal["state"] == "inquiry" and deal["origin"] == "inquiry" and deal["my_roles"] == ["buyer"]
    assert deal["buyer_organization_id"] == str(world.buyer.organization.id)
    assert deal["seller_organization_id"] == str(world.seller.organization.id)
    assert [d["name"] for d in deal["deadlines"]] == ["idle_expiry"]
    available = {t["name"] for t in deal["next_transitions"] if not t["blocked_by"]}
    assert available == {"message", "make_offer", "appoint_broker", "cancel"}
    blocked = {t["name"]: t["blocked_by"] for t in deal["next_transitions"] if t["blocked_by"]}
    assert blocked == {"revoke_broker": ["side_has_broker"]}

    seller_view = await world.get(deal["id"], by=world.seller)
    assert {t["name"] for t in seller_view["next_transitions"]} >= {"reply", "decline", "make_offer"}
    answered = await world.ok(world.seller, deal["id"], "reply", {"body": "可以，请提出报价。"})
    assert answered["state"] == "negotiating" and answered["version"] == 2
    messages = (await world.client.get(f"{API}/deals/{deal['id']}/messages", headers=world.seller.headers)).json()
    assert [(m["side"], m["body"]) for m in messages["items"]] == [
        ("buyer", "请问可否独占许可？"),
        ("seller", "可以，请提出报价。"),
    ]
    events = await events_of(session, deal["id"])
    assert [e.type for e in events] == ["deal.open", "deal.reply"]
    audience = {world.buyer.organization.id, world.seller.organization.id}
    assert all(set(e.audience) == audience for e in events)
    assert events[1].payload["previous_state"] == "inquiry" and events[1].payload["state"] == "negotiating"
    audit = (
        await session.execute(sa.select(AuditEvent).where(AuditEvent.target_id == deal["id"]))  # type: ignore[arg-type]
    ).scalars()
    assert {a.action for a in audit} == {"deal.open", "deal.reply"}


async def test_who_may_open_a_deal(world: World) -> None:
    listing_id = await world.listing()
    body = {"listing_id": listing_id, "message": "询价"}
    institute = await world.factory.actor(kind=OrganizationKind.institute, role=Role.member)
    refused = await world.client.post(f"{API}/deals", json=body, headers=institute.headers)
    assert refused.status_code == 403
    unverified_org = await world.factory.organization(OrganizationKind.enterprise, verified=False)
    unverified = await world.factory.actor(unverified_org, role=Role.member)
    blocked = await world.client.post(f"{API}/deals", json=body, headers=unverified.headers)
    assert blocked.status_code == 409 and blocked.json()["blocked_by"] == ["buyer_is_verified_enterprise"]
    viewer = await world.factory.actor(world.buyer.organization, role=Role.viewer)
    assert (await world.client.post(f"{API}/deals", json=body, headers=viewer.headers)).status_code == 403
    assert (await world.client.post(f"{API}/deals", json=body)).status_code == 401
    unknown = await world.client.post(
        f"{API}/deals", json={**body, "listing_id": "018f0000-0000-7000-8000-000000000000"}, headers=world.buyer.headers
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/listing_id"
    auctioned = await world.client.post(
        f"{API}/deals", json={**body, "listing_id": await world.listing("auction")}, headers=world.buyer.headers
    )
    assert auctioned.status_code == 409 and auctioned.json()["blocked_by"] == ["listing_open_for_deals"]
    await world.open(listing_id)
    again = await world.client.post(f"{API}/deals", json=body, headers=world.buyer.headers)
    assert again.status_code == 409 and again.json()["type"].endswith("/deal-already-open")
    unknown_field = await world.client.post(
        f"{API}/deals", json={**body, "state": "completed"}, headers=world.buyer.headers
    )
    assert unknown_field.status_code == 422


async def test_offers_counter_offers_and_acceptance(world: World) -> None:
    deal = await world.negotiating()
    deal_id = deal["id"]
    first = await world.client.post(
        f"{API}/deals/{deal_id}/offers",
        json={**offer_body(20_000_000), "version": deal["version"]},
        headers=world.buyer.headers,
    )
    assert first.status_code == 201, first.text
    buyer_offer = first.json()["open_offer"]
    assert buyer_offer["side"] == "buyer" and buyer_offer["price_fen"] == 20_000_000
    assert any(d["name"] == "offer_expiry" and d["subject_id"] == buyer_offer["id"] for d in first.json()["deadlines"])
    # The buyer cannot accept its own offer; the seller counters instead.
    own = await world.fire(world.buyer, deal_id, "accept_offer", {"offer_id": buyer_offer["id"]})
    assert own.status_code == 409 and own.json()["blocked_by"] == ["offer_from_other_side"]
    counter = await world.ok(world.seller, deal_id, "make_offer", offer_body(26_000_000, parts=(6_000_000, 20_000_000)))
    seller_offer = counter["open_offer"]
    offers = (await world.client.get(f"{API}/deals/{deal_id}/offers", headers=world.buyer.headers)).json()["items"]
    assert [(o["side"], o["status"]) for o in offers] == [("buyer", "countered"), ("seller", "open")]
    accepted = await world.ok(world.buyer, deal_id, "accept_offer", {"offer_id": seller_offer["id"]})
    assert accepted["state"] == "contracting"
    assert accepted["price_fen"] == 26_000_000 and accepted["price_basis"] == "negotiated"
    assert accepted["notice_required"] is False
    assert accepted["open_offer"] is None
    assert [m["amount_fen"] for m in accepted["milestones"]] == [6_000_000, 20_000_000]
    assert accepted["contract"]["amount_fen"] == 26_000_000


async def test_reject_and_withdraw(world: World) -> None:
    deal = await world.offered()
    offer_id = deal["open_offer"]["id"]
    other_side = await world.fire(world.seller, deal["id"], "withdraw_offer", {"offer_id": offer_id})
    assert other_side.status_code == 409 and other_side.json()["blocked_by"] == ["offer_from_own_side"]
    rejected = await world.ok(world.seller, deal["id"], "reject_offer", {"offer_id": offer_id, "note": "价格偏低"})
    assert rejected["open_offer"] is None and rejected["state"] == "negotiating"
    again = await world.fire(world.seller, deal["id"], "reject_offer", {"offer_id": offer_id})
    assert again.status_code == 409 and again.json()["blocked_by"] == ["offer_open"]
    renewed = await world.ok(world.buyer, deal["id"], "make_offer", offer_body(35_000_000))
    withdrawn = await world.ok(world.buyer, deal["id"], "withdraw_offer", {"offer_id": renewed["open_offer"]["id"]})
    assert withdrawn["open_offer"] is None


async def test_offer_terms_are_checked(world: World) -> None:
    deal = await world.negotiating()

    async def problem(body: dict[str, object]) -> tuple[int, list[str]]:
        response = await world.fire(world.buyer, deal["id"], "make_offer", body)
        return response.status_code, [e.get("pointer", "") for e in response.json().get("errors", [])]

    assert await problem(offer_body(mode="co_development")) == (422, ["/trade_mode"])
    assert await problem(offer_body(mode="exclusive_licence")) == (422, ["/territory", "/term_months"])
    licence = offer_body(mode="exclusive_licence", territory="中国大陆", term_months=60, licence_scope="光伏组件制造")
    assert (await world.fire(world.buyer, deal["id"], "make_offer", licence)).status_code == 200
    assert await problem(offer_body(30_000_000, parts=(10_000_000, 10_000_000))) == (422, ["/payment_plan"])
    extras = [{"description": "中试设备", "amount_fen": 30_000_000}]
    assert await problem(offer_body(non_technology_items=extras)) == (422, ["/non_technology_items"])
    past = (utcnow() - timedelta(hours=1)).isoformat()
    assert await problem(offer_body(expires_at=past)) == (422, ["/expires_at"])
    far = (utcnow() + timedelta(days=400)).isoformat()
    assert await problem(offer_body(expires_at=far)) == (422, ["/expires_at"])
    status, pointers = await problem({**offer_body(), "price_fen": -5})
    assert status == 422 and "/price_fen" in pointers
    status, pointers = await problem({**offer_body(), "discount": 5})
    assert status == 422 and "/discount" in pointers


async def test_decisions_need_the_current_version(world: World) -> None:
    deal = await world.offered()
    url = f"{API}/deals/{deal['id']}/transitions/reject_offer"
    body = {"offer_id": deal["open_offer"]["id"]}
    missing = await world.client.post(url, json=body, headers=world.seller.headers)
    assert missing.status_code == 428
    stale = await world.client.post(url, json=body, headers={**world.seller.headers, "If-Match": 'W/"1"'})
    assert stale.status_code == 409 and stale.json()["current_version"] == deal["version"]
    assert stale.headers["ETag"] == f'W/"{deal["version"]}"'
    by_field = await world.client.post(url, json={**body, "version": deal["version"]}, headers=world.seller.headers)
    assert by_field.status_code == 200 and by_field.json()["version"] == deal["version"] + 1
    # Messages are not decisions: no version needed (a stale one is still refused).
    message = await world.client.post(
        f"{API}/deals/{deal['id']}/messages", json={"body": "收到"}, headers=world.seller.headers
    )
    assert message.status_code == 201 and message.json()["side"] == "seller"
    unknown = await world.client.post(
        f"{API}/deals/{deal['id']}/transitions/teleport", json={}, headers=world.seller.headers
    )
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown-transition")
    wrong_state = await world.fire(world.seller, deal["id"], "confirm_contract")
    assert wrong_state.status_code == 409 and wrong_state.json()["state"] == "negotiating"


async def test_a_transition_replays_with_its_idempotency_key(world: World, session: AsyncSession) -> None:
    deal = await world.negotiating()
    headers = {**world.buyer.headers, "If-Match": f'W/"{deal["version"]}"', "Idempotency-Key": "offer-1"}
    url = f"{API}/deals/{deal['id']}/transitions/make_offer"
    first = await world.client.post(url, json=offer_body(), headers=headers)
    second = await world.client.post(url, json=offer_body(), headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json()["version"] == first.json()["version"] == deal["version"] + 1
    offers = (await world.client.get(f"{API}/deals/{deal['id']}/offers", headers=world.buyer.headers)).json()["items"]
    assert len(offers) == 1
    assert [e.type for e in await events_of(session, deal["id"])].count("deal.make_offer") == 1


async def test_an_expired_offer_cannot_be_accepted_and_its_timer_expires_it(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.offered()
    offer_id = deal["open_offer"]["id"]
    await shift(session, "deal_offers", "expires_at", offer_id, -timedelta(days=8))
    late = await world.fire(world.seller, deal["id"], "accept_offer", {"offer_id": offer_id})
    assert late.status_code == 409 and late.json()["blocked_by"] == ["offer_not_expired"]
    assert await make_due(session, "deals.offer_expiry", offer_id=offer_id) == 1
    assert await run_timers(maker_in_test) >= 1
    after = await world.get(deal["id"])
    assert after["open_offer"] is None and after["version"] == deal["version"] + 1
    offers = (await world.client.get(f"{API}/deals/{deal['id']}/offers", headers=world.buyer.headers)).json()["items"]
    assert offers[0]["status"] == "expired"
    assert (await events_of(session, deal["id"]))[-1].type == "deal.expire_offer"
    job = (
        await session.execute(sa.select(Job).where(Job.dedupe_key == f"deals.offer_expiry:{offer_id}"))  # type: ignore[arg-type]
    ).scalar_one()
    assert job.status == "done"


async def test_a_timer_of_a_closed_offer_does_nothing(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.offered()
    offer_id = deal["open_offer"]["id"]
    await world.ok(world.buyer, deal["id"], "withdraw_offer", {"offer_id": offer_id})
    # Withdrawing cancelled the pending timer.
    assert await make_due(session, "deals.offer_expiry", offer_id=offer_id) == 0
    before = await world.get(deal["id"])
    from marketplace.deals.service import DealsService

    assert (
        await DealsService(session).run_deadline("offer_expiry", {"deal_id": deal["id"], "offer_id": offer_id}) is False
    )
    assert (await world.get(deal["id"]))["version"] == before["version"]


async def test_the_nda_unlocks_the_confidential_part(world: World) -> None:
    deal = await world.open(await world.listing())
    assert deal["confidential_access"] is False
    listing = (await world.client.get(f"{API}/listings/{deal['listing_id']}", headers=world.buyer.headers)).json()
    accepted = await world.client.post(
        f"{API}/listings/{deal['listing_id']}/nda-acceptances",
        json={"nda_version": listing["nda_version"]},
        headers=world.buyer.headers,
    )
    assert accepted.status_code == 201, accepted.text
    assert (await world.get(deal["id"]))["confidential_access"] is True


async def test_a_fixed_price_needs_no_public_notice(world: World) -> None:
    listing_id = await world.listing("fixed", state_funded=True)
    deal = await world.negotiating(listing_id)
    deal = await world.ok(world.buyer, deal["id"], "make_offer", offer_body(30_000_000))
    accepted = await world.ok(world.seller, deal["id"], "accept_offer", {"offer_id": deal["open_offer"]["id"]})
    assert accepted["price_basis"] == "fixed" and accepted["state"] == "contracting" and accepted["notice"] is None


async def test_cancel_and_decline(world: World, session: AsyncSession) -> None:
    deal = await world.offered()
    cancelled = await world.ok(world.buyer, deal["id"], "cancel", {"reason": "预算调整"})
    assert cancelled["state"] == "cancelled" and cancelled["ended_at"] and cancelled["next_transitions"] == []
    assert cancelled["deadlines"] == []
    offers = (await world.client.get(f"{API}/deals/{deal['id']}/offers", headers=world.buyer.headers)).json()["items"]
    assert offers[0]["status"] == "lapsed"
    assert await make_due(session, "deals.offer_expiry", offer_id=offers[0]["id"]) == 0
    again = await world.open(deal["listing_id"])  # a closed deal frees the listing for a new one
    declined = await world.ok(world.seller, again["id"], "decline", {"reason": "暂不转让"})
    assert declined["state"] == "declined"
