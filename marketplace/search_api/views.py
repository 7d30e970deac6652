"""Build response shapes from engine results."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from marketplace.search_api.schemas import (
    DemandHit,
    DemandSearchPage,
    FacetValue,
    Highlights,
    Holder,
    ListingHit,
    ListingSearchPage,
    PriceRange,
    PriceStats,
    SearchFacets,
    SearchInfo,
    SuggestionList,
    SuggestionRead,
)
from search.model import SearchHit, SearchResult, Suggestion


def _holder(hit: SearchHit) -> Holder:
    doc = hit.document
    return Holder(id=uuid.UUID(doc.holder_id) if doc.holder_id else uuid.UUID(int=0), name=doc.holder_name)


def _highlights(hit: SearchHit) -> Highlights:
    return Highlights(**{k: v for k, v in hit.highlights.items() if k in ("title", "title_en", "summary")})


def _facets(result: SearchResult) -> SearchFacets:
    values = {
        facet.value: [FacetValue(value=c.value, count=c.count) for c in counts]
        for facet, counts in result.facets.items()
    }
    price = result.price_stats
    return SearchFacets(**values, price=PriceStats(min_fen=price.min_fen, max_fen=price.max_fen) if price else None)


def listing_hit(hit: SearchHit) -> ListingHit:
    """One listing hit."""
    doc = hit.document
    low, high = doc.price_range
    return ListingHit(
        id=uuid.UUID(doc.id),
        title_zh=doc.title,
        title_en=doc.title_en,
        summary=doc.summary or None,
        keywords=list(doc.keywords),
        field_codes=list(doc.field_codes),
        trl=doc.trl,
        trade_modes=list(doc.trade_modes),
        ip_types=list(doc.ip_types),
        pricing_kind=doc.extra.get("pricing_kind"),
        price=PriceRange(min_fen=low, max_fen=high),
        has_auction=doc.has_auction,
        region_code=doc.region_code,
        holder_state_funded=doc.state_funded,
        holder=_holder(hit),
        published_at=doc.published_at,
        score=hit.score,
        highlights=_highlights(hit),
    )


def demand_hit(hit: SearchHit) -> DemandHit:
    """One demand hit."""
    doc = hit.document
    return DemandHit(
        id=uuid.UUID(doc.id),
        title=doc.title,
        summary=doc.summary or None,
        field_codes=list(doc.field_codes),
        min_trl=doc.trl,
        trade_modes=list(doc.trade_modes),
        budget=PriceRange(min_fen=doc.price_min_fen, max_fen=doc.price_max_fen),
        region_code=doc.region_code,
        deadline=doc.extra.get("deadline"),
        enterprise=_holder(hit),
        created_at=doc.published_at,
        score=hit.score,
        highlights=_highlights(hit),
    )


def _info(result: SearchResult) -> SearchInfo:
    return SearchInfo(terms=list(result.terms), took_ms=round(result.took_ms, 2))


def listing_page(result: SearchResult, cursor: str | None) -> ListingSearchPage:
    """A page of listing hits."""
    return ListingSearchPage(
        items=[listing_hit(h) for h in result.hits],
        total=result.total,
        page=result.page,
        limit=result.per_page,
        next_cursor=cursor,
        facets=_facets(result),
        query=_info(result),
    )


def demand_page(result: SearchResult, cursor: str | None) -> DemandSearchPage:
    """A page of demand hits."""
    return DemandSearchPage(
        items=[demand_hit(h) for h in result.hits],
        total=result.total,
        page=result.page,
        limit=result.per_page,
        next_cursor=cursor,
        facets=_facets(result),
        query=_info(result),
    )


def suggestions(items: Sequence[Suggestion]) -> SuggestionList:
    """Suggestions as returned."""
    return SuggestionList(
        items=[
            SuggestionRead(text=s.text, kind=s.kind, id=uuid.UUID(s.id) if s.id else None, highlighted=s.highlighted)
            for s in items
        ]
    )
