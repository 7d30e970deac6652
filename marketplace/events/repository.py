"""Every query of the events domain (audit trail and outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.events.models import AuditEvent, Job, JobStatus, OutboxEvent
from marketplace.kit.ids import uuid7


class EventsRepository:
    """Appends audit records and outbox events; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, obj: AuditEvent | OutboxEvent) -> None:
        """Stage a row; it is written with the rest of the transaction."""
        self.session.add(obj)

    async def list_audit(
        self,
        *,
        organization_id: uuid.UUID | None,
        target_type: str | None,
        target_id: str | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[AuditEvent]:
        """Audit records newest first (organisation None: all of them), limit+1 rows."""
        stmt = select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(limit + 1)
        if organization_id is not None:
            stmt = stmt.where(AuditEvent.organization_id == organization_id)
        if target_type is not None:
            stmt = stmt.where(AuditEvent.target_type == target_type)
        if target_id is not None:
            stmt = stmt.where(AuditEvent.target_id == target_id)
        if after is not None:
            stmt = stmt.where(col(AuditEvent.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def list_outbox(
        self, *, organization_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[OutboxEvent]:
        """Outbox events oldest first, limit+1 rows."""
        stmt = select(OutboxEvent).order_by(col(OutboxEvent.id)).limit(limit + 1)
        if organization_id is not None:
            stmt = stmt.where(OutboxEvent.organization_id == organization_id)
        if after is not None:
            stmt = stmt.where(col(OutboxEvent.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def insert_job(
        self,
        *,
        kind: str,
        payload: dict[str, Any],
        run_at: datetime,
        dedupe_key: str | None,
        max_attempts: int,
    ) -> bool:
        """Insert a pending job; with a dedupe key, only if no job has that key. True when inserted."""
        stmt: Any = (
            insert(Job.__table__)  # type: ignore[attr-defined]
            .values(
                id=uuid7(),
                kind=kind,
                payload=payload,
                dedupe_key=dedupe_key,
                status=JobStatus.pending.value,
                run_at=run_at,
                attempts=0,
                max_attempts=max_attempts,
                created_at=sa.func.now(),
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(sa.literal_column("id"))
        )
        return (await self.session.execute(stmt)).first() is not None

    async def cancel_pending_job(self, dedupe_key: str) -> bool:
        """Delete a job that has not started yet."""
        result = await self.session.execute(
            sa.delete(Job).where(Job.dedupe_key == dedupe_key, Job.status == JobStatus.pending)  # type: ignore[arg-type]
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class JobsRepository:
    """Claims, completes and retries jobs; drains the outbox. Each call runs in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_outbox(self, *, limit: int) -> Sequence[OutboxEvent]:
        """Lock the oldest unprocessed events, skipping those another worker holds."""
        stmt = (
            select(OutboxEvent)
            .where(col(OutboxEvent.processed_at).is_(None))
            .order_by(col(OutboxEvent.seq))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def mark_processed(self, ids: Sequence[uuid.UUID], *, now: datetime) -> None:
        """Mark events as fanned out."""
        await self.session.execute(sa.update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(processed_at=now))

    async def claim_jobs(
        self, *, worker: str, now: datetime, lease: timedelta, limit: int, kinds: frozenset[str] | None = None
    ) -> Sequence[Job]:
        """Take due pending jobs, and running ones whose lease ran out (their worker died)."""
        query = (
            sa.select(Job.id)  # type: ignore[call-overload]
            .where(
                sa.or_(
                    sa.and_(col(Job.status) == JobStatus.pending, col(Job.run_at) <= now),
                    sa.and_(col(Job.status) == JobStatus.running, col(Job.locked_until) < now),
                )
            )
            .order_by(col(Job.run_at))
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if kinds is not None:
            query = query.where(col(Job.kind).in_(sorted(kinds)))
        due = query.scalar_subquery()
        stmt = (
            sa.update(Job)
            .where(col(Job.id).in_(due))
            .values(
                status=JobStatus.running,
                locked_by=worker,
                locked_until=now + lease,
                attempts=Job.attempts + 1,  # type: ignore[operator]
            )
            .returning(Job)
        )
        result = await self.session.execute(
            sa.select(Job).from_statement(stmt).execution_options(populate_existing=True)
        )
        return sorted(result.scalars().all(), key=lambda j: j.run_at)

    async def lock_own_job(self, job_id: uuid.UUID, *, worker: str) -> Job | None:
        """Re-read a claimed job inside its run's transaction; None if the lease was lost to another worker."""
        stmt = (
            select(Job)
            .where(Job.id == job_id, Job.status == JobStatus.running, Job.locked_by == worker)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def finish(self, job_id: uuid.UUID, *, now: datetime) -> None:
        """Mark a job done."""
        await self.session.execute(
            sa.update(Job)
            .where(Job.id == job_id)  # type: ignore[arg-type]
            .values(status=JobStatus.done, finished_at=now, locked_by=None, locked_until=None, last_error=None)
        )

    async def fail(
        self, job_id: uuid.UUID, *, worker: str, error: str, retry_at: datetime | None, now: datetime
    ) -> None:
        """Record a failure: back to pending at retry_at, or dead when retry_at is None."""
        values: dict[str, object] = {"last_error": error[:4000], "locked_by": None, "locked_until": None}
        if retry_at is None:
            values.update(status=JobStatus.dead, finished_at=now)
        else:
            values.update(status=JobStatus.pending, run_at=retry_at)
        await self.session.execute(
            sa.update(Job).where(Job.id == job_id, Job.locked_by == worker).values(**values)  # type: ignore[arg-type]
        )

    async def release(self, job_ids: Sequence[uuid.UUID], *, worker: str) -> None:
        """Give back claimed jobs that were not started (graceful shutdown), without counting the attempt."""
        if not job_ids:
            return
        await self.session.execute(
            sa.update(Job)
            .where(col(Job.id).in_(job_ids), col(Job.locked_by) == worker, col(Job.status) == JobStatus.running)
            .values(
                status=JobStatus.pending,
                locked_by=None,
                locked_until=None,
                attempts=sa.func.greatest(Job.attempts - 1, 0),  # type: ignore[operator]
            )
        )

    async def list_jobs(
        self, *, status: JobStatus | None, kind: str | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Job]:
        """Jobs for the platform's view (dead letters first of all), limit+1 rows."""
        stmt = select(Job).order_by(col(Job.id)).limit(limit + 1)
        if status is not None:
            stmt = stmt.where(Job.status == status)
        if kind is not None:
            stmt = stmt.where(Job.kind == kind)
        if after is not None:
            stmt = stmt.where(col(Job.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def retry_dead(self, job_id: uuid.UUID, *, now: datetime) -> Job | None:
        """Put a dead job back in the queue with a fresh attempt budget."""
        stmt = (
            sa.update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.dead)  # type: ignore[arg-type]
            .values(status=JobStatus.pending, run_at=now, attempts=0, finished_at=None)
            .returning(Job)
        )
        result = await self.session.execute(
            sa.select(Job).from_statement(stmt).execution_options(populate_existing=True)
        )
        return result.scalars().first()
