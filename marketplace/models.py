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
from marketplace.payments.models import (
    DealFeeTerms,
    FeeSchedule,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payable,
    ProviderEvent,
    ProviderPayout,
    ProviderReceipt,
    StripeAccount,
)
from marketplace.web.models import IdempotencyRecord, RateLimitCounter
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
    "DealFeeTerms",
    "DealMessage",
    "DealMilestone",
    "DealNotice",
    "DealObjection",
    "DealOffer",
    "Demand",
    "DemandMatchProfile",
    "FeeSchedule",
    "IdempotencyRecord",
    "Job",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
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
    "Payable",
    "ProviderEvent",
    "ProviderPayout",
    "ProviderReceipt",
    "RateLimitCounter",
    "SavedSearch",
    "StripeAccount",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
