"""Deal events notify the right side: an offer goes to the other party, a delivery to the buyer."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marketplace.deals.notifications import _other_side_of_offer
from marketplace.notifications.models import NotificationKind
from marketplace.notifications.rules import EventView, rules_for

SELLER, BUYER, BROKER = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


def event(event_type: str, **payload: object) -> EventView:
    return EventView(
        id=uuid.uuid4(),
        type=event_type,
        organization_id=SELLER,
        audience=(SELLER, BUYER, BROKER),
        subject_type="deal",
        subject_id=str(uuid.uuid4()),
        payload=dict(payload),
        created_at=datetime.now(UTC),
    )


def test_offer_from_buyer_notifies_seller_and_from_seller_notifies_buyer_side() -> None:
    assert _other_side_of_offer(event("deal.make_offer", side="buyer", price_fen=1)) == [SELLER]
    assert _other_side_of_offer(event("deal.make_offer", side="seller", price_fen=1)) == [BUYER, BROKER]


def test_rules_are_registered_with_chinese_text() -> None:
    (offer,) = rules_for("deal.make_offer")
    assert offer.kind is NotificationKind.offer_received
    assert offer.organizations(event("deal.make_offer", side="buyer", price_fen=1_234_500)) == [SELLER]
    assert (
        offer.body(event("deal.make_offer", side="buyer", price_fen=1_234_500))
        == "报价金额 12,345.00 元，请在有效期内答复。"
    )
    (objection,) = rules_for("deal.file_objection")
    assert objection.kind is NotificationKind.notice_objection
    assert objection.organizations(event("deal.file_objection")) == [SELLER, BUYER, BROKER]
    (delivery,) = rules_for("deal.deliver_milestone")
    assert delivery.organizations(event("deal.deliver_milestone")) == [BUYER, BROKER]
