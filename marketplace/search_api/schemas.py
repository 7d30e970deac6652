"""Response shapes of the search routes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from marketplace.kit.schemas import OutputSchema


class Highlights(OutputSchema):
    """HTML-escaped snippets with the matched words in <mark>…</mark> (only fields that matched)."""

    title: str | None = None
    title_en: str | None = None
    summary: str | None = None


class Holder(OutputSchema):
    """The organisation that offers the listing or posted the demand."""

    id: uuid.UUID
    name: str | None


class PriceRange(OutputSchema):
    """Price (listings: fixed price, range or auction start price) or budget (demands), in fen."""

    min_fen: int | None
    max_fen: int | None
    currency: str = "CNY"


class ListingHit(OutputSchema):
    """A published listing that matches, as the index holds it."""

    id: uuid.UUID
    title_zh: str
    title_en: str | None
    summary: str | None
    keywords: list[str]
    field_codes: list[str]
    trl: int | None
    trade_modes: list[str]
    ip_types: list[str]
    pricing_kind: str | None
    price: PriceRange
    has_auction: bool
    region_code: str | None
    holder_state_funded: bool
    holder: Holder
    published_at: datetime
    score: float | None = Field(
        description="Relevance (higher is better; engine-specific scale); null unless sorted by relevance."
    )
    highlights: Highlights


class DemandHit(OutputSchema):
    """An open demand that matches, as the index holds it."""

    id: uuid.UUID
    title: str
    summary: str | None = Field(description="The start of the description.")
    field_codes: list[str]
    min_trl: int | None
    trade_modes: list[str]
    budget: PriceRange
    region_code: str | None
    deadline: str | None
    enterprise: Holder
    created_at: datetime
    score: float | None
    highlights: Highlights


class FacetValue(OutputSchema):
    """How many matching documents carry one value."""

    value: str
    count: int


class PriceStats(OutputSchema):
    """Lowest and highest price among the matches that have one (fen)."""

    min_fen: int
    max_fen: int


class SearchFacets(OutputSchema):
    """Counts over every match (not just this page), for the facets asked for."""

    field_codes: list[FacetValue] | None = None
    trl: list[FacetValue] | None = None
    trade_modes: list[FacetValue] | None = None
    ip_types: list[FacetValue] | None = None
    region: list[FacetValue] | None = Field(default=None, description="Per province (first two digits).")
    holder: list[FacetValue] | None = Field(default=None, description="Per organisation id.")
    state_funded: list[FacetValue] | None = None
    has_auction: list[FacetValue] | None = None
    price: PriceStats | None = None


class SearchInfo(OutputSchema):
    """How the query was understood."""

    terms: list[str] = Field(description="The words searched for, after normalisation and segmentation.")
    took_ms: float


class ListingSearchPage(OutputSchema):
    """One page of listing hits; follow next_cursor (or ask for page + 1) for more."""

    items: list[ListingHit]
    total: int = Field(description="How many listings match in all.")
    page: int
    limit: int
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= to get the next page.")
    facets: SearchFacets
    query: SearchInfo


class DemandSearchPage(OutputSchema):
    """One page of demand hits; follow next_cursor (or ask for page + 1) for more."""

    items: list[DemandHit]
    total: int
    page: int
    limit: int
    next_cursor: str | None = None
    facets: SearchFacets
    query: SearchInfo


class SuggestionRead(OutputSchema):
    """An as-you-type suggestion."""

    text: str
    kind: str = Field(description="term: a completion of the word being typed; title: a matching title.")
    id: uuid.UUID | None = Field(default=None, description="The listing or demand, for titles.")
    highlighted: str | None = None


class SuggestionList(OutputSchema):
    """Suggestions, best first."""

    items: list[SuggestionRead]
