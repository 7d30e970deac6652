"""HTTP routes of the demands domain: thin, one service call each."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import Controller, Response, get, patch, post
from litestar.datastructures import ResponseHeader
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from marketplace.demands import errors
from marketplace.demands.models import Demand, DemandStatus
from marketplace.demands.repository import DemandFilters
from marketplace.demands.schemas import DemandCreate, DemandPage, DemandRead, DemandUpdate
from marketplace.demands.service import DemandsService, effective_status
from marketplace.kit.errors import FieldProblem
from marketplace.kit.etag import IfMatchHeader, etag
from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, page_by_id
from marketplace.listings.models import TradeMode
from marketplace.reference.fields import children, get_field
from marketplace.reference.regions import region_name
from marketplace.reference.trl import trl_stage
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession, MaybeCaller
from marketplace.web.openapi import created_id_links, errors_for, operation

_ETAG_HEADER = [ResponseHeader(name="ETag", description='The demand\'s version, e.g. W/"3".', documentation_only=True)]
DemandId = FromPath[uuid.UUID]


def _read(demand: Demand, today: date) -> DemandRead:
    return DemandRead(
        id=demand.id,
        organization_id=demand.organization_id,
        status=effective_status(demand, today),
        title=demand.title,
        description=demand.description,
        field_codes=list(demand.field_codes),
        budget_min_fen=demand.budget_min_fen,
        budget_max_fen=demand.budget_max_fen,
        trade_modes=list(demand.trade_modes),  # type: ignore[arg-type]
        min_trl=demand.min_trl,
        min_trl_stage_zh=trl_stage(demand.min_trl)[0] if demand.min_trl else None,
        region_code=demand.region_code,
        region_name=region_name(demand.region_code) if demand.region_code else None,
        deadline=demand.deadline,
        wants_broker_contact=demand.wants_broker_contact,
        version=demand.version,
        created_at=demand.created_at,
        updated_at=demand.updated_at,
        closed_at=demand.closed_at,
        fulfilled_at=demand.fulfilled_at,
        expired_at=demand.expired_at,
    )


def _etagged(demand: Demand, *, status_code: int = HTTP_200_OK) -> Response[DemandRead]:
    return Response(
        content=_read(demand, DemandsService.today()), status_code=status_code, headers={"ETag": etag(demand.version)}
    )


def _field_filter(code: str | None) -> list[str] | None:
    if code is None:
        return None
    field = get_field(code)
    if field is None:
        detail = f"unknown field code {code!r}"
        raise errors.InvalidFilter(
            detail, errors=[FieldProblem(detail=detail, parameter="field_code", location="query")]
        )
    return [field.code, *(c.code for c in children(field.code))] if field.is_top_level else [field.code]


class DemandController(Controller):
    """Technology demands (技术需求): post, browse, read, change, close, fulfil."""

    path = "/demands"
    tags = ["demands"]  # noqa: RUF012

    @post(
        "/",
        operation_id="createDemand",
        operation_class=operation(
            links=created_id_links(
                "demand_id",
                "getDemand",
                "updateDemand",
                "closeDemand",
                "fulfilDemand",
                etag=("updateDemand", "closeDemand", "fulfilDemand"),
            )
        ),
        summary="Post a demand",
        description="Verified enterprises only; the demand is open at once.",
        status_code=HTTP_201_CREATED,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 422),
        response_headers=_ETAG_HEADER,
    )
    async def create(self, session: DbSession, principal: Caller, data: JSONBody[DemandCreate]) -> Response[DemandRead]:
        """Create."""
        return _etagged(await DemandsService(session).create(principal, data), status_code=HTTP_201_CREATED)

    @get(
        "/",
        operation_id="browseDemands",
        summary="Browse open demands",
        description="Anyone, signed in or not. Demands past their deadline are not listed.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400),
    )
    async def browse(
        self,
        session: DbSession,
        field_code: Annotated[str | None, QueryParameter(max_length=10)] = None,
        trade_mode: Annotated[TradeMode | None, QueryParameter()] = None,
        region: Annotated[
            str | None, QueryParameter(pattern=r"^[0-9]{2,6}$", description="Region code prefix.")
        ] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> DemandPage:
        """Open demands, newest first."""
        filters = DemandFilters(
            field_codes=_field_filter(field_code),
            trade_mode=trade_mode.value if trade_mode else None,
            region_prefix=region,
        )
        rows = await DemandsService(session).browse(filters, after=decode_id_cursor(cursor), limit=limit)
        items, next_cursor = page_by_id(rows, limit=limit)
        today = DemandsService.today()
        return DemandPage(items=[_read(d, today) for d in items], next_cursor=next_cursor)

    @get(
        "/{demand_id:uuid}",
        operation_id="getDemand",
        summary="Get a demand",
        description="Open demands are public; others only for their organisation and the platform.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(404),
        response_headers=_ETAG_HEADER,
    )
    async def get_one(
        self, session: DbSession, maybe_principal: MaybeCaller, demand_id: DemandId
    ) -> Response[DemandRead]:
        """One demand."""
        return _etagged(await DemandsService(session).get(maybe_principal, demand_id))

    @patch(
        "/{demand_id:uuid}",
        operation_id="updateDemand",
        summary="Change an open demand",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 422, 428),
        response_headers=_ETAG_HEADER,
    )
    async def update(
        self,
        session: DbSession,
        principal: Caller,
        demand_id: DemandId,
        data: JSONBody[DemandUpdate],
        if_match: IfMatchHeader = None,
    ) -> Response[DemandRead]:
        """Change."""
        return _etagged(await DemandsService(session).update(principal, demand_id, data, if_match=if_match))

    @post(
        "/{demand_id:uuid}/close",
        operation_id="closeDemand",
        summary="Close an open demand",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def close(
        self, session: DbSession, principal: Caller, demand_id: DemandId, if_match: IfMatchHeader = None
    ) -> Response[DemandRead]:
        """Close."""
        return _etagged(await DemandsService(session).close(principal, demand_id, if_match=if_match))

    @post(
        "/{demand_id:uuid}/fulfil",
        operation_id="fulfilDemand",
        summary="Mark an open demand fulfilled",
        status_code=HTTP_200_OK,
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404, 409, 412, 428),
        response_headers=_ETAG_HEADER,
    )
    async def fulfil(
        self, session: DbSession, principal: Caller, demand_id: DemandId, if_match: IfMatchHeader = None
    ) -> Response[DemandRead]:
        """Fulfil."""
        return _etagged(await DemandsService(session).fulfil(principal, demand_id, if_match=if_match))


class MyDemandsController(Controller):
    """The caller's organisation's demands in any state."""

    path = "/organizations/me/demands"
    tags = ["demands"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listMyDemands",
        summary="List the caller's organisation's demands",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
    )
    async def list_mine(
        self,
        session: DbSession,
        principal: Caller,
        status: Annotated[
            DemandStatus | None, QueryParameter(description="Effective status (expired by deadline).")
        ] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> DemandPage:
        """Own demands, newest first."""
        rows = await DemandsService(session).list_own(
            principal, status=status, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        today = DemandsService.today()
        return DemandPage(items=[_read(d, today) for d in items], next_cursor=next_cursor)


CONTROLLERS = [DemandController, MyDemandsController]
