"""Money event types are in the webhook catalogue; a payment received notifies payer and payee."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

import marketplace.payments.notifications  # noqa: F401  (registers the rule, as the worker does)
from marketplace.events.models import OutboxEvent
from marketplace.notifications.models import NotificationKind
from marketplace.notifications.rules import EventView, rules_for
from tests.deals.conftest import World
from tests.payments.conftest import API, deal_money, transfer


async def test_money_event_types_are_in_the_catalogue(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"{API}/webhooks/event-types", headers=world.buyer.headers)
    assert response.status_code == 200, response.text
    names = {t["type"] for t in response.json()["items"]}
    assert {"payment.received", "payout.sent", "deposit.released", "deposit.forfeited", "escrow.released"} <= names


async def test_a_transfer_emits_payment_received_to_payer_and_payee(world: World, session: AsyncSession) -> None:
    deal = await world.performing(parts=(10_000_000, 20_000_000))
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    await transfer(world, first["reference"], 4_000, "BANK-E1")
    emitted = (
        (await session.execute(sa.select(OutboxEvent).where(OutboxEvent.type == "payment.received")))  # type: ignore[arg-type]
        .scalars()
        .all()
    )
    (mine,) = [e for e in emitted if e.payload["payable_id"] == first["id"]]
    assert mine.organization_id == world.buyer.organization.id
    assert world.seller.organization.id in mine.audience
    assert (mine.payload["remaining_fen"], mine.payload["status"]) == (first["due_fen"] - 4_000, "partial")


def test_payment_received_rule_tells_what_arrived_and_what_is_left() -> None:
    payer, payee = uuid.uuid4(), uuid.uuid4()
    view = EventView(
        id=uuid.uuid4(),
        type="payment.received",
        organization_id=payer,
        audience=(payer, payee),
        subject_type="payable",
        subject_id=str(uuid.uuid4()),
        payload={"amount_fen": 123_456, "reference": "ZFABC", "remaining_fen": 100, "excess_fen": 0},
        created_at=datetime.now(UTC),
    )
    (rule,) = rules_for("payment.received")
    assert rule.kind is NotificationKind.payment_received
    assert rule.organizations(view) == [payer, payee]
    assert rule.body(view) == "收到款项 1,234.56 元（付款参考号 ZFABC）。尚欠 1.00 元。"
