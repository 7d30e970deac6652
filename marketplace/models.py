"""Import every table model so the metadata (and Alembic) sees them all."""

from marketplace.accounts.models import ApiKey, Organization, User
from marketplace.demands.models import Demand
from marketplace.events.models import AuditEvent, Job, OutboxEvent
from marketplace.listings.models import (
    Listing,
    ListingAttachment,
    ListingIPAsset,
    ListingRevision,
    ListingWatch,
    NdaAcceptance,
)
from marketplace.web.models import IdempotencyRecord

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Demand",
    "IdempotencyRecord",
    "Job",
    "Listing",
    "ListingAttachment",
    "ListingIPAsset",
    "ListingRevision",
    "ListingWatch",
    "NdaAcceptance",
    "Organization",
    "OutboxEvent",
    "User",
]
