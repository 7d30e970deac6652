"""Every query of the demands domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.demands.models import Demand, DemandStatus


@dataclass(frozen=True, slots=True)
class DemandFilters:
    """What the public list may filter on."""

    field_codes: Collection[str] | None = None
    trade_mode: str | None = None
    region_prefix: str | None = None


def _open_on(today: date) -> sa.ColumnElement[bool]:
    """Open and not past its deadline."""
    return sa.and_(
        col(Demand.status) == DemandStatus.open,
        sa.or_(col(Demand.deadline).is_(None), col(Demand.deadline) >= today),
    )


def _expired_on(today: date) -> sa.ColumnElement[bool]:
    """Expired, or open with a deadline already past (the worker has not caught up yet)."""
    return sa.or_(
        col(Demand.status) == DemandStatus.expired,
        sa.and_(col(Demand.status) == DemandStatus.open, col(Demand.deadline) < today),
    )


class DemandsRepository:
    """Reads and writes demands; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, demand: Demand) -> None:
        """Stage a new demand and flush it."""
        self.session.add(demand)
        await self.session.flush()

    async def flush(self) -> None:
        """Write pending changes now."""
        await self.session.flush()

    async def get(self, demand_id: uuid.UUID) -> Demand | None:
        """One demand by id."""
        return await self.session.get(Demand, demand_id)

    async def get_for_update(self, demand_id: uuid.UUID) -> Demand | None:
        """One demand, locked for the rest of the transaction and re-read after the lock is granted."""
        stmt = select(Demand).where(Demand.id == demand_id).with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalars().first()

    async def list_open(
        self, filters: DemandFilters, *, today: date, after: uuid.UUID | None, limit: int
    ) -> Sequence[Demand]:
        """Open demands whose deadline has not passed, newest first, limit+1 rows."""
        stmt = select(Demand).where(_open_on(today)).order_by(col(Demand.id).desc()).limit(limit + 1)
        if filters.field_codes:
            stmt = stmt.where(
                col(Demand.field_codes).overlap(sa.cast(list(filters.field_codes), ARRAY(sa.String)))  # type: ignore[attr-defined]
            )
        if filters.trade_mode is not None:
            # An empty list of wanted modes means any mode will do.
            stmt = stmt.where(
                sa.or_(
                    sa.func.cardinality(col(Demand.trade_modes)) == 0,
                    col(Demand.trade_modes).contains(sa.cast([filters.trade_mode], ARRAY(sa.String))),
                )
            )
        if filters.region_prefix is not None:
            stmt = stmt.where(col(Demand.region_code).startswith(filters.region_prefix, autoescape=True))
        if after is not None:
            stmt = stmt.where(col(Demand.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def list_for_organization(
        self,
        org_id: uuid.UUID,
        *,
        status: DemandStatus | None,
        today: date,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Demand]:
        """One organisation's demands, by effective status, newest first, limit+1 rows."""
        stmt = select(Demand).where(Demand.organization_id == org_id).order_by(col(Demand.id).desc()).limit(limit + 1)
        if status is DemandStatus.open:
            stmt = stmt.where(_open_on(today))
        elif status is DemandStatus.expired:
            stmt = stmt.where(_expired_on(today))
        elif status is not None:
            stmt = stmt.where(Demand.status == status)
        if after is not None:
            stmt = stmt.where(col(Demand.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def expire_due(self, *, today: date, now: datetime) -> Sequence[Demand]:
        """Mark open demands past their deadline as expired; return them."""
        stmt = (
            sa.update(Demand)
            .where(col(Demand.status) == DemandStatus.open, col(Demand.deadline) < today)
            .values(status=DemandStatus.expired.value, expired_at=now, updated_at=now, version=Demand.version + 1)
            .returning(Demand)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(select(Demand).from_statement(stmt))).scalars().all()
