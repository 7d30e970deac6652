"""Outbox events as organisations see them: the audience-scoped feed and the shape events take outside."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.events.models import Job, JobStatus, OutboxEvent

# The feed and the webhook fan-out look events up by audience member.
AUDIENCE_INDEX = sa.Index(
    "ix_outbox_events_audience",
    OutboxEvent.__table__.c.audience,  # type: ignore[attr-defined]
    postgresql_using="gin",
)


def event_body(*, type: str, created_at: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    """An event as it leaves the service (webhook body, feed item): Standard Webhooks' {type, timestamp, data}."""
    return {"type": type, "timestamp": created_at.isoformat(), "data": payload}


def type_condition(patterns: Sequence[str]) -> sa.ColumnElement[bool]:
    """Match event types by exact names or trailing-wildcard patterns (`listing.*`, `*`)."""
    clauses: list[sa.ColumnElement[bool]] = []
    exact = [p for p in patterns if not p.endswith("*")]
    if exact:
        clauses.append(col(OutboxEvent.type).in_(exact))
    for pattern in patterns:
        if pattern == "*":
            return sa.true()
        if pattern.endswith("*"):
            prefix = pattern[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(col(OutboxEvent.type).like(prefix + "%", escape="\\"))
    return sa.or_(*clauses) if clauses else sa.false()


class EventFeedRepository:
    """Reads outbox events for the feed and for subscribers that need the audience; never writes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, event_id: uuid.UUID) -> OutboxEvent | None:
        """One event by id."""
        return await self.session.get(OutboxEvent, event_id)

    async def for_audience(
        self,
        organization_id: uuid.UUID,
        *,
        after_seq: int | None,
        types: Sequence[str] | None,
        created_before: datetime,
        limit: int,
    ) -> Sequence[OutboxEvent]:
        """Events whose audience includes the organisation, in seq order, limit+1 rows."""
        stmt = (
            select(OutboxEvent)
            .where(
                sa.type_coerce(col(OutboxEvent.audience), ARRAY(sa.Uuid())).contains([organization_id]),
                col(OutboxEvent.created_at) <= created_before,
            )
            .order_by(col(OutboxEvent.seq))
            .limit(limit + 1)
        )
        if after_seq is not None:
            stmt = stmt.where(col(OutboxEvent.seq) > after_seq)
        if types:
            stmt = stmt.where(type_condition(types))
        return (await self.session.execute(stmt)).scalars().all()

    async def lowest_seq_in_flight(self, kind: str) -> int | None:
        """The lowest seq of an event not yet through its first run of subscriber `kind` (None: all through).

        An event is in flight while it waits in the outbox or while its job of this kind waits for or runs
        its first attempt; a job that already failed once no longer holds others back.
        """
        undispatched = sa.select(sa.func.min(OutboxEvent.seq)).where(col(OutboxEvent.processed_at).is_(None))
        job_seq = sa.cast(col(Job.payload)["seq"].astext, sa.BigInteger)
        waiting = sa.select(sa.func.min(job_seq)).where(
            Job.status == JobStatus.pending,  # type: ignore[arg-type]
            Job.kind == kind,  # type: ignore[arg-type]
            Job.attempts == 0,  # type: ignore[arg-type]
        )
        running = sa.select(sa.func.min(job_seq)).where(
            Job.status == JobStatus.running,  # type: ignore[arg-type]
            Job.kind == kind,  # type: ignore[arg-type]
            Job.attempts <= 1,  # type: ignore[arg-type]
        )
        found = [(await self.session.execute(stmt)).scalar_one_or_none() for stmt in (undispatched, waiting, running)]
        present = [int(v) for v in found if v is not None]
        return min(present) if present else None
