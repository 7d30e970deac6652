"""Every query of the listings domain."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.listings import errors
from marketplace.listings.models import (
    PATENT_TYPES,
    IPLegalStatus,
    Listing,
    ListingAttachment,
    ListingIPAsset,
    ListingRevision,
    ListingStatus,
    ListingWatch,
    NdaAcceptance,
    RevisionStatus,
)

ACTIVE_PATENT_INDEX = "ux_listing_ip_assets_active_granted_patent"


@dataclass(frozen=True, slots=True)
class ListingFilters:
    """What the public browse may filter on."""

    field_codes: Collection[str] | None = None
    trl_min: int | None = None
    trade_mode: str | None = None
    region_prefix: str | None = None
    pricing_kind: str | None = None


def _is_active_patent_violation(exc: BaseException) -> bool:
    return ACTIVE_PATENT_INDEX in str(exc)


class ListingsRepository:
    """Reads and writes listings and what hangs off them; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: Any) -> None:
        """Stage a new row and flush it so constraint errors surface here."""
        self.session.add(obj)
        await self.session.flush()

    async def flush(self) -> None:
        """Write pending changes now."""
        await self.session.flush()

    async def get(self, listing_id: uuid.UUID) -> Listing | None:
        """One listing by id."""
        return await self.session.get(Listing, listing_id)

    async def get_for_update(self, listing_id: uuid.UUID) -> Listing | None:
        """One listing, locked for the rest of the transaction and re-read after the lock is granted."""
        stmt = (
            select(Listing).where(Listing.id == listing_id).with_for_update().execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    # IP assets

    async def assets_of(self, listing_id: uuid.UUID) -> Sequence[ListingIPAsset]:
        """A listing's IP assets in their given order."""
        stmt = (
            select(ListingIPAsset)
            .where(ListingIPAsset.listing_id == listing_id)
            .order_by(col(ListingIPAsset.position), col(ListingIPAsset.id))
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def assets_of_many(self, listing_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[ListingIPAsset]]:
        """IP assets of several listings, grouped by listing."""
        out: dict[uuid.UUID, list[ListingIPAsset]] = {i: [] for i in listing_ids}
        if not listing_ids:
            return out
        stmt = (
            select(ListingIPAsset)
            .where(col(ListingIPAsset.listing_id).in_(list(listing_ids)))
            .order_by(col(ListingIPAsset.listing_id), col(ListingIPAsset.position))
        )
        for asset in (await self.session.execute(stmt)).scalars():
            out[asset.listing_id].append(asset)
        return out

    async def replace_assets(self, listing_id: uuid.UUID, assets: Sequence[ListingIPAsset]) -> None:
        """Swap a listing's IP assets for new ones (409 when an active granted patent is taken)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    sa.delete(ListingIPAsset).where(col(ListingIPAsset.listing_id) == listing_id)
                )
                self.session.add_all(assets)
                await self.session.flush()
        except IntegrityError as exc:
            if _is_active_patent_violation(exc):
                raise errors.PatentAlreadyListed(
                    "a granted patent of this listing is on another active listing"
                ) from exc
            raise

    async def set_assets_active(self, listing_id: uuid.UUID, *, active: bool) -> None:
        """Mark a listing's assets as on an active listing or not (409 when a granted patent is taken)."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    sa.update(ListingIPAsset)
                    .where(col(ListingIPAsset.listing_id) == listing_id)
                    .values(active=active)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError as exc:
            if _is_active_patent_violation(exc):
                raise errors.PatentAlreadyListed(
                    "a granted patent of this listing is on another active listing"
                ) from exc
            raise

    async def active_patent_numbers(
        self, numbers: Collection[str], *, exclude_listing_id: uuid.UUID | None = None
    ) -> set[str]:
        """Which of these granted patent numbers are already on an active listing (other than one)."""
        if not numbers:
            return set()
        stmt = sa.select(col(ListingIPAsset.number)).where(
            col(ListingIPAsset.number).in_(list(numbers)),
            col(ListingIPAsset.active).is_(True),
            col(ListingIPAsset.legal_status) == IPLegalStatus.granted,
            col(ListingIPAsset.type).in_([t.value for t in PATENT_TYPES]),
        )
        if exclude_listing_id is not None:
            stmt = stmt.where(col(ListingIPAsset.listing_id) != exclude_listing_id)
        return {n for n in (await self.session.execute(stmt)).scalars() if n is not None}

    # revisions

    async def pending_revision(self, listing_id: uuid.UUID) -> ListingRevision | None:
        """The change waiting for review, if any."""
        stmt = select(ListingRevision).where(
            ListingRevision.listing_id == listing_id, ListingRevision.status == RevisionStatus.pending
        )
        return (await self.session.execute(stmt)).scalars().first()

    # lists

    async def list_published(
        self, filters: ListingFilters, *, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> Sequence[Listing]:
        """Published listings, newest published first, limit+1 rows."""
        stmt = (
            select(Listing)
            .where(Listing.status == ListingStatus.published)
            .order_by(col(Listing.published_at).desc(), col(Listing.id).desc())
            .limit(limit + 1)
        )
        if filters.field_codes:
            stmt = stmt.where(
                col(Listing.field_codes).overlap(sa.cast(list(filters.field_codes), ARRAY(sa.String)))  # type: ignore[attr-defined]
            )
        if filters.trl_min is not None:
            stmt = stmt.where(col(Listing.trl) >= filters.trl_min)
        if filters.trade_mode is not None:
            stmt = stmt.where(col(Listing.trade_modes).contains(sa.cast([filters.trade_mode], ARRAY(sa.String))))
        if filters.region_prefix is not None:
            stmt = stmt.where(col(Listing.region_code).startswith(filters.region_prefix, autoescape=True))
        if filters.pricing_kind is not None:
            stmt = stmt.where(Listing.pricing_kind == filters.pricing_kind)
        if after is not None:
            stmt = stmt.where(sa.tuple_(col(Listing.published_at), col(Listing.id)) < sa.tuple_(*after))
        return (await self.session.execute(stmt)).scalars().all()

    async def list_for_organization(
        self, org_id: uuid.UUID, *, status: ListingStatus | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Listing]:
        """One organisation's listings in any state, newest first, limit+1 rows."""
        stmt = (
            select(Listing).where(Listing.organization_id == org_id).order_by(col(Listing.id).desc()).limit(limit + 1)
        )
        if status is not None:
            stmt = stmt.where(Listing.status == status)
        if after is not None:
            stmt = stmt.where(col(Listing.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def list_for_review(
        self, *, status: ListingStatus | None, pending_revision: bool, after: uuid.UUID | None, limit: int
    ) -> Sequence[Listing]:
        """The platform's queue: listings in a state and/or with a pending revision, oldest first."""
        stmt = select(Listing).order_by(col(Listing.id)).limit(limit + 1)
        if status is not None:
            stmt = stmt.where(Listing.status == status)
        if pending_revision:
            stmt = stmt.where(
                sa.exists().where(
                    ListingRevision.listing_id == Listing.id,  # type: ignore[arg-type]
                    ListingRevision.status == RevisionStatus.pending,  # type: ignore[arg-type]
                )
            )
        if after is not None:
            stmt = stmt.where(col(Listing.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def all_of_organization(self, org_id: uuid.UUID) -> Sequence[Listing]:
        """Every listing of an organisation, oldest first (for export)."""
        stmt = select(Listing).where(Listing.organization_id == org_id).order_by(col(Listing.id))
        return (await self.session.execute(stmt)).scalars().all()

    # NDA

    async def has_accepted_nda(self, listing_id: uuid.UUID, org_id: uuid.UUID, version: int) -> bool:
        """Whether the organisation accepted this version of the listing's NDA."""
        stmt = sa.select(sa.literal(1)).where(
            NdaAcceptance.listing_id == listing_id,  # type: ignore[arg-type]
            NdaAcceptance.organization_id == org_id,  # type: ignore[arg-type]
            NdaAcceptance.nda_version == version,  # type: ignore[arg-type]
        )
        return (await self.session.execute(stmt)).first() is not None

    async def accept_nda(
        self, *, listing_id: uuid.UUID, org_id: uuid.UUID, user_id: uuid.UUID, version: int
    ) -> tuple[NdaAcceptance, bool]:
        """Record an acceptance once per organisation and version; return it and whether it is new."""
        table = NdaAcceptance.__table__  # type: ignore[attr-defined]
        row = NdaAcceptance(listing_id=listing_id, organization_id=org_id, user_id=user_id, nda_version=version)
        stmt = (
            insert(table)
            .values(
                id=row.id,
                listing_id=listing_id,
                organization_id=org_id,
                user_id=user_id,
                nda_version=version,
                accepted_at=row.accepted_at,
            )
            .on_conflict_do_nothing(constraint="uq_listing_nda_acceptances_listing_org_version")
            .returning(table.c.id)
        )
        created = (await self.session.execute(stmt)).scalar_one_or_none() is not None
        existing = (
            (
                await self.session.execute(
                    select(NdaAcceptance).where(
                        NdaAcceptance.listing_id == listing_id,
                        NdaAcceptance.organization_id == org_id,
                        NdaAcceptance.nda_version == version,
                    )
                )
            )
            .scalars()
            .one()
        )
        return existing, created

    async def list_nda_acceptances(
        self, listing_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[NdaAcceptance]:
        """Who accepted a listing's NDA, in order, limit+1 rows."""
        stmt = (
            select(NdaAcceptance)
            .where(NdaAcceptance.listing_id == listing_id)
            .order_by(col(NdaAcceptance.id))
            .limit(limit + 1)
        )
        if after is not None:
            stmt = stmt.where(col(NdaAcceptance.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    # attachments

    async def list_attachments(
        self, listing_id: uuid.UUID, *, include_confidential: bool, after: uuid.UUID | None, limit: int
    ) -> Sequence[ListingAttachment]:
        """A listing's files (public ones only unless told), limit+1 rows."""
        stmt = (
            select(ListingAttachment)
            .where(ListingAttachment.listing_id == listing_id)
            .order_by(col(ListingAttachment.id))
            .limit(limit + 1)
        )
        if not include_confidential:
            stmt = stmt.where(col(ListingAttachment.confidential).is_(False))
        if after is not None:
            stmt = stmt.where(col(ListingAttachment.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_attachment(self, listing_id: uuid.UUID, attachment_id: uuid.UUID) -> ListingAttachment | None:
        """One file of one listing."""
        attachment = await self.session.get(ListingAttachment, attachment_id)
        if attachment is None or attachment.listing_id != listing_id:
            return None
        return attachment

    async def count_attachments(self, listing_id: uuid.UUID) -> int:
        """How many files a listing holds."""
        stmt = sa.select(sa.func.count()).where(ListingAttachment.listing_id == listing_id)  # type: ignore[arg-type]
        return int((await self.session.execute(stmt)).scalar_one())

    async def has_confidential_attachments(self, listing_id: uuid.UUID) -> bool:
        """Whether any of a listing's files is confidential."""
        stmt = sa.select(sa.literal(1)).where(
            ListingAttachment.listing_id == listing_id,  # type: ignore[arg-type]
            col(ListingAttachment.confidential).is_(True),
        )
        return (await self.session.execute(stmt.limit(1))).first() is not None

    async def delete(self, obj: Any) -> None:
        """Delete one row."""
        await self.session.delete(obj)
        await self.session.flush()

    # watches

    async def watch(self, *, user_id: uuid.UUID, org_id: uuid.UUID, listing_id: uuid.UUID) -> tuple[ListingWatch, bool]:
        """Add a listing to a user's watchlist (idempotent); return the watch and whether it is new."""
        table = ListingWatch.__table__  # type: ignore[attr-defined]
        row = ListingWatch(user_id=user_id, organization_id=org_id, listing_id=listing_id)
        stmt = (
            insert(table)
            .values(
                id=row.id, user_id=user_id, organization_id=org_id, listing_id=listing_id, created_at=row.created_at
            )
            .on_conflict_do_nothing(constraint="uq_listing_watches_user_listing")
            .returning(table.c.id)
        )
        created = (await self.session.execute(stmt)).scalar_one_or_none() is not None
        found = (
            (
                await self.session.execute(
                    select(ListingWatch).where(ListingWatch.user_id == user_id, ListingWatch.listing_id == listing_id)
                )
            )
            .scalars()
            .one()
        )
        return found, created

    async def unwatch(self, *, user_id: uuid.UUID, listing_id: uuid.UUID) -> bool:
        """Remove a listing from a user's watchlist; whether it was there."""
        result = await self.session.execute(
            sa.delete(ListingWatch).where(
                col(ListingWatch.user_id) == user_id, col(ListingWatch.listing_id) == listing_id
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def watchlist(
        self, *, user_id: uuid.UUID, org_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> Sequence[tuple[ListingWatch, Listing]]:
        """A user's watched listings that they may still see (published, or their own), newest watch first."""
        stmt = (
            select(ListingWatch, Listing)
            .join(Listing, Listing.id == ListingWatch.listing_id)  # type: ignore[arg-type]
            .where(
                ListingWatch.user_id == user_id,
                sa.or_(col(Listing.status) == ListingStatus.published, col(Listing.organization_id) == org_id),
            )
            .order_by(col(ListingWatch.id).desc())
            .limit(limit + 1)
        )
        if after is not None:
            stmt = stmt.where(col(ListingWatch.id) < after)
        return [(w, listing) for w, listing in (await self.session.execute(stmt)).all()]

    # bulk

    async def copy_rows(self, table: sa.Table, rows: Iterable[dict[str, Any]], *, columns: Sequence[str]) -> None:
        """Bulk-load rows with PostgreSQL COPY on the session's own connection (inside its transaction)."""
        records = [tuple(row[c] for c in columns) for row in rows]
        if not records:
            return
        conn = await self.session.connection()
        raw = await conn.get_raw_connection()
        driver: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
        if not driver.is_in_transaction():
            # The asyncpg adapter opens its transaction on the first statement; COPY must run inside it.
            await conn.execute(sa.text("SELECT 1"))
        if not driver.is_in_transaction():
            raise RuntimeError("COPY must run inside the session's transaction")
        try:
            await driver.copy_records_to_table(table.name, records=records, columns=list(columns))
        except asyncpg.UniqueViolationError as exc:
            if ACTIVE_PATENT_INDEX in str(exc.constraint_name or exc):
                raise errors.PatentAlreadyListed("a granted patent in the file is on another active listing") from exc
            raise

    async def insert_many(self, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
        """Plain executemany insert (the baseline the bulk path is measured against)."""
        if rows:
            await self.session.execute(sa.insert(table), list(rows))
