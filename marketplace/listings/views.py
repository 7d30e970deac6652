"""Build response shapes from listings, choosing the tier by what the caller may see."""

from __future__ import annotations

from typing import Any

from marketplace.listings.models import Listing, ListingIPAsset, ListingWatch
from marketplace.listings.schemas import (
    AMOUNT_FIELDS,
    Contact,
    IPAssetRead,
    ListingConfidential,
    ListingPublic,
    ListingRead,
    ListingSummary,
    ListingView,
    Pricing,
    PricingPublic,
    RevisionRead,
    WatchlistItem,
)
from marketplace.listings.service import Access, ListingBundle
from marketplace.reference.regions import region_name
from marketplace.reference.trl import trl_phase, trl_stage


def _pricing(listing: Listing, *, with_reserve: bool) -> PricingPublic:
    amounts: dict[str, Any] = {name: getattr(listing, name) for name in AMOUNT_FIELDS if name != "reserve_fen"}
    if with_reserve:
        return Pricing(kind=listing.pricing_kind, reserve_fen=listing.reserve_fen, **amounts)
    return PricingPublic(kind=listing.pricing_kind, **amounts)


def _summary_fields(listing: Listing) -> dict[str, Any]:
    stage_zh, _stage_en = trl_stage(listing.trl)
    return {
        "id": listing.id,
        "organization_id": listing.organization_id,
        "status": listing.status,
        "title_zh": listing.title_zh,
        "title_en": listing.title_en,
        "summary": listing.summary,
        "field_codes": list(listing.field_codes),
        "trl": listing.trl,
        "trl_stage_zh": stage_zh,
        "achievement_type": listing.achievement_type,
        "trade_modes": list(listing.trade_modes),
        "pricing": _pricing(listing, with_reserve=False),
        "region_code": listing.region_code,
        "region_name": region_name(listing.region_code),
        "holder_state_funded": listing.holder_state_funded,
        "version": listing.version,
        "created_at": listing.created_at,
        "updated_at": listing.updated_at,
        "published_at": listing.published_at,
    }


def summary(listing: Listing) -> ListingSummary:
    """A listing in a list (public facts only, whoever asks)."""
    return ListingSummary(**_summary_fields(listing))


def _asset(asset: ListingIPAsset) -> IPAssetRead:
    return IPAssetRead.model_validate(asset)


def view(bundle: ListingBundle) -> ListingView:
    """A listing for one caller: public, with its confidential part, or in full."""
    listing = bundle.listing
    _stage_zh, stage_en = trl_stage(listing.trl)
    fields: dict[str, Any] = {
        **_summary_fields(listing),
        "description": listing.description,
        "keywords": list(listing.keywords),
        "trl_stage_en": stage_en,
        "trl_phase": trl_phase(listing.trl).name_zh,
        "inventors": list(listing.inventors),
        "ip_assets": [_asset(a) for a in bundle.assets],
        "contact": Contact(name=listing.contact_name, phone=listing.contact_phone, email=listing.contact_email),
        "nda_text": listing.nda_text,
        "nda_version": listing.nda_version,
        "has_confidential": bundle.has_confidential,
        "confidential_access": bundle.access >= Access.confidential,
    }
    if bundle.access is Access.public:
        return ListingPublic(**fields)
    fields["confidential_description"] = listing.confidential_description
    if bundle.access is Access.confidential:
        return ListingConfidential(**fields)
    revision = bundle.pending_revision
    return ListingRead(
        **{
            **fields,
            "pricing": _pricing(listing, with_reserve=True),
            "created_by_user_id": listing.created_by_user_id,
            "review_note": listing.review_note,
            "submitted_at": listing.submitted_at,
            "withdrawn_at": listing.withdrawn_at,
            "closed_at": listing.closed_at,
            "pending_revision": RevisionRead.model_validate(revision) if revision is not None else None,
        }
    )


def watch_item(watch: ListingWatch, listing: Listing) -> WatchlistItem:
    """One entry of a watchlist."""
    return WatchlistItem(watched_at=watch.created_at, listing=summary(listing))
