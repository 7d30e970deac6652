"""Import every table model so the metadata (and Alembic) sees them all."""

from marketplace.accounts.models import ApiKey, Organization, User
from marketplace.deals.models import (
    Auction,
    AuctionBid,
    AuctionRegistration,
    Deal,
    DealBroker,
    DealContract,
    DealMessage,
    DealMilestone,
    DealNotice,
    DealObjection,
    DealOffer,
)
from marketplace.demands.models import Demand
from marketplace.events.feed import AUDIENCE_INDEX
from marketplace.events.models import AuditEvent, Job, OutboxEvent
from marketplace.listings.models import (
    Listing,
    ListingAttachment,
    ListingIPAsset,
    ListingRevision,
    ListingWatch,
    NdaAcceptance,
)
from marketplace.matching.models import BrokerClient, DemandMatchProfile, MatchFeedback, MatchNotifiedPair, SavedSearch
from marketplace.notifications.models import Notification
from marketplace.web.models import IdempotencyRecord
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AUDIENCE_INDEX",
    "ApiKey",
    "Auction",
    "AuctionBid",
    "AuctionRegistration",
    "AuditEvent",
    "BrokerClient",
    "Deal",
    "DealBroker",
    "DealContract",
    "DealMessage",
    "DealMilestone",
    "DealNotice",
    "DealObjection",
    "DealOffer",
    "Demand",
    "DemandMatchProfile",
    "IdempotencyRecord",
    "Job",
    "Listing",
    "ListingAttachment",
    "ListingIPAsset",
    "ListingRevision",
    "ListingWatch",
    "MatchFeedback",
    "MatchNotifiedPair",
    "NdaAcceptance",
    "Notification",
    "Organization",
    "OutboxEvent",
    "SavedSearch",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
