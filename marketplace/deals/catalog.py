"""The deal and auction event types, registered in the webhook catalogue from the process table."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from marketplace.deals.process import TRANSITIONS
from marketplace.webhooks.catalog import EventData, register_event_type


class DealEventData(EventData):
    """A deal moved through one transition of the process."""

    deal_id: uuid.UUID
    listing_id: uuid.UUID
    transition: str = Field(description="The transition's name (see GET /api/v1/deal-process).")
    actor: str = Field(description="buyer, seller, buyer_broker, seller_broker, platform, verified_org or system.")
    previous_state: str | None
    state: str
    version: int


class AuctionEventData(EventData):
    """An auction moved through one transition (or took a bid: bidder numbers only)."""

    auction_id: uuid.UUID
    listing_id: uuid.UUID
    transition: str
    actor: str
    previous_state: str | None
    state: str


class OutbidEventData(EventData):
    """Sent only to the bidder who held the high bid: someone bid more."""

    auction_id: uuid.UUID
    listing_id: uuid.UUID
    your_bidder_number: int | None
    high_bid_fen: int
    next_minimum_bid_fen: int
    ends_at: datetime


class ClosingSoonEventData(EventData):
    """An open auction ends soon (DEALS_AUCTION_CLOSING_SOON_MINUTES before its end); to bidders with a held deposit."""

    auction_id: uuid.UUID
    listing_id: uuid.UUID
    ends_at: datetime
    high_bid_fen: int | None
    next_minimum_bid_fen: int
    bid_count: int


class MilestoneDueEventData(EventData):
    """A pending milestone falls due soon (DEALS_MILESTONE_REMINDER_DAYS before its due date); to both parties."""

    deal_id: uuid.UUID
    milestone_id: uuid.UUID
    title: str
    amount_fen: int
    due_date: date


def register() -> None:
    """Register `deal.<transition>` and `auction.<transition>` for every transition, and the auction reminders."""
    for t in TRANSITIONS:
        data = DealEventData if t.subject == "deal" else AuctionEventData
        register_event_type(t.event_type, data, t.summary)
    register_event_type("auction.outbid", OutbidEventData, "Your high bid was beaten")
    register_event_type("deal.milestone_due", MilestoneDueEventData, "A milestone of the payment plan falls due soon")
    register_event_type("auction.closing_soon", ClosingSoonEventData, "An auction you registered for ends soon")


register()
