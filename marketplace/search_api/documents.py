"""What of a listing or a demand goes into the search index: public facts only.

Never indexed: a listing's confidential description, NDA text, contact details, reserve price and
inventors' names; a demand's broker-contact preference. Whatever is indexed can be found by anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from marketplace.demands.models import Demand, DemandStatus
from marketplace.demands.service import effective_status
from marketplace.listings.models import Listing, ListingStatus, PricingKind
from search.model import SearchDocument

__all__ = ["demand_document", "is_searchable_demand", "is_searchable_listing", "listing_document"]

_DEMAND_SUMMARY_CHARS = 300


def is_searchable_listing(listing: Listing) -> bool:
    """Only published listings are in the index."""
    return ListingStatus(listing.status) is ListingStatus.published and listing.published_at is not None


def is_searchable_demand(demand: Demand, today: date) -> bool:
    """Only open demands (not past their deadline) are in the index."""
    return effective_status(demand, today) is DemandStatus.open


def _listing_price(listing: Listing) -> tuple[int | None, int | None]:
    kind = PricingKind(listing.pricing_kind)
    if kind is PricingKind.fixed:
        return listing.price_fen, listing.price_fen
    if kind is PricingKind.range:
        return listing.min_fen, listing.max_fen
    if kind is PricingKind.auction:  # the start price is public; the reserve never is
        return listing.start_price_fen, listing.start_price_fen
    return None, None


def listing_document(listing: Listing, *, holder_name: str | None, ip_types: Sequence[str]) -> SearchDocument:
    """The search document of a published listing."""
    assert listing.published_at is not None
    low, high = _listing_price(listing)
    kind = PricingKind(listing.pricing_kind)
    return SearchDocument(
        id=str(listing.id),
        title=listing.title_zh,
        title_en=listing.title_en,
        keywords=tuple(listing.keywords or ()),
        summary=listing.summary or "",
        description=listing.description or "",
        holder_id=str(listing.organization_id),
        holder_name=holder_name,
        field_codes=tuple(listing.field_codes or ()),
        trl=listing.trl,
        trade_modes=tuple(listing.trade_modes or ()),
        ip_types=tuple(sorted(set(ip_types))),
        price_min_fen=low,
        price_max_fen=high,
        region_code=listing.region_code,
        state_funded=bool(listing.holder_state_funded),
        has_auction=kind is PricingKind.auction,
        published_at=listing.published_at,
        extra={
            "pricing_kind": kind.value,
            "achievement_type": str(listing.achievement_type),
            "version": listing.version,
        },
    )


def demand_document(demand: Demand, *, holder_name: str | None) -> SearchDocument:
    """The search document of an open demand (its description doubles as the shown summary)."""
    description = demand.description or ""
    summary = description if len(description) <= _DEMAND_SUMMARY_CHARS else description[:_DEMAND_SUMMARY_CHARS] + "…"
    return SearchDocument(
        id=str(demand.id),
        title=demand.title,
        summary=summary,
        description=description if len(description) > _DEMAND_SUMMARY_CHARS else "",
        holder_id=str(demand.organization_id),
        holder_name=holder_name,
        field_codes=tuple(demand.field_codes or ()),
        trl=demand.min_trl,
        trade_modes=tuple(demand.trade_modes or ()),
        price_min_fen=demand.budget_min_fen,
        price_max_fen=demand.budget_max_fen,
        region_code=demand.region_code,
        published_at=demand.created_at,
        extra={
            "deadline": demand.deadline.isoformat() if demand.deadline else None,
            "version": demand.version,
        },
    )
