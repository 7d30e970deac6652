"""From matcher results and rows to response schemas."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from marketplace.demands.models import Demand
from marketplace.demands.service import effective_status
from marketplace.matching.matcher import DemandMatch, ListingMatch
from marketplace.matching.models import BrokerClient, MatchFeedback, SavedSearch, Verdict
from marketplace.matching.schemas import (
    BrokerClientRead,
    DemandMatchRead,
    DemandSummary,
    FeedbackRead,
    ListingMatchRead,
    MatchedListing,
    Reasons,
    SavedSearchRead,
    ScoreParts,
)
from marketplace.matching.scoring import Judgement


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _reasons(j: Judgement) -> Reasons:
    r = j.reasons
    return Reasons(
        matched_terms=list(r.matched_terms),
        field=r.field,  # type: ignore[arg-type]
        field_codes=list(r.field_codes),
        maturity=r.maturity,  # type: ignore[arg-type]
        trl=r.trl,
        min_trl=r.min_trl,
        price=r.price,  # type: ignore[arg-type]
        price_floor_fen=r.price_floor_fen,
        budget_max_fen=r.budget_max_fen,
        trade_mode=r.trade_mode,  # type: ignore[arg-type]
        common_modes=list(r.common_modes),  # type: ignore[arg-type]
        region=r.region,  # type: ignore[arg-type]
    )


def listing_match(m: ListingMatch, feedback: MatchFeedback | None) -> ListingMatchRead:
    """One recommended listing."""
    doc = m.doc
    return ListingMatchRead(
        listing=MatchedListing(
            id=uuid.UUID(m.listing.id),
            title=m.listing.title,
            holder_id=_uuid(m.listing.holder_id),
            holder_name=m.listing.holder_name,
            field_codes=list(m.listing.field_codes),
            trl=m.listing.trl,
            trade_modes=list(m.listing.trade_modes),  # type: ignore[arg-type]
            pricing_kind=m.listing.pricing_kind,
            price_min_fen=doc.get("price_min_fen"),
            price_max_fen=doc.get("price_max_fen"),
            region_code=m.listing.region_code,
        ),
        score=m.judgement.score,
        parts=ScoreParts(**m.judgement.parts),
        reasons=_reasons(m.judgement),
        violations=list(m.judgement.violations),
        explanation=m.judgement.explanation,
        feedback=Verdict(feedback.verdict) if feedback is not None else None,
    )


def demand_summary(demand: Demand, organization_name: str | None, today: date) -> DemandSummary:
    """What a demand publishes."""
    return DemandSummary(
        id=demand.id,
        organization_id=demand.organization_id,
        organization_name=organization_name,
        title=demand.title,
        description=demand.description,
        field_codes=list(demand.field_codes),
        budget_min_fen=demand.budget_min_fen,
        budget_max_fen=demand.budget_max_fen,
        trade_modes=list(demand.trade_modes),  # type: ignore[arg-type]
        min_trl=demand.min_trl,
        region_code=demand.region_code,
        deadline=demand.deadline,
        status=effective_status(demand, today),
    )


def demand_match(m: DemandMatch, today: date) -> DemandMatchRead:
    """One demand a listing fits."""
    return DemandMatchRead(
        demand=demand_summary(m.demand, m.holder_name, today),
        score=m.judgement.score,
        parts=ScoreParts(**m.judgement.parts),
        reasons=_reasons(m.judgement),
        violations=list(m.judgement.violations),
        explanation=m.judgement.explanation,
    )


def feedback_read(row: MatchFeedback) -> FeedbackRead:
    """A verdict."""
    return FeedbackRead.model_validate(row)


def saved_search_read(row: SavedSearch) -> SavedSearchRead:
    """A saved search."""
    return SavedSearchRead(
        id=row.id,
        organization_id=row.organization_id,
        user_id=row.user_id,
        name=row.name,
        q=row.query,
        field_codes=list(row.field_codes),
        trl_min=row.trl_min,
        trl_max=row.trl_max,
        trade_modes=list(row.trade_modes),  # type: ignore[arg-type]
        ip_types=list(row.ip_types),  # type: ignore[arg-type]
        price_min_fen=row.price_min_fen,
        price_max_fen=row.price_max_fen,
        region=row.region_prefix,
        notify=row.notify,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def broker_client_read(row: BrokerClient, enterprise_name: str, agency_name: str) -> BrokerClientRead:
    """A broker-client relation."""
    return BrokerClientRead(
        id=row.id,
        enterprise_organization_id=row.enterprise_organization_id,
        enterprise_name=enterprise_name,
        agency_organization_id=row.agency_organization_id,
        agency_name=agency_name,
        created_at=row.created_at,
    )
