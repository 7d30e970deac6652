"""HTTP routes of search: listings, demands and as-you-type suggestions, open to anyone."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from marketplace.listings.models import IPAssetType, TradeMode
from marketplace.search_api import views
from marketplace.search_api.errors import InvalidSearchParameter
from marketplace.search_api.schemas import DemandSearchPage, ListingSearchPage, SuggestionList
from marketplace.search_api.service import (
    DEMAND_FACETS,
    LISTING_FACETS,
    SearchParams,
    SearchService,
    build_query,
)
from marketplace.web import policy
from marketplace.web.deps import DbSession
from marketplace.web.openapi import errors_for
from search.model import MAX_PER_PAGE, MAX_QUERY_CHARS, MAX_RESULT_WINDOW, SortOrder
from search.settings import DEMANDS, LISTINGS

_SEARCH_DESCRIPTION = (
    "Full-text search, Chinese first: traditional and simplified characters, Taiwan and mainland "
    "vocabulary, full-width and half-width forms all meet; synonyms (雷射/激光, UAV/无人机) are "
    "expanded; English words match with one typo from 5 letters and two from 9, and the last word "
    "as a prefix. An empty `q` browses (newest first). Filters combine with AND, repeated values of "
    "one filter with OR. Bad values answer 422 naming the parameter."
)

Q = Annotated[
    str | None,
    QueryParameter(name="q", description=f"Search text (at most {MAX_QUERY_CHARS} characters); empty: browse."),
]
Fields = Annotated[
    list[str] | None,
    QueryParameter(name="field", description="SEI 2018 field code, repeatable or comma-separated; 1 matches 1.x."),
]
TrlMin = Annotated[int | None, QueryParameter(name="trl_min", description="Lowest maturity (TRL 1-9).")]
TrlMax = Annotated[int | None, QueryParameter(name="trl_max", description="Highest maturity (TRL 1-9).")]
Modes = Annotated[
    list[str] | None,
    QueryParameter(
        name="trade_mode",
        description="Trade mode, repeatable: " + ", ".join(m.value for m in TradeMode),
        schema_extra={"items": {"type": "string", "enum": [m.value for m in TradeMode]}},
    ),
]
IpTypes = Annotated[
    list[str] | None,
    QueryParameter(
        name="ip_type",
        description="IP type, repeatable: " + ", ".join(t.value for t in IPAssetType),
        schema_extra={"items": {"type": "string", "enum": [t.value for t in IPAssetType]}},
    ),
]
Region = Annotated[
    str | None,
    QueryParameter(name="region", description="Region code prefix: province (44), prefecture (4403) or county."),
]
Facets = Annotated[
    list[str] | None,
    QueryParameter(
        name="facets", description="Facets to count over all matches, repeatable or comma-separated; all: every one."
    ),
]
Sort = Annotated[
    str | None,
    QueryParameter(
        name="sort",
        description="relevance (default; newest when q is empty), newest, price_asc, price_desc.",
        schema_extra={"enum": [s.value for s in SortOrder]},
    ),
]
Page = Annotated[int | None, QueryParameter(name="page", description="Page number, from 1.")]
Limit = Annotated[
    int | None,
    QueryParameter(
        name="limit",
        schema_extra={"minimum": 1, "maximum": MAX_PER_PAGE},  # checked by the service (422, as every search error)
        description=f"Hits per page, 1-{MAX_PER_PAGE} (default 20); page x limit at most {MAX_RESULT_WINDOW}.",
    ),
]
Cursor = Annotated[
    str | None, QueryParameter(name="cursor", max_length=512, description="next_cursor of the previous page.")
]
Highlight = Annotated[
    str | None, QueryParameter(name="highlight", description="false: no highlights (a little faster).")
]


class SearchController(Controller):
    """Search over published listings and open demands."""

    path = "/search"
    tags = ["search"]  # noqa: RUF012

    @get(
        "/listings",
        operation_id="searchListings",
        summary="Search published listings",
        description=_SEARCH_DESCRIPTION,
        opt=policy.PUBLIC.opt(read_replica=True),
        responses=errors_for(422),
    )
    async def search_listings(
        self,
        session: DbSession,
        q: Q = None,
        fields: Fields = None,
        trl_min: TrlMin = None,
        trl_max: TrlMax = None,
        trade_modes: Modes = None,
        ip_types: IpTypes = None,
        price_min: Annotated[int | None, QueryParameter(name="price_min", description="Price at least (fen).")] = None,
        price_max: Annotated[int | None, QueryParameter(name="price_max", description="Price at most (fen).")] = None,
        region: Region = None,
        holder: Annotated[str | None, QueryParameter(name="holder", description="Holder organisation id.")] = None,
        state_funded: Annotated[
            str | None, QueryParameter(name="state_funded", description="true / false: state-funded holders.")
        ] = None,
        auction: Annotated[
            str | None, QueryParameter(name="auction", description="true / false: sold by auction.")
        ] = None,
        facets: Facets = None,
        sort: Sort = None,
        page: Page = None,
        limit: Limit = None,
        cursor: Cursor = None,
        highlight: Highlight = None,
    ) -> Response[ListingSearchPage]:
        """Search listings."""
        params = SearchParams(
            q=q,
            fields=fields or (),
            trl_min=trl_min,
            trl_max=trl_max,
            trade_modes=trade_modes or (),
            ip_types=ip_types or (),
            price_min=price_min,
            price_max=price_max,
            region=region,
            holder=holder,
            state_funded=state_funded,
            auction=auction,
            facets=facets or (),
            sort=sort,
            page=page,
            limit=limit,
            cursor=cursor,
            highlight=highlight,
            names={"fields": "field", "trade_modes": "trade_mode", "ip_types": "ip_type"},
        )
        query = build_query(LISTINGS, params, facets_allowed=LISTING_FACETS)
        return views.page_response(*await SearchService(session).page(LISTINGS, query, views.listing_head))

    @get(
        "/demands",
        operation_id="searchDemands",
        summary="Search open demands",
        description=_SEARCH_DESCRIPTION + " The TRL filters apply to the minimum maturity a demand wants.",
        opt=policy.PUBLIC.opt(read_replica=True),
        responses=errors_for(422),
    )
    async def search_demands(
        self,
        session: DbSession,
        q: Q = None,
        fields: Fields = None,
        trl_min: TrlMin = None,
        trl_max: TrlMax = None,
        trade_modes: Modes = None,
        budget_min: Annotated[
            int | None, QueryParameter(name="budget_min", description="Budget reaching at least (fen).")
        ] = None,
        budget_max: Annotated[
            int | None, QueryParameter(name="budget_max", description="Budget starting at most (fen).")
        ] = None,
        region: Region = None,
        enterprise: Annotated[
            str | None, QueryParameter(name="enterprise", description="Id of the enterprise that posted it.")
        ] = None,
        facets: Facets = None,
        sort: Sort = None,
        page: Page = None,
        limit: Limit = None,
        cursor: Cursor = None,
        highlight: Highlight = None,
    ) -> Response[DemandSearchPage]:
        """Search demands."""
        params = SearchParams(
            q=q,
            fields=fields or (),
            trl_min=trl_min,
            trl_max=trl_max,
            trade_modes=trade_modes or (),
            price_min=budget_min,
            price_max=budget_max,
            region=region,
            holder=enterprise,
            facets=facets or (),
            sort=sort,
            page=page,
            limit=limit,
            cursor=cursor,
            highlight=highlight,
            names={
                "fields": "field",
                "trade_modes": "trade_mode",
                "price_min": "budget_min",
                "price_max": "budget_max",
                "holder": "enterprise",
            },
        )
        query = build_query(DEMANDS, params, facets_allowed=DEMAND_FACETS)
        return views.page_response(*await SearchService(session).page(DEMANDS, query, views.demand_head))

    @get(
        "/suggest",
        operation_id="suggestSearch",
        summary="As-you-type suggestions",
        description="Completions of the word being typed, then the titles that match best. Empty q: no suggestions.",
        opt=policy.PUBLIC.opt(read_replica=True),
        responses=errors_for(422),
    )
    async def suggest(
        self,
        session: DbSession,
        q: Annotated[str | None, QueryParameter(name="q", description="What has been typed so far.")] = None,
        index: Annotated[
            str | None,
            QueryParameter(
                name="in", description="listings (default) or demands.", schema_extra={"enum": [LISTINGS, DEMANDS]}
            ),
        ] = None,
        limit: Annotated[
            int | None,
            QueryParameter(name="limit", schema_extra={"minimum": 1, "maximum": 20}, description="1-20 (default 8)."),
        ] = None,
    ) -> SuggestionList:
        """Suggest."""
        target = LISTINGS if index is None else index
        if target not in (LISTINGS, DEMANDS):
            raise InvalidSearchParameter.of("in", f"{index!r} is not one of {LISTINGS}, {DEMANDS}")
        items = await SearchService(session).suggest(target, q or "", limit=8 if limit is None else limit)
        return views.suggestions(items)


CONTROLLERS = [SearchController]
