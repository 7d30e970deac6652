"""Build response shapes from engine results.

Search pages are assembled as plain data in the shape of their response models (ListingSearchPage,
DemandSearchPage, which the OpenAPI document describes) and encoded straight to JSON: building the
nested models one by one (a hit's holder, price and highlights, up to hundreds of facet values) and
dumping them again cost more than the search itself. The encoded page is what the search routes
cache; tests/search/test_api.py checks pages against the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec
from litestar import Response
from litestar.enums import MediaType

from marketplace.search_api.schemas import (
    Highlights,
    PriceRange,
    SearchFacets,
    SuggestionList,
)
from search.model import SearchHit, SearchResult, Suggestion

_NO_HOLDER = "00000000-0000-0000-0000-000000000000"
_HIGHLIGHTED = tuple(Highlights.model_fields)
_CURRENCY = PriceRange.model_fields["currency"].default
_FACET_NAMES = tuple(name for name in SearchFacets.model_fields if name != "price")


def _holder(hit: SearchHit) -> dict[str, Any]:
    doc = hit.document
    return {"id": doc.holder_id or _NO_HOLDER, "name": doc.holder_name}


def _highlights(hit: SearchHit) -> dict[str, str | None]:
    found = hit.highlights
    return {k: found.get(k) for k in _HIGHLIGHTED}


def _price(low: int | None, high: int | None) -> dict[str, Any]:
    return {"min_fen": low, "max_fen": high, "currency": _CURRENCY}


def _facets(result: SearchResult) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(_FACET_NAMES)
    for facet, counts in result.facets.items():
        values[facet.value] = counts  # FacetCount structs encode as {"value", "count"}
    price = result.price_stats
    values["price"] = {"min_fen": price.min_fen, "max_fen": price.max_fen} if price else None
    return values


def _listing_hit(hit: SearchHit) -> dict[str, Any]:
    doc = hit.document
    low, high = doc.price_range
    return {
        "id": doc.id,
        "title_zh": doc.title,
        "title_en": doc.title_en,
        "summary": doc.summary or None,
        "keywords": doc.keywords,
        "field_codes": doc.field_codes,
        "trl": doc.trl,
        "trade_modes": doc.trade_modes,
        "ip_types": doc.ip_types,
        "pricing_kind": doc.extra.get("pricing_kind"),
        "price": _price(low, high),
        "has_auction": doc.has_auction,
        "region_code": doc.region_code,
        "holder_state_funded": doc.state_funded,
        "holder": _holder(hit),
        "published_at": doc.published_at,
        "score": hit.score,
        "highlights": _highlights(hit),
    }


def _demand_hit(hit: SearchHit) -> dict[str, Any]:
    doc = hit.document
    return {
        "id": doc.id,
        "title": doc.title,
        "summary": doc.summary or None,
        "field_codes": doc.field_codes,
        "min_trl": doc.trl,
        "trade_modes": doc.trade_modes,
        "budget": _price(doc.price_min_fen, doc.price_max_fen),
        "region_code": doc.region_code,
        "deadline": doc.extra.get("deadline"),
        "enterprise": _holder(hit),
        "created_at": doc.published_at,
        "score": hit.score,
        "highlights": _highlights(hit),
    }


def _page(result: SearchResult, cursor: str | None, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Every member of a page but `query` (which holds this request's timing)."""
    return {
        "items": items,
        "total": result.total,
        "page": result.page,
        "limit": result.per_page,
        "next_cursor": cursor,
        "facets": _facets(result),
    }


def _head(data: dict[str, Any]) -> bytes:
    return msgspec.json.encode(data)[:-1]  # without the closing brace: `query` follows


def listing_head(result: SearchResult, cursor: str | None) -> bytes:
    """A page of listing hits (ListingSearchPage) as JSON, up to its `query` member (see page_response)."""
    return _head(_page(result, cursor, [_listing_hit(h) for h in result.hits]))


def demand_head(result: SearchResult, cursor: str | None) -> bytes:
    """A page of demand hits (DemandSearchPage) as JSON, up to its `query` member (see page_response)."""
    return _head(_page(result, cursor, [_demand_hit(h) for h in result.hits]))


def page_response(head: bytes, terms: Sequence[str], took_ms: float) -> Response[Any]:
    """A 200 with the page: its head, then how the query was understood and how long it took."""
    info = msgspec.json.encode({"terms": terms, "took_ms": round(took_ms, 2)})
    return Response(content=b"".join((head, b',"query":', info, b"}")), media_type=MediaType.JSON)


def suggestions(items: Sequence[Suggestion]) -> SuggestionList:
    """Suggestions as returned."""
    return SuggestionList.model_validate(
        {"items": [{"text": s.text, "kind": s.kind, "id": s.id, "highlighted": s.highlighted} for s in items]}
    )
