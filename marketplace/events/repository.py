"""Every query of the events domain (audit trail and outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.events.models import AuditEvent, OutboxEvent


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
