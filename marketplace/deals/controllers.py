"""HTTP routes of the deals domain: thin; every change is one transition fired through the engine."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

import marketplace.deals.catalog  # noqa: F401  (registers the event types)
from marketplace.deals import views
from marketplace.deals.models import AuctionState, NoticeStatus
from marketplace.deals.process import State
from marketplace.deals.schemas import (
    AuctionPage,
    AuctionRead,
    BidInput,
    BidPage,
    BidResult,
    ContractRead,
    ContractRegistration,
    DealPage,
    DealRead,
    DealSummary,
    MessageInput,
    MessagePage,
    MessageRead,
    NoticePage,
    NoticePublic,
    ObjectionInput,
    ObjectionRead,
    OfferInput,
    OfferPage,
    OfferRead,
    OpenAuctionInput,
    OpenDealInput,
    ProcessRead,
    RegisterInput,
    RegistrationPage,
    RegistrationRead,
)
from marketplace.deals.service import DealsService
from marketplace.kit.etag import IfMatchHeader, etag
from marketplace.kit.pagination import (
    CursorParam,
    LimitParam,
    decode_cursor,
    decode_id_cursor,
    encode_cursor,
    page_by_id,
)
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession, MaybeCaller
from marketplace.web.openapi import created_id_links, errors_for, json_or_csv, operation

DealId = FromPath[uuid.UUID]
AuctionId = FromPath[uuid.UUID]
NoticeId = FromPath[uuid.UUID]
_ETAG = [ResponseHeader(name="ETag", description='The deal\'s version, e.g. W/"3".', documentation_only=True)]
_TRANSITION_BODY = (
    "The body is the transition's own (see GET /api/v1/deal-process or docs/deals.md); every body may carry "
    "`version` instead of If-Match. Decisions need the version you read (stale: 409); bids, messages and "
    "objections do not."
)


def _seq_cursor(cursor: str | None) -> int | None:
    values = decode_cursor(cursor)
    return None if values is None else int(values[0])


async def _deal_response(
    service: DealsService, principal: Caller, deal_id: uuid.UUID, *, status_code: int = HTTP_200_OK
) -> Response[DealRead]:
    deal, standing = await service.visible_deal(principal, deal_id)
    bundle = await service.bundle(principal, deal, standing)
    return Response(
        content=views.deal_read(bundle, principal), status_code=status_code, headers={"ETag": etag(deal.version)}
    )


class DealController(Controller):
    """Deals: open, read, and fire transitions (offers and messages have their own routes too)."""

    path = "/deals"
    tags = ["deals"]  # noqa: RUF012

    @post(
        "/",
        operation_id="openDeal",
        operation_class=operation(
            links=created_id_links(
                "deal_id",
                "getDeal",
                "listDealOffers",
                "makeDealOffer",
                "listDealMessages",
                "postDealMessage",
                "getDealContract",
                etag=("makeDealOffer",),
            )
        ),
        summary="Open a deal on a published listing",
        description="A verified enterprise (or a broker naming its client, who then confirms the broker with "
        "appoint_broker) opens an inquiry with a message. One live deal per buyer and listing. Auction-priced "
        "listings trade through /auctions.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 409, 422),
        response_headers=_ETAG,
    )
    async def open_deal(
        self, session: DbSession, principal: Caller, data: JSONBody[OpenDealInput]
    ) -> Response[DealRead]:
        """Open."""
        service = DealsService(session)
        ctx = await service.open_deal(principal, data)
        assert ctx.deal is not None
        return await _deal_response(service, principal, ctx.deal.id, status_code=HTTP_201_CREATED)

    @get(
        "/",
        operation_id="listDeals",
        summary="List the caller's deals",
        description="Deals the caller's organisation is party to or brokers, newest first; the platform sees all.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
    )
    async def list_deals(
        self,
        session: DbSession,
        principal: Caller,
        deal_state: Annotated[
            State | None, QueryParameter(name="state", description="Only deals in this state.")
        ] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> DealPage:
        """Deals."""
        rows = await DealsService(session).list_deals(
            principal, states=[deal_state.value] if deal_state else None, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return DealPage(items=[DealSummary.model_validate(r) for r in items], next_cursor=next_cursor)

    @get(
        "/{deal_id:uuid}",
        operation_id="getDeal",
        summary="Get a deal",
        description="Its state, the transitions the caller may fire next (with the guards that block them), open "
        "deadlines, the open offer, contract, milestones, brokers and public notice. Other organisations get 404.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
        response_headers=_ETAG,
    )
    async def get_deal(self, session: DbSession, principal: Caller, deal_id: DealId) -> Response[DealRead]:
        """One deal."""
        return await _deal_response(DealsService(session), principal, deal_id)

    @post(
        "/{deal_id:uuid}/transitions/{transition:str}",
        operation_id="fireDealTransition",
        summary="Fire a transition of a deal",
        description=_TRANSITION_BODY,
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422, 428),
        response_headers=_ETAG,
    )
    async def fire(
        self,
        session: DbSession,
        principal: Caller,
        deal_id: DealId,
        transition: FromPath[str],
        data: JSONBody[dict[str, Any] | None] = None,
        if_match: IfMatchHeader = None,
    ) -> Response[DealRead]:
        """Fire."""
        service = DealsService(session)
        await service.fire_deal(principal, deal_id, transition, data, if_match=if_match)
        return await _deal_response(service, principal, deal_id)

    @get(
        "/{deal_id:uuid}/offers",
        operation_id="listDealOffers",
        summary="List a deal's offers",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401, 404),
    )
    async def list_offers(
        self, session: DbSession, principal: Caller, deal_id: DealId, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> OfferPage:
        """Offers, oldest first."""
        rows = await DealsService(session).list_offers(principal, deal_id, after=decode_id_cursor(cursor), limit=limit)
        items, next_cursor = page_by_id(rows, limit=limit)
        return OfferPage(items=[OfferRead.model_validate(r) for r in items], next_cursor=next_cursor)

    @post(
        "/{deal_id:uuid}/offers",
        operation_id="makeDealOffer",
        summary="Make an offer or counter-offer (make_offer)",
        description="Price in fen, one of the listing's trade modes, licence scope, territory and term (required "
        "for licences), a payment plan summing to the price, and an expiry. Needs If-Match or `version`.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422, 428),
        response_headers=_ETAG,
    )
    async def make_offer(
        self,
        session: DbSession,
        principal: Caller,
        deal_id: DealId,
        data: JSONBody[OfferInput],
        if_match: IfMatchHeader = None,
    ) -> Response[DealRead]:
        """Offer."""
        service = DealsService(session)
        await service.fire_deal(principal, deal_id, "make_offer", data, if_match=if_match)
        return await _deal_response(service, principal, deal_id, status_code=HTTP_201_CREATED)

    @get(
        "/{deal_id:uuid}/messages",
        operation_id="listDealMessages",
        summary="List a deal's messages",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401, 404),
    )
    async def list_messages(
        self, session: DbSession, principal: Caller, deal_id: DealId, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> MessagePage:
        """Messages, oldest first."""
        rows = await DealsService(session).list_messages(
            principal, deal_id, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return MessagePage(items=[MessageRead.model_validate(r) for r in items], next_cursor=next_cursor)

    @post(
        "/{deal_id:uuid}/messages",
        operation_id="postDealMessage",
        summary="Send a message on a deal (message)",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def post_message(
        self, session: DbSession, principal: Caller, deal_id: DealId, data: JSONBody[MessageInput]
    ) -> MessageRead:
        """Message."""
        ctx = await DealsService(session).fire_deal(principal, deal_id, "message", data)
        return MessageRead.model_validate(ctx.result)

    @get(
        "/{deal_id:uuid}/contract",
        operation_id="getDealContract",
        summary="Get a deal's contract record",
        description="The agreed terms both parties confirm; 404 before the deal reaches contracting.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 404),
    )
    async def get_contract(self, session: DbSession, principal: Caller, deal_id: DealId) -> ContractRead:
        """Contract."""
        _, contract = await DealsService(session).contract(principal, deal_id)
        return views.contract_read(contract)

    @get(
        "/{deal_id:uuid}/contract/registration",
        operation_id="exportDealContractRegistration",
        summary="Export a deal's technology-contract registration data",
        description="What 技术合同认定登记 needs: contract type, parties with credit codes, 成交额 (amount), "
        "技术交易额 (technology part), term. `format=json` (default) or `csv` (UTF-8 with BOM).",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401, 404),
        operation_class=json_or_csv(),
    )
    async def export_registration(
        self,
        session: DbSession,
        principal: Caller,
        deal_id: DealId,
        export_format: Annotated[
            str, QueryParameter(name="format", pattern=r"^(json|csv)$", description="json or csv")
        ] = "json",
    ) -> Response[Any]:
        """Registration data."""
        data = await DealsService(session).registration_data(principal, deal_id)
        if export_format == "csv":
            return Response(
                content=views.registration_csv(data),
                media_type="text/csv",  # Litestar adds charset=utf-8 to text types
                headers={"Content-Disposition": f'attachment; filename="contract-registration-{deal_id}.csv"'},
            )
        return Response(content=ContractRegistration.model_validate(data))


class AuctionController(Controller):
    """Electronic auctions (电子竞价): open, register, bid, and the public bid history."""

    path = "/auctions"
    tags = ["auctions"]  # noqa: RUF012

    @post(
        "/",
        operation_id="openAuction",
        operation_class=operation(
            links=created_id_links(
                "auction_id", "getAuction", "listAuctionBids", "listAuctionRegistrations", "registerForAuction"
            )
        ),
        summary="Open an auction on an auction-priced listing",
        description="The listing's holder or the platform. Start price, increment, hidden reserve and deposit "
        "come from the listing's pricing; the close is a durable timer, moved by late bids.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def open_auction(
        self, session: DbSession, principal: Caller, data: JSONBody[OpenAuctionInput]
    ) -> AuctionRead:
        """Open."""
        service = DealsService(session)
        ctx = await service.open_auction(principal, data)
        assert ctx.auction is not None
        return await service.auction_view(principal, ctx.auction)

    @get(
        "/",
        operation_id="listAuctions",
        summary="List auctions",
        description="Anyone; newest first.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400),
    )
    async def list_auctions(
        self,
        session: DbSession,
        maybe_principal: MaybeCaller,
        status: Annotated[AuctionState | None, QueryParameter(name="status")] = None,
        listing_id: Annotated[uuid.UUID | None, QueryParameter(name="listing_id")] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> AuctionPage:
        """Auctions."""
        service = DealsService(session)
        rows = await service.repo.list_auctions(
            status=status, listing_id=listing_id, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return AuctionPage(
            items=[await service.auction_view(maybe_principal, a, with_registration=False) for a in items],
            next_cursor=next_cursor,
        )

    @get(
        "/{auction_id:uuid}",
        operation_id="getAuction",
        summary="Get an auction",
        description="Anyone. The reserve is shown to the seller and the platform only; signed-in bidders see "
        "their registration.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
    )
    async def get_auction(self, session: DbSession, maybe_principal: MaybeCaller, auction_id: AuctionId) -> AuctionRead:
        """One auction."""
        service = DealsService(session)
        return await service.auction_view(maybe_principal, await service.get_auction(auction_id))

    @get(
        "/{auction_id:uuid}/bids",
        operation_id="listAuctionBids",
        summary="List an auction's bids",
        description="Public, by bidder number; the platform also sees each bidder's organisation.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400, 404),
    )
    async def list_bids(
        self,
        session: DbSession,
        maybe_principal: MaybeCaller,
        auction_id: AuctionId,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> BidPage:
        """Bids in sequence order."""
        service = DealsService(session)
        auction = await service.get_auction(auction_id)
        rows = await service.repo.list_bids(auction.id, after=_seq_cursor(cursor), limit=limit)
        items = list(rows[:limit])
        next_cursor = encode_cursor([items[-1].seq]) if len(rows) > limit and items else None
        orgs: dict[uuid.UUID, uuid.UUID] = {}
        if maybe_principal is not None and maybe_principal.is_platform:
            orgs = await service.repo.bidder_organizations(list({b.registration_id for b in items}))
        return BidPage(items=[views.bid_read(b, orgs.get(b.registration_id)) for b in items], next_cursor=next_cursor)

    @post(
        "/{auction_id:uuid}/bids",
        operation_id="placeBid",
        summary="Bid (bid)",
        description="Registered bidders with a received deposit, inside the window. The first bid is at least the "
        "start price, each later one the high bid plus a whole number of increments; bids bind. A bid in the "
        "last minutes moves the close. Too low: 409 with next_minimum_bid_fen.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def place_bid(
        self, session: DbSession, principal: Caller, auction_id: AuctionId, data: JSONBody[BidInput]
    ) -> BidResult:
        """Bid."""
        ctx = await DealsService(session).fire_auction(principal, auction_id, "bid", data)
        auction = ctx.auction
        assert auction is not None and auction.high_bid_fen is not None
        return BidResult(
            bid=views.bid_read(ctx.result),
            high_bid_fen=auction.high_bid_fen,
            ends_at=auction.ends_at,
            next_minimum_bid_fen=auction.high_bid_fen + auction.increment_fen,
        )

    @get(
        "/{auction_id:uuid}/registrations",
        operation_id="listAuctionRegistrations",
        summary="List an auction's registrations",
        description="The platform sees every bidder; the seller sees bidder numbers and deposit states; a bidder "
        "sees its own registration.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401, 404),
    )
    async def list_registrations(
        self,
        session: DbSession,
        principal: Caller,
        auction_id: AuctionId,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> RegistrationPage:
        """Registrations by bidder number."""
        service = DealsService(session)
        rows, counts, shown = await service.registrations_for(
            principal, auction_id, after=_seq_cursor(cursor), limit=limit
        )
        items = list(rows[:limit])
        next_cursor = encode_cursor([items[-1].bidder_number]) if len(rows) > limit and items else None
        return RegistrationPage(
            items=[
                views.registration_read(r, bid_count=counts.get(r.id, 0), show_organization=shown(r)) for r in items
            ],
            next_cursor=next_cursor,
        )

    @post(
        "/{auction_id:uuid}/registrations",
        operation_id="registerForAuction",
        summary="Register to bid (register)",
        description="Verified enterprises. The deposit (保证金) is requested through the deposit gateway; until "
        "payments lands, the platform marks it received (confirm_deposit). With no deposit, bidding opens at once.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def register(
        self,
        session: DbSession,
        principal: Caller,
        auction_id: AuctionId,
        data: JSONBody[RegisterInput | None] = None,
    ) -> RegistrationRead:
        """Register."""
        ctx = await DealsService(session).fire_auction(principal, auction_id, "register", data)
        return views.registration_read(ctx.result, bid_count=0, show_organization=True)

    @post(
        "/{auction_id:uuid}/transitions/{transition:str}",
        operation_id="fireAuctionTransition",
        summary="Fire a transition of an auction",
        description="confirm_deposit (platform, `registration_id`), withdraw_registration (a bidder that has not "
        "bid), cancel_auction (the seller before the first bid, or the platform; needs If-Match or `version` of the "
        "auction). " + _TRANSITION_BODY,
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422, 428),
    )
    async def fire(
        self,
        session: DbSession,
        principal: Caller,
        auction_id: AuctionId,
        transition: FromPath[str],
        data: JSONBody[dict[str, Any] | None] = None,
        if_match: IfMatchHeader = None,
    ) -> AuctionRead:
        """Fire."""
        service = DealsService(session)
        ctx = await service.fire_auction(principal, auction_id, transition, data, if_match=if_match)
        assert ctx.auction is not None
        return await service.auction_view(principal, ctx.auction)


class PublicNoticeController(Controller):
    """Public notices (公示) of negotiated deals with state-funded holders, and objections to them."""

    path = "/public-notices"
    tags = ["deals"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listPublicNotices",
        summary="List public notices",
        description="Anyone, signed in or not: the result's name, the parties' names and the price. Running "
        "notices by default.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400),
    )
    async def list_notices(
        self,
        session: DbSession,
        status: Annotated[NoticeStatus | None, QueryParameter(name="status")] = NoticeStatus.running,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> NoticePage:
        """Notices, newest first."""
        rows, counts = await DealsService(session).list_notices(
            status=status, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return NoticePage(items=[views.notice_public(n, counts[n.id]) for n in items], next_cursor=next_cursor)

    @get(
        "/{notice_id:uuid}",
        operation_id="getPublicNotice",
        summary="Get a public notice",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
    )
    async def get_notice(self, session: DbSession, notice_id: NoticeId) -> NoticePublic:
        """One notice."""
        notice, counts = await DealsService(session).get_notice(notice_id)
        return views.notice_public(notice, counts)

    @post(
        "/{notice_id:uuid}/objections",
        operation_id="fileObjection",
        summary="Object to a deal under public notice (file_objection)",
        description="Any verified organisation but the parties, while the notice runs; the platform decides.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def file_objection(
        self, session: DbSession, principal: Caller, notice_id: NoticeId, data: JSONBody[ObjectionInput]
    ) -> ObjectionRead:
        """Object."""
        ctx = await DealsService(session).file_objection(principal, notice_id, data)
        assert ctx.objection is not None
        return views.objection_read(ctx.objection, show_objector=True)


class DealProcessController(Controller):
    """The deal process as data."""

    path = "/deal-process"
    tags = ["deals"]  # noqa: RUF012

    @get(
        "/",
        operation_id="getDealProcess",
        summary="Get the deal process (states, transitions, guards, deadlines)",
        description="The table the engine runs on; docs/deals.md is generated from it.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(),
    )
    async def get_process(self) -> ProcessRead:
        """The process."""
        return views.process_read()


CONTROLLERS = [DealController, AuctionController, PublicNoticeController, DealProcessController]
