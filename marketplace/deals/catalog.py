"""The deal and auction event types, registered in the webhook catalogue from the process table."""

from __future__ import annotations

import uuid

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


def register() -> None:
    """Register `deal.<transition>` and `auction.<transition>` for every transition in the process."""
    for t in TRANSITIONS:
        data = DealEventData if t.subject == "deal" else AuctionEventData
        register_event_type(t.event_type, data, t.summary)


register()
