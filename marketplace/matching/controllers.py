"""HTTP routes of matching: recommendations both ways, feedback, interest, saved searches, brokers' pipeline."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

import marketplace.matching.catalog  # noqa: F401  (registers the event types)
from marketplace.deals import views as deal_views
from marketplace.deals.schemas import DealRead
from marketplace.deals.service import DealsService
from marketplace.kit.etag import etag
from marketplace.matching import views
from marketplace.matching.schemas import (
    BrokerClientCreate,
    BrokerClientList,
    BrokerClientRead,
    DemandMatchPage,
    FeedbackInput,
    FeedbackRead,
    InterestList,
    InterestRead,
    IntroductionInput,
    ListingMatchPage,
    Pipeline,
    PipelineItem,
    SavedSearchCreate,
    SavedSearchList,
    SavedSearchRead,
    SavedSearchUpdate,
)
from marketplace.matching.service import MatchingService, parse_relax
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import errors_for

Relax = Annotated[
    list[str] | None,
    QueryParameter(
        name="relax",
        description="Hard constraints to relax, repeatable or comma-separated: budget, trl, trade_mode, all. "
        "Results breaking a relaxed constraint are included and name it in `violations`.",
    ),
]
MatchLimit = Annotated[int, QueryParameter(name="limit", ge=1, le=50, description="How many results, 1-50.")]
_CONSTRAINTS = (
    "Hard constraints exclude, unless relaxed: a fixed price, range minimum or auction start price above the "
    "budget ceiling; a maturity below the minimum wanted; none of the wanted trade modes offered."
)


class MatchController(Controller):
    """Recommendations between demands and listings, and feedback on them."""

    tags = ["matching"]  # noqa: RUF012

    @get(
        "/demands/{demand_id:uuid}/matches",
        operation_id="matchListingsForDemand",
        summary="Listings recommended for a demand",
        description="For the demand's enterprise, broker agencies acting for it, and the platform (others: 404). "
        "Published listings ranked by text relevance and structured fit, each with its score, reasons and a "
        "one-line Chinese explanation; listings the enterprise dismissed are left out. " + _CONSTRAINTS,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404, 422),
    )
    async def for_demand(
        self,
        session: DbSession,
        principal: Caller,
        demand_id: FromPath[uuid.UUID],
        relax: Relax = None,
        limit: MatchLimit = 20,
    ) -> ListingMatchPage:
        """Matches of a demand."""
        relaxed = parse_relax(relax or [])
        demand, matches, feedback = await MatchingService(session).listings_for_demand(
            principal, demand_id, relax=relaxed, limit=limit
        )
        return ListingMatchPage(
            demand_id=demand.id,
            relaxed=sorted(relaxed),
            items=[views.listing_match(m, feedback.get(m.listing.id)) for m in matches],
        )

    @get(
        "/listings/{listing_id:uuid}/matching-demands",
        operation_id="matchDemandsForListing",
        summary="Open demands a listing fits",
        description="For the listing's holder and the platform (others: 404). Shows what each demand publishes, "
        "never the enterprise's private data; and how many organisations keep a saved search the listing was "
        "announced to (a count: saved searches are private). " + _CONSTRAINTS,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404, 422),
    )
    async def for_listing(
        self,
        session: DbSession,
        principal: Caller,
        listing_id: FromPath[uuid.UUID],
        relax: Relax = None,
        limit: MatchLimit = 20,
    ) -> DemandMatchPage:
        """Demands for a listing."""
        relaxed = parse_relax(relax or [])
        service = MatchingService(session)
        listing, matches, searching = await service.demands_for_listing(
            principal, listing_id, relax=relaxed, limit=limit
        )
        today = service.today()
        return DemandMatchPage(
            listing_id=listing.id,
            relaxed=sorted(relaxed),
            items=[views.demand_match(m, today) for m in matches],
            saved_search_organizations=searching,
        )

    @post(
        "/demands/{demand_id:uuid}/matches/{listing_id:uuid}/feedback",
        operation_id="giveMatchFeedback",
        summary="Mark a recommended listing interested or not relevant",
        description="The demand's enterprise only (others: 404). not_relevant (with an optional reason: "
        "too_early, too_expensive, wrong_field, already_have, other) hides the listing from the demand's matches; "
        "interested is shown to the listing's holder and to broker agencies acting for the enterprise "
        "(event match.interested). A later verdict replaces the earlier one.",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 422),
    )
    async def feedback(
        self,
        session: DbSession,
        principal: Caller,
        demand_id: FromPath[uuid.UUID],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[FeedbackInput],
    ) -> FeedbackRead:
        """Feedback."""
        row = await MatchingService(session).give_feedback(principal, demand_id, listing_id, data)
        return views.feedback_read(row)

    @get(
        "/listings/{listing_id:uuid}/interest",
        operation_id="listListingInterest",
        summary="Enterprises interested in a listing",
        description="For the listing's holder and the platform (others: 404): demands whose enterprise marked "
        "the listing interested, with what those demands publish.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def interest(self, session: DbSession, principal: Caller, listing_id: FromPath[uuid.UUID]) -> InterestList:
        """Interest."""
        service = MatchingService(session)
        rows = await service.interest_in_listing(principal, listing_id)
        today = service.today()
        return InterestList(
            items=[InterestRead(demand=views.demand_summary(d, name, today), since=f.updated_at) for f, d, name in rows]
        )


class SavedSearchController(Controller):
    """Saved searches of enterprises and broker agencies; new listings that fit raise match.found."""

    path = "/saved-searches"
    tags = ["matching"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listSavedSearches",
        summary="The organisation's saved searches",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def list_searches(self, session: DbSession, principal: Caller) -> SavedSearchList:
        """List."""
        rows = await MatchingService(session).saved_searches(principal)
        return SavedSearchList(items=[views.saved_search_read(r) for r in rows])

    @post(
        "/",
        operation_id="createSavedSearch",
        summary="Save a search",
        description="Enterprises and broker agencies. Text and filters as GET /search/listings takes them; every "
        "word of the text must be present in a listing (synonyms count). At most 100 per organisation.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def create(self, session: DbSession, principal: Caller, data: JSONBody[SavedSearchCreate]) -> SavedSearchRead:
        """Create."""
        return views.saved_search_read(await MatchingService(session).create_saved_search(principal, data))

    @get(
        "/{saved_search_id:uuid}",
        operation_id="getSavedSearch",
        summary="A saved search",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def get_search(
        self, session: DbSession, principal: Caller, saved_search_id: FromPath[uuid.UUID]
    ) -> SavedSearchRead:
        """Read."""
        return views.saved_search_read(await MatchingService(session).saved_search(principal, saved_search_id))

    @patch(
        "/{saved_search_id:uuid}",
        operation_id="updateSavedSearch",
        summary="Change a saved search",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 422),
    )
    async def update(
        self,
        session: DbSession,
        principal: Caller,
        saved_search_id: FromPath[uuid.UUID],
        data: JSONBody[SavedSearchUpdate],
    ) -> SavedSearchRead:
        """Update."""
        row = await MatchingService(session).update_saved_search(principal, saved_search_id, data)
        return views.saved_search_read(row)

    @delete(
        "/{saved_search_id:uuid}",
        operation_id="deleteSavedSearch",
        summary="Delete a saved search",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def delete_search(
        self, session: DbSession, principal: Caller, saved_search_id: FromPath[uuid.UUID]
    ) -> SavedSearchRead:
        """Delete."""
        service = MatchingService(session)
        read = views.saved_search_read(await service.saved_search(principal, saved_search_id))
        await service.delete_saved_search(principal, saved_search_id)
        return read


class BrokerController(Controller):
    """Broker agencies acting for enterprises: who acts for whom, the pipeline of matches, introductions."""

    tags = ["matching"]  # noqa: RUF012

    @get(
        "/broker-clients",
        operation_id="listBrokerClients",
        summary="Broker agencies acting for the caller, or enterprises the caller acts for",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def list_clients(self, session: DbSession, principal: Caller) -> BrokerClientList:
        """List."""
        rows = await MatchingService(session).broker_clients(principal)
        return BrokerClientList(items=[views.broker_client_read(*r) for r in rows])

    @post(
        "/broker-clients",
        operation_id="nameBrokerAgency",
        summary="Name a broker agency to act for the enterprise",
        description="Enterprises only. The agency's brokers then see the enterprise's demands' matches and "
        "interest, and may make introductions. Agencies appointed on a deal's buyer side act for the buyer too.",
        status_code=HTTP_201_CREATED,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def name_broker(
        self, session: DbSession, principal: Caller, data: JSONBody[BrokerClientCreate]
    ) -> BrokerClientRead:
        """Create."""
        service = MatchingService(session)
        row = await service.name_broker(principal, data.agency_organization_id)
        return views.broker_client_read(*await service.broker_client(principal, row.id))

    @delete(
        "/broker-clients/{broker_client_id:uuid}",
        operation_id="endBrokerClient",
        summary="End a broker agency's mandate (either side)",
        status_code=HTTP_200_OK,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def end_client(
        self, session: DbSession, principal: Caller, broker_client_id: FromPath[uuid.UUID]
    ) -> BrokerClientRead:
        """Delete."""
        service = MatchingService(session)
        read = views.broker_client_read(*await service.broker_client(principal, broker_client_id))
        await service.end_broker_client(principal, broker_client_id)
        return read

    @get(
        "/broker/pipeline",
        operation_id="getBrokerPipeline",
        summary="Top matches of the open demands of the enterprises the agency acts for",
        description="For broker agencies (others get an empty list). For each client's open demand (newest first, at most 30): its top "
        "matches (hard constraints enforced, dismissed listings left out) and the listings it marked interested.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def pipeline(
        self,
        session: DbSession,
        principal: Caller,
        per_demand: Annotated[int, QueryParameter(name="per_demand", ge=1, le=10)] = 5,
    ) -> Pipeline:
        """Pipeline."""
        service = MatchingService(session)
        rows = await service.pipeline(principal, per_demand=per_demand)
        today = service.today()
        return Pipeline(
            items=[
                PipelineItem(
                    enterprise_organization_id=demand.organization_id,
                    demand=views.demand_summary(demand, None, today),
                    matches=[views.listing_match(m, feedback.get(m.listing.id)) for m in matches],
                    interested_listing_ids=sorted(f.listing_id for f in feedback.values() if f.verdict == "interested"),
                )
                for demand, matches, feedback in rows
            ]
        )

    @post(
        "/broker/introductions",
        operation_id="introduceMatch",
        summary="Turn a match into an introduction (a deal in its first state)",
        description="A broker of an agency acting for the demand's enterprise opens an inquiry deal on the "
        "listing for that enterprise, through the deals process (the enterprise confirms the broker with "
        "appoint_broker). Exactly one of commission_bps, commission_fixed_fen.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def introduce(
        self, session: DbSession, principal: Caller, data: JSONBody[IntroductionInput]
    ) -> Response[DealRead]:
        """Introduce."""
        demand = await MatchingService(session).introduction_target(principal, data.demand_id, data.listing_id)
        deals = DealsService(session)
        body = {
            "listing_id": data.listing_id,
            "message": data.message,
            "buyer_organization_id": demand.organization_id,
            "commission_bps": data.commission_bps,
            "commission_fixed_fen": data.commission_fixed_fen,
        }
        ctx = await deals.open_deal(principal, body)
        assert ctx.deal is not None
        deal, standing = await deals.visible_deal(principal, ctx.deal.id)
        bundle = await deals.bundle(principal, deal, standing)
        return Response(
            content=deal_views.deal_read(bundle, principal),
            status_code=HTTP_201_CREATED,
            headers={"ETag": etag(deal.version)},
        )


CONTROLLERS = [MatchController, SavedSearchController, BrokerController]
