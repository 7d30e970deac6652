"""The matching event types, registered in the webhook catalogue."""

from __future__ import annotations

import uuid

from pydantic import Field

from marketplace.webhooks.catalog import EventData, register_event_type


class MatchFoundData(EventData):
    """A published listing newly fits some of the receiver's open demands or saved searches (announced once per pair)."""

    listing_id: uuid.UUID
    listing_title: str
    listing_organization_id: uuid.UUID
    demand_ids: list[uuid.UUID] = Field(description="The receiver's open demands the listing fits.")
    saved_search_ids: list[uuid.UUID] = Field(description="The receiver's saved searches the listing fits.")


class MatchInterestedData(EventData):
    """An enterprise marked a recommended listing as interesting for one of its demands."""

    listing_id: uuid.UUID
    demand_id: uuid.UUID
    demand_title: str
    enterprise_organization_id: uuid.UUID
    listing_organization_id: uuid.UUID


def register() -> None:
    """Register match.found and match.interested."""
    register_event_type("match.found", MatchFoundData, "A new listing fits a demand or saved search")
    register_event_type("match.interested", MatchInterestedData, "An enterprise is interested in a listing")


register()
