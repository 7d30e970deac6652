"""Brokers act for one side within the scope it delegated, and are paid by commission terms recorded on the deal."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.events.models import OutboxEvent
from tests.catalogue import API
from tests.deals.conftest import World, offer_body


async def test_a_broker_acts_only_within_its_scope(world: World, session: AsyncSession) -> None:
    deal = await world.negotiating()
    outside = await world.client.get(f"{API}/deals/{deal['id']}", headers=world.broker.headers)
    assert outside.status_code == 404  # not appointed yet: none of its business
    deal = await world.appoint(world.buyer, deal["id"], world.broker, ["message", "make_offer", "withdraw_offer"])
    broker = deal["brokers"][0]
    assert broker["side"] == "buyer" and broker["status"] == "active" and broker["commission_bps"] == 300
    assert broker["agency_organization_id"] == str(world.broker.organization.id)
    seen = await world.get(deal["id"], by=world.broker)
    assert seen["my_roles"] == ["buyer_broker"]
    assert {t["name"] for t in seen["next_transitions"]} == {"message", "make_offer", "withdraw_offer"}
    offered = await world.ok(world.broker, deal["id"], "make_offer", offer_body(25_000_000))
    assert offered["open_offer"]["side"] == "buyer"  # on the buyer's behalf
    countered = await world.ok(world.seller, deal["id"], "make_offer", offer_body(28_000_000))
    accept = await world.fire(world.broker, deal["id"], "accept_offer", {"offer_id": countered["open_offer"]["id"]})
    assert accept.status_code == 403 and accept.json()["type"].endswith("/outside-broker-scope")
    as_seller = await world.fire(world.broker, deal["id"], "reply", {"body": "x"})
    assert as_seller.status_code == 403
    # Events of the deal now reach the broker's agency too.
    last = (
        (
            await session.execute(
                sa.select(OutboxEvent).where(OutboxEvent.subject_id == deal["id"]).order_by(OutboxEvent.seq.desc())  # type: ignore[arg-type, union-attr]
            )
        )
        .scalars()
        .first()
    )
    assert last is not None and world.broker.organization.id in last.audience
    # An agency colleague reads the deal but cannot act.
    colleague = await world.factory.actor(world.broker.organization, role=Role.member)
    assert (await world.client.get(f"{API}/deals/{deal['id']}", headers=colleague.headers)).status_code == 200
    assert (await world.fire(colleague, deal["id"], "message", {"body": "x"})).status_code == 403
    # Revoked: out of the deal.
    revoked = await world.ok(world.buyer, deal["id"], "revoke_broker")
    assert revoked["brokers"][0]["status"] == "revoked"
    assert (await world.client.get(f"{API}/deals/{deal['id']}", headers=world.broker.headers)).status_code == 404
    brokers_only = await world.fire(world.broker, deal["id"], "appoint_broker")
    assert brokers_only.status_code == 404


async def test_appointments_are_checked(world: World) -> None:
    deal = await world.negotiating()

    async def appoint(body: dict[str, object]) -> tuple[int, dict[str, object]]:
        response = await world.fire(world.buyer, deal["id"], "appoint_broker", body)
        return response.status_code, response.json()

    base = {"broker_user_id": str(world.broker.user.id), "scope": ["message"]}
    status, problem = await appoint({**base, "commission_bps": 100, "commission_fixed_fen": 100})
    assert status == 422
    status, problem = await appoint({**base, "scope": ["accept_offer", "open"], "commission_bps": 100})
    assert status == 422 and "not delegable: open" in str(problem["detail"])
    status, problem = await appoint({**base, "scope": ["deliver_milestone"], "commission_bps": 100})
    assert status == 422 and problem["errors"] == [{"detail": "not delegable by the buyer", "pointer": "/scope"}]
    status, problem = await appoint({**base, "broker_user_id": str(world.outsider.user.id), "commission_bps": 100})
    assert status == 422 and problem["type"].endswith("/not-a-broker")  # type: ignore[union-attr]
    unverified_agency = await world.factory.organization(OrganizationKind.broker_agency, verified=False)
    unverified = await world.factory.actor(unverified_agency, role=Role.member)
    status, _ = await appoint({**base, "broker_user_id": str(unverified.user.id), "commission_bps": 100})
    assert status == 422
    status, fixed = await appoint({**base, "commission_fixed_fen": 500_000})
    assert status == 200 and fixed["brokers"][0]["commission_fixed_fen"] == 500_000
    # A new appointment replaces the side's broker.
    other = await world.factory.actor(world.seller_broker.organization, role=Role.member)
    status, replaced = await appoint({**base, "broker_user_id": str(other.user.id), "commission_bps": 50})
    assert status == 200
    assert [(b["broker_user_id"], b["status"]) for b in replaced["brokers"]] == [  # type: ignore[union-attr]
        (str(world.broker.user.id), "revoked"),
        (str(other.user.id), "active"),
    ]
    assert (await world.fire(world.broker, deal["id"], "message", {"body": "x"})).status_code == 404


async def test_a_broker_opens_a_deal_for_its_client_who_confirms(world: World) -> None:
    listing_id = await world.listing()
    body = {
        "listing_id": listing_id,
        "message": "受客户委托咨询该成果。",
        "buyer_organization_id": str(world.buyer.organization.id),
        "broker_scope": ["message", "make_offer"],
        "commission_bps": 200,
    }
    opened = await world.client.post(f"{API}/deals", json=body, headers=world.broker.headers)
    assert opened.status_code == 201, opened.text
    deal = opened.json()
    assert deal["buyer_organization_id"] == str(world.buyer.organization.id)
    assert deal["brokers"][0]["status"] == "proposed" and deal["my_roles"] == []
    # Until the client confirms, the broker only reads.
    assert (await world.fire(world.broker, deal["id"], "message", {"body": "补充说明"})).status_code == 403
    without_client = await world.client.post(
        f"{API}/deals", json={**body, "buyer_organization_id": None}, headers=world.broker.headers
    )
    assert without_client.status_code == 422
    confirmed = await world.appoint(world.buyer, deal["id"], world.broker, ["message", "make_offer", "accept_offer"])
    assert [b["status"] for b in confirmed["brokers"]] == ["active"]
    assert confirmed["brokers"][0]["commission_bps"] == 300
    assert (await world.fire(world.broker, deal["id"], "message", {"body": "补充说明"})).status_code == 200
    as_buyer_field = await world.client.post(
        f"{API}/deals",
        json={
            "listing_id": await world.listing(),
            "message": "x",
            "buyer_organization_id": str(world.outsider.organization.id),
        },
        headers=world.buyer.headers,
    )
    assert as_buyer_field.status_code == 422


async def test_seller_side_brokers(world: World) -> None:
    deal = await world.contracting()
    deal = await world.appoint(world.seller, deal["id"], world.seller_broker, ["confirm_contract", "deliver_milestone"])
    await world.ok(world.buyer, deal["id"], "confirm_contract")
    performing = await world.ok(world.seller_broker, deal["id"], "confirm_contract")
    assert performing["state"] == "performing"
    assert performing["contract"]["seller_confirmed_at"] is not None
    milestone = performing["milestones"][0]["id"]
    delivered = await world.ok(world.seller_broker, deal["id"], "deliver_milestone", {"milestone_id": milestone})
    assert delivered["milestones"][0]["status"] == "delivered"
    accept = await world.fire(world.seller_broker, deal["id"], "accept_milestone", {"milestone_id": milestone})
    assert accept.status_code == 403
