"""Every query the search domain runs on the catalogue: what is public, by id or in batches."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.accounts.models import Organization
from marketplace.demands.models import Demand, DemandStatus
from marketplace.listings.models import Listing, ListingIPAsset, ListingStatus

ListingRow = tuple[Listing, str | None, list[str]]
DemandRow = tuple[Demand, str | None]


def _ip_types() -> sa.ScalarSelect[list[str]]:
    return (
        sa.select(sa.func.coalesce(sa.func.array_agg(sa.distinct(col(ListingIPAsset.type))), sa.text("'{}'::text[]")))
        .where(col(ListingIPAsset.listing_id) == col(Listing.id))
        .scalar_subquery()
    )


class SearchRepository:
    """Reads listings and demands with what their search documents need; never writes."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _listings(self) -> Any:
        return (
            select(Listing, col(Organization.name_zh), _ip_types())
            .join(Organization, col(Organization.id) == col(Listing.organization_id))
            .execution_options(populate_existing=True)
        )

    def _demands(self) -> Any:
        return (
            select(Demand, col(Organization.name_zh))
            .join(Organization, col(Organization.id) == col(Demand.organization_id))
            .execution_options(populate_existing=True)
        )

    async def listing(self, listing_id: uuid.UUID) -> ListingRow | None:
        """One listing, whatever its status, with its holder's name and IP types."""
        row = (await self.session.execute(self._listings().where(col(Listing.id) == listing_id))).first()
        return (row[0], row[1], list(row[2] or [])) if row else None

    async def demand(self, demand_id: uuid.UUID) -> DemandRow | None:
        """One demand, whatever its status, with its enterprise's name."""
        row = (await self.session.execute(self._demands().where(col(Demand.id) == demand_id))).first()
        return (row[0], row[1]) if row else None

    async def published_listings(self, *, after: uuid.UUID | None, limit: int) -> list[ListingRow]:
        """Published listings in id order, a batch at a time."""
        query = self._listings().where(col(Listing.status) == ListingStatus.published)
        if after is not None:
            query = query.where(col(Listing.id) > after)
        rows = await self.session.execute(query.order_by(col(Listing.id)).limit(limit))
        return [(r[0], r[1], list(r[2] or [])) for r in rows.all()]

    async def open_demands(self, *, today: date, after: uuid.UUID | None, limit: int) -> list[DemandRow]:
        """Open demands not past their deadline, in id order, a batch at a time."""
        query = self._demands().where(
            col(Demand.status) == DemandStatus.open,
            sa.or_(col(Demand.deadline).is_(None), col(Demand.deadline) >= today),
        )
        if after is not None:
            query = query.where(col(Demand.id) > after)
        rows = await self.session.execute(query.order_by(col(Demand.id)).limit(limit))
        return [(r[0], r[1]) for r in rows.all()]

    async def count_published_listings(self) -> int:
        """How many listings are published."""
        query = sa.select(sa.func.count()).select_from(Listing).where(col(Listing.status) == ListingStatus.published)
        return int((await self.session.execute(query)).scalar_one())

    async def count_open_demands(self, *, today: date) -> int:
        """How many demands are open."""
        query = (
            sa.select(sa.func.count())
            .select_from(Demand)
            .where(
                col(Demand.status) == DemandStatus.open,
                sa.or_(col(Demand.deadline).is_(None), col(Demand.deadline) >= today),
            )
        )
        return int((await self.session.execute(query)).scalar_one())

    async def listing_ids_of(self, organization_id: uuid.UUID) -> Sequence[uuid.UUID]:
        """Ids of an organisation's published listings (to refresh them when its name changes)."""
        query = sa.select(col(Listing.id)).where(
            col(Listing.organization_id) == organization_id, col(Listing.status) == ListingStatus.published
        )
        return list((await self.session.execute(query)).scalars().all())

    async def demand_ids_of(self, organization_id: uuid.UUID) -> Sequence[uuid.UUID]:
        """Ids of an organisation's open demands."""
        query = sa.select(col(Demand.id)).where(
            col(Demand.organization_id) == organization_id, col(Demand.status) == DemandStatus.open
        )
        return list((await self.session.execute(query)).scalars().all())
