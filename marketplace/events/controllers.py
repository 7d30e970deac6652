"""HTTP routes to read the audit trail and the recorded events."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from marketplace.events.repository import EventsRepository
from marketplace.events.schemas import AuditEventPage, AuditEventRead, OutboxEventPage, OutboxEventRead
from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, page_by_id
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import errors_for


class AuditController(Controller):
    """The append-only audit trail."""

    path = "/audit-events"
    tags = ["events"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listAuditEvents",
        summary="List audit records",
        description="An organisation sees records about its own objects; the platform sees all, newest first.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(400, 401),
    )
    async def list_audit(
        self,
        session: DbSession,
        principal: Caller,
        target_type: Annotated[str | None, QueryParameter(name="target_type", max_length=40)] = None,
        target_id: Annotated[str | None, QueryParameter(name="target_id", max_length=64)] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> AuditEventPage:
        """Audit records visible to the caller."""
        rows = await EventsRepository(session).list_audit(
            organization_id=None if principal.is_platform else principal.organization_id,
            target_type=target_type,
            target_id=target_id,
            after=decode_id_cursor(cursor),
            limit=limit,
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return AuditEventPage(items=[AuditEventRead.model_validate(r) for r in items], next_cursor=next_cursor)


class OutboxController(Controller):
    """Recorded domain events (delivered by the worker)."""

    path = "/platform/events"
    tags = ["platform"]  # noqa: RUF012

    @get(
        "/",
        operation_id="platformListEvents",
        summary="List recorded domain events (platform)",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(400, 401, 403),
    )
    async def list_events(
        self, session: DbSession, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> OutboxEventPage:
        """Events oldest first."""
        rows = await EventsRepository(session).list_outbox(
            organization_id=None, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return OutboxEventPage(items=[OutboxEventRead.model_validate(r) for r in items], next_cursor=next_cursor)


CONTROLLERS = [AuditController, OutboxController]
