"""HTTP routes to read the audit trail and the recorded events."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, QueryParameter

from marketplace.events.models import JobStatus
from marketplace.events.repository import EventsRepository, JobsRepository
from marketplace.events.schemas import (
    AuditEventPage,
    AuditEventRead,
    JobPage,
    JobRead,
    OutboxEventPage,
    OutboxEventRead,
)
from marketplace.events.service import EventRecorder
from marketplace.kit.errors import NotFound
from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, page_by_id
from marketplace.kit.time import utcnow
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


class JobController(Controller):
    """Durable jobs and dead letters."""

    path = "/platform/jobs"
    tags = ["platform"]  # noqa: RUF012

    @get(
        "/",
        operation_id="platformListJobs",
        summary="List durable jobs, e.g. dead letters (platform)",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(400, 401, 403),
    )
    async def list_jobs(
        self,
        session: DbSession,
        status: Annotated[JobStatus | None, QueryParameter(name="status")] = None,
        kind: Annotated[str | None, QueryParameter(name="kind", max_length=80)] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> JobPage:
        """Jobs in id order."""
        rows = await JobsRepository(session).list_jobs(
            status=status, kind=kind, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return JobPage(items=[JobRead.model_validate(r) for r in items], next_cursor=next_cursor)

    @post(
        "/{job_id:uuid}/retry",
        operation_id="platformRetryJob",
        summary="Put a dead job back in the queue (platform)",
        status_code=200,
        opt=policy.PLATFORM_ADMIN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def retry(self, session: DbSession, principal: Caller, job_id: FromPath[uuid.UUID]) -> JobRead:
        """Retry a dead letter."""
        job = await JobsRepository(session).retry_dead(job_id, now=utcnow())
        if job is None:
            raise NotFound("no dead job with this id")
        EventRecorder(session).audit(
            actor=principal, organization_id=None, action="job.retried", target_type="job", target_id=job.id
        )
        return JobRead.model_validate(job)


CONTROLLERS = [AuditController, OutboxController, JobController]
