"""Payment plan and milestones: delivery, acceptance, disputes decided by the platform, auto-acceptance, completion."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.deals.ports import RecordingPorts
from tests.deals.conftest import World, make_due, run_timers, shift


async def test_delivery_acceptance_dispute_and_completion(world: World, ports: RecordingPorts) -> None:
    deal = await world.performing(parts=(10_000_000, 20_000_000))
    assert [c["deal_id"] for c in ports.named("on_contract_confirmed")] == [uuid.UUID(deal["id"])]
    first, second = (m["id"] for m in deal["milestones"])
    not_yet = await world.fire(world.buyer, deal["id"], "accept_milestone", {"milestone_id": first})
    assert not_yet.status_code == 409 and not_yet.json()["blocked_by"] == ["milestone_delivered"]
    wrong_side = await world.fire(world.buyer, deal["id"], "deliver_milestone", {"milestone_id": first})
    assert wrong_side.status_code == 403
    delivered = await world.ok(
        world.seller, deal["id"], "deliver_milestone", {"milestone_id": first, "note": "资料已交付"}
    )
    assert delivered["milestones"][0]["status"] == "delivered"
    assert any(d["name"] == "review_window" for d in delivered["deadlines"])
    accepted = await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": first})
    assert accepted["milestones"][0]["status"] == "released" and accepted["state"] == "performing"
    assert ports.named("on_milestone_released") == [
        {"deal_id": uuid.UUID(deal["id"]), "milestone_id": uuid.UUID(first), "amount_fen": 10_000_000}
    ]

    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": second})
    disputed = await world.ok(
        world.buyer, deal["id"], "dispute_milestone", {"milestone_id": second, "reason": "性能未达标"}
    )
    assert disputed["milestones"][1]["status"] == "disputed"
    assert not any(d["name"] == "review_window" for d in disputed["deadlines"])
    by_buyer = await world.fire(
        world.buyer, deal["id"], "resolve_dispute", {"milestone_id": second, "release_fen": 0, "refund_fen": 20_000_000}
    )
    assert by_buyer.status_code == 403
    wrong_sum = await world.fire(
        world.platform, deal["id"], "resolve_dispute", {"milestone_id": second, "release_fen": 1, "refund_fen": 1}
    )
    assert wrong_sum.status_code == 422 and wrong_sum.json()["errors"][0]["pointer"] == "/release_fen"
    split = await world.ok(
        world.platform,
        deal["id"],
        "resolve_dispute",
        {"milestone_id": second, "release_fen": 12_000_000, "refund_fen": 8_000_000, "note": "部分达标"},
    )
    assert split["state"] == "completed" and split["ended_at"]
    assert split["milestones"][1]["status"] == "split"
    assert (split["milestones"][1]["released_fen"], split["milestones"][1]["refunded_fen"]) == (12_000_000, 8_000_000)
    assert [c["amount_fen"] for c in ports.named("on_milestone_released")] == [10_000_000, 12_000_000]
    assert [c["amount_fen"] for c in ports.named("on_refund")] == [8_000_000]
    assert [c["deal_id"] for c in ports.named("on_deal_completed")] == [uuid.UUID(deal["id"])]


async def test_a_lapsed_review_window_accepts_the_delivery(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession], ports: RecordingPorts
) -> None:
    deal = await world.performing(parts=(30_000_000,))
    milestone = deal["milestones"][0]["id"]
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": milestone})
    await shift(session, "deal_milestones", "review_due_at", milestone, -timedelta(days=8))
    assert await make_due(session, "deals.review_window", milestone_id=milestone) == 1
    await run_timers(maker_in_test)
    after = await world.get(deal["id"])
    assert after["milestones"][0]["status"] == "released" and after["state"] == "completed"
    assert [c["amount_fen"] for c in ports.named("on_milestone_released")] == [30_000_000]


async def test_the_platform_ending_a_performing_deal_refunds_what_is_unsettled(
    world: World, ports: RecordingPorts
) -> None:
    deal = await world.performing(parts=(10_000_000, 20_000_000))
    first = deal["milestones"][0]["id"]
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": first})
    await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": first})
    assert (await world.fire(world.buyer, deal["id"], "cancel")).status_code == 409  # too late for the parties
    ended = await world.ok(world.platform, deal["id"], "platform_cancel", {"reason": "卖方丧失履约能力"})
    assert ended["state"] == "cancelled"
    assert [m["status"] for m in ended["milestones"]] == ["released", "refunded"]
    assert [c["amount_fen"] for c in ports.named("on_refund")] == [20_000_000]
