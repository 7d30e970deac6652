"""The money event types, registered in the webhook catalogue."""

from __future__ import annotations

import uuid

from pydantic import Field

from marketplace.webhooks.catalog import EventData, register_event_type


class PayableEventData(EventData):
    """Something happened to money asked of an organisation (a deposit, a milestone payment, a charge)."""

    payable_id: uuid.UUID
    kind: str = Field(description="deposit, milestone, commission or fee.")
    deal_id: uuid.UUID | None
    amount_fen: int | None = None


class PaymentReceivedData(PayableEventData):
    """Money came in against a payment reference."""

    reference: str
    applied_fen: int
    excess_fen: int = Field(description="Over-payment credited to the payer's available balance.")
    remaining_fen: int
    status: str = Field(description="exact, partial or overpaid.")
    provider: str


class PayoutSentData(EventData):
    """The platform paid money out to the organisation."""

    payout_id: uuid.UUID
    purpose: str
    amount_fen: int
    provider: str


EVENT_TYPES: list[tuple[str, type[EventData], str]] = [
    ("payment.requested", PayableEventData, "A milestone's money (with the buyer's fee) is due."),
    ("payment.received", PaymentReceivedData, "Money was received against a payment reference."),
    ("escrow.released", PayableEventData, "A milestone's money left escrow: to the seller, fees to the platform."),
    ("refund.credited", PayableEventData, "Money went back to the buyer's available balance."),
    ("deposit.requested", PayableEventData, "An auction deposit is due."),
    ("deposit.released", PayableEventData, "A held deposit went back to the bidder's available balance."),
    ("deposit.forfeited", PayableEventData, "A held deposit was kept (to the seller or the platform)."),
    ("deposit.applied", PayableEventData, "A held deposit counted toward the winning price."),
    ("commission.due", PayableEventData, "A broker's commission fell due from the party that appointed it."),
    ("fee.due", PayableEventData, "A seller's minimum fee exceeded the release it was to come out of."),
    ("payout.sent", PayoutSentData, "The platform paid money out."),
]


def register() -> None:
    """Register every money event type."""
    for name, data, summary in EVENT_TYPES:
        register_event_type(name, data, summary)


register()
