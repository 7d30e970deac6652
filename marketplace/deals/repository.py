"""Every query of the deals domain (and the few reads of listings and organisations it needs)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from marketplace.accounts.models import Organization, User
from marketplace.deals.models import (
    Auction,
    AuctionBid,
    AuctionRegistration,
    BrokerStatus,
    Deal,
    DealBroker,
    DealContract,
    DealMessage,
    DealMilestone,
    DealNotice,
    DealObjection,
    DealOffer,
    DealOrigin,
    NoticeStatus,
    ObjectionStatus,
    OfferStatus,
)
from marketplace.deals.process import TERMINAL_DEAL_STATES, AuctionState
from marketplace.listings.models import Listing, NdaAcceptance

# Bids and the close serialize on the auction row's lock. Switching this off (tests only) shows what the
# lock prevents: concurrent bids validated against the same stale high bid.
LOCK_AUCTIONS = True


@functools.lru_cache(maxsize=64)
def _insert_statement(shape: tuple[tuple[sa.Table, tuple[str, ...]], ...]) -> sa.TextClause:
    """One statement inserting one row into each table (data-modifying CTEs), built once per shape."""
    parts, binds = [], []
    for i, (table, names) in enumerate(shape):
        columns = ", ".join(names)
        values = ", ".join(f":r{i}_{n}" for n in names)
        parts.append(f"r{i} AS (INSERT INTO {table.name} ({columns}) VALUES ({values}))")
        binds += [sa.bindparam(f"r{i}_{n}", type_=table.columns[n].type) for n in names]
    return sa.text("WITH " + ", ".join(parts) + " SELECT 1").bindparams(*binds)


@dataclass(frozen=True, slots=True)
class OutbidParty:
    """Who held the high bid before a new one (None, None for the first bid)."""

    organization_id: uuid.UUID | None
    bidder_number: int | None


class DealsRepository:
    """Reads and writes deals, auctions and what hangs off them; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: Any) -> None:
        """Stage a new row and flush it so constraint errors surface here."""
        self.session.add(obj)
        await self.session.flush()

    def stage(self, obj: Any) -> None:
        """Stage a row to be written with the next flush (or the commit)."""
        self.session.add(obj)

    async def flush(self) -> None:
        """Write pending changes now."""
        await self.session.flush()

    async def write_now(self, *rows: Any) -> None:
        """Insert new rows (audit record, outbox event) in one statement now, without the unit of work's flush.

        For the bid path, where the flush of two small rows costs more than the bid itself. Every column the
        row has a value for is written (server-generated ones, like the outbox's seq, are left to the server).
        """
        params: dict[str, Any] = {}
        shape: list[tuple[sa.Table, tuple[str, ...]]] = []
        for i, row in enumerate(rows):
            if row in self.session:
                self.session.expunge(row)
            table = type(row).__table__
            names = tuple(c.name for c in table.columns if getattr(row, c.key, None) is not None)
            shape.append((table, names))
            params.update({f"r{i}_{name}": getattr(row, table.columns[name].key) for name in names})
        await self.session.execute(_insert_statement(tuple(shape)), params)

    def connected(self) -> bool:
        """Whether the session holds a connection (its transaction has begun)."""
        return self.session.in_transaction()

    async def connect(self) -> None:
        """Take the session's connection from the pool now (waiting here if the pool is short)."""
        await self.session.connection()

    # ------------------------------------------------------------ deals

    async def get_deal(self, deal_id: uuid.UUID) -> Deal | None:
        """One deal."""
        return await self.session.get(Deal, deal_id)

    async def lock_deal(self, deal_id: uuid.UUID) -> Deal | None:
        """One deal, locked for the rest of the transaction and re-read after the lock is granted."""
        stmt = select(Deal).where(Deal.id == deal_id).with_for_update().execution_options(populate_existing=True)
        return (await self.session.execute(stmt)).scalars().first()

    async def live_deal_of(self, listing_id: uuid.UUID, buyer_id: uuid.UUID) -> Deal | None:
        """The buyer's live deal on a listing, if any."""
        stmt = select(Deal).where(
            Deal.listing_id == listing_id,
            Deal.buyer_organization_id == buyer_id,
            Deal.origin == DealOrigin.inquiry,
            col(Deal.state).not_in(sorted(TERMINAL_DEAL_STATES)),
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def list_deals(
        self,
        *,
        organization_id: uuid.UUID | None,
        states: Sequence[str] | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Deal]:
        """Deals the organisation is party to or brokers (None: all), newest first, limit+1 rows."""
        stmt = select(Deal).order_by(col(Deal.id).desc()).limit(limit + 1)
        if organization_id is not None:
            brokered = sa.select(DealBroker.deal_id).where(  # type: ignore[call-overload]
                DealBroker.agency_organization_id == organization_id,
                col(DealBroker.status).in_([BrokerStatus.proposed, BrokerStatus.active]),
            )
            stmt = stmt.where(
                sa.or_(
                    col(Deal.buyer_organization_id) == organization_id,
                    col(Deal.seller_organization_id) == organization_id,
                    col(Deal.id).in_(brokered),
                )
            )
        if states:
            stmt = stmt.where(col(Deal.state).in_(list(states)))
        if after is not None:
            stmt = stmt.where(col(Deal.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def deals_of_auction(self, auction_id: uuid.UUID) -> Sequence[Deal]:
        """Deals that came out of an auction."""
        return (await self.session.execute(select(Deal).where(Deal.auction_id == auction_id))).scalars().all()

    # ------------------------------------------------------------ messages and offers

    async def list_messages(self, deal_id: uuid.UUID, *, after: uuid.UUID | None, limit: int) -> Sequence[DealMessage]:
        """A deal's messages, oldest first, limit+1 rows."""
        stmt = select(DealMessage).where(DealMessage.deal_id == deal_id).order_by(col(DealMessage.id)).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(col(DealMessage.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_offer(self, deal_id: uuid.UUID, offer_id: uuid.UUID) -> DealOffer | None:
        """One offer of one deal."""
        offer = await self.session.get(DealOffer, offer_id, populate_existing=True)
        return offer if offer is not None and offer.deal_id == deal_id else None

    async def open_offer(self, deal_id: uuid.UUID) -> DealOffer | None:
        """The deal's open offer, if any."""
        stmt = select(DealOffer).where(DealOffer.deal_id == deal_id, DealOffer.status == OfferStatus.open)
        return (await self.session.execute(stmt)).scalars().first()

    async def list_offers(self, deal_id: uuid.UUID, *, after: uuid.UUID | None, limit: int) -> Sequence[DealOffer]:
        """A deal's offers, oldest first, limit+1 rows."""
        stmt = select(DealOffer).where(DealOffer.deal_id == deal_id).order_by(col(DealOffer.id)).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(col(DealOffer.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    # ------------------------------------------------------------ public notice

    async def current_notice(self, deal_id: uuid.UUID) -> DealNotice | None:
        """The deal's latest notice."""
        stmt = select(DealNotice).where(DealNotice.deal_id == deal_id).order_by(col(DealNotice.id).desc()).limit(1)
        return (await self.session.execute(stmt)).scalars().first()

    async def get_notice(self, notice_id: uuid.UUID) -> DealNotice | None:
        """One notice."""
        return await self.session.get(DealNotice, notice_id)

    async def list_notices(
        self, *, status: NoticeStatus | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[DealNotice]:
        """Notices newest first, limit+1 rows."""
        stmt = select(DealNotice).order_by(col(DealNotice.id).desc()).limit(limit + 1)
        if status is not None:
            stmt = stmt.where(DealNotice.status == status)
        if after is not None:
            stmt = stmt.where(col(DealNotice.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def objection_counts(self, notice_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[int, int]]:
        """(pending, total) objections per notice."""
        if not notice_ids:
            return {}
        pending = sa.func.count().filter(col(DealObjection.status) == ObjectionStatus.pending)
        stmt = (
            sa.select(DealObjection.notice_id, pending, sa.func.count())  # type: ignore[call-overload]
            .where(col(DealObjection.notice_id).in_(list(notice_ids)))
            .group_by(DealObjection.notice_id)
        )
        out = {i: (0, 0) for i in notice_ids}
        for notice_id, n_pending, total in (await self.session.execute(stmt)).all():
            out[notice_id] = (int(n_pending), int(total))
        return out

    async def objections_of(self, notice_id: uuid.UUID) -> Sequence[DealObjection]:
        """A notice's objections in order."""
        stmt = select(DealObjection).where(DealObjection.notice_id == notice_id).order_by(col(DealObjection.id))
        return (await self.session.execute(stmt)).scalars().all()

    async def get_objection(self, deal_id: uuid.UUID, objection_id: uuid.UUID) -> DealObjection | None:
        """One objection to one deal."""
        found = await self.session.get(DealObjection, objection_id, populate_existing=True)
        return found if found is not None and found.deal_id == deal_id else None

    async def pending_objections(self, notice_id: uuid.UUID) -> int:
        """How many objections to a notice wait for a decision."""
        stmt = sa.select(sa.func.count()).where(
            DealObjection.notice_id == notice_id,  # type: ignore[arg-type]
            DealObjection.status == ObjectionStatus.pending,  # type: ignore[arg-type]
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # ------------------------------------------------------------ contract, milestones, brokers

    async def contract_of(self, deal_id: uuid.UUID) -> DealContract | None:
        """The deal's contract record."""
        stmt = select(DealContract).where(DealContract.deal_id == deal_id)
        return (await self.session.execute(stmt)).scalars().first()

    async def milestones_of(self, deal_id: uuid.UUID) -> list[DealMilestone]:
        """The deal's milestones in plan order."""
        stmt = (
            select(DealMilestone)
            .where(DealMilestone.deal_id == deal_id)
            .order_by(col(DealMilestone.position))
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars().all())

    async def brokers_of(self, deal_id: uuid.UUID, *, live_only: bool = True) -> list[DealBroker]:
        """The deal's broker appointments (proposed and active unless told otherwise)."""
        stmt = select(DealBroker).where(DealBroker.deal_id == deal_id).order_by(col(DealBroker.id))
        if live_only:
            stmt = stmt.where(col(DealBroker.status).in_([BrokerStatus.proposed, BrokerStatus.active]))
        return list((await self.session.execute(stmt)).scalars().all())

    # ------------------------------------------------------------ listings and organisations (read only)

    async def get_listing(self, listing_id: uuid.UUID) -> Listing | None:
        """A listing (read only: listings belong to their own domain)."""
        return await self.session.get(Listing, listing_id)

    async def nda_accepted(self, listing_id: uuid.UUID, org_id: uuid.UUID, version: int) -> bool:
        """Whether the organisation accepted this version of the listing's NDA."""
        stmt = sa.select(sa.literal(1)).where(
            NdaAcceptance.listing_id == listing_id,  # type: ignore[arg-type]
            NdaAcceptance.organization_id == org_id,  # type: ignore[arg-type]
            NdaAcceptance.nda_version == version,  # type: ignore[arg-type]
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get_organization(self, org_id: uuid.UUID) -> Organization | None:
        """An organisation (read only)."""
        return await self.session.get(Organization, org_id)

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        """A user (read only)."""
        return await self.session.get(User, user_id)

    # ------------------------------------------------------------ auctions

    async def get_auction(self, auction_id: uuid.UUID) -> Auction | None:
        """One auction."""
        return await self.session.get(Auction, auction_id)

    async def lock_auction(self, auction_id: uuid.UUID) -> Auction | None:
        """One auction, locked (SELECT ... FOR UPDATE) and re-read: bids, registrations and the close queue here."""
        stmt = select(Auction).where(Auction.id == auction_id).execution_options(populate_existing=True)
        if LOCK_AUCTIONS:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def open_auction_of(self, listing_id: uuid.UUID) -> Auction | None:
        """The listing's open auction, if any."""
        stmt = select(Auction).where(Auction.listing_id == listing_id, Auction.status == AuctionState.open)
        return (await self.session.execute(stmt)).scalars().first()

    async def list_auctions(
        self, *, status: AuctionState | None, listing_id: uuid.UUID | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Auction]:
        """Auctions newest first, limit+1 rows."""
        stmt = select(Auction).order_by(col(Auction.id).desc()).limit(limit + 1)
        if status is not None:
            stmt = stmt.where(Auction.status == status)
        if listing_id is not None:
            stmt = stmt.where(Auction.listing_id == listing_id)
        if after is not None:
            stmt = stmt.where(col(Auction.id) < after)
        return (await self.session.execute(stmt)).scalars().all()

    async def registration_of(self, auction_id: uuid.UUID, org_id: uuid.UUID) -> AuctionRegistration | None:
        """An organisation's registration for an auction (fresh from the database)."""
        stmt = (
            select(AuctionRegistration)
            .where(AuctionRegistration.auction_id == auction_id, AuctionRegistration.organization_id == org_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def get_registration(self, auction_id: uuid.UUID, registration_id: uuid.UUID) -> AuctionRegistration | None:
        """One registration of one auction."""
        found = await self.session.get(AuctionRegistration, registration_id, populate_existing=True)
        return found if found is not None and found.auction_id == auction_id else None

    async def registrations_of(
        self, auction_id: uuid.UUID, *, after: int | None = None, limit: int | None = None
    ) -> Sequence[AuctionRegistration]:
        """An auction's registrations by bidder number (limit+1 rows when limited)."""
        stmt = (
            select(AuctionRegistration)
            .where(AuctionRegistration.auction_id == auction_id)
            .order_by(col(AuctionRegistration.bidder_number))
            .execution_options(populate_existing=True)
        )
        if after is not None:
            stmt = stmt.where(col(AuctionRegistration.bidder_number) > after)
        if limit is not None:
            stmt = stmt.limit(limit + 1)
        return (await self.session.execute(stmt)).scalars().all()

    async def bid_counts(self, registration_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
        """How many bids each registration placed."""
        if not registration_ids:
            return {}
        stmt = (
            sa.select(AuctionBid.registration_id, sa.func.count())  # type: ignore[call-overload]
            .where(col(AuctionBid.registration_id).in_(list(registration_ids)))
            .group_by(AuctionBid.registration_id)
        )
        out = dict.fromkeys(registration_ids, 0)
        for reg_id, n in (await self.session.execute(stmt)).all():
            out[reg_id] = int(n)
        return out

    async def list_bids(self, auction_id: uuid.UUID, *, after: int | None, limit: int) -> Sequence[AuctionBid]:
        """An auction's bids in sequence order, limit+1 rows."""
        stmt = (
            select(AuctionBid).where(AuctionBid.auction_id == auction_id).order_by(col(AuctionBid.seq)).limit(limit + 1)
        )
        if after is not None:
            stmt = stmt.where(col(AuctionBid.seq) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def bidder_organizations(self, registration_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
        """Registration id -> bidding organisation."""
        if not registration_ids:
            return {}
        stmt = sa.select(AuctionRegistration.id, AuctionRegistration.organization_id).where(  # type: ignore[call-overload]
            col(AuctionRegistration.id).in_(list(registration_ids))
        )
        return {r: o for r, o in (await self.session.execute(stmt)).all()}

    async def bid_context(
        self, auction_id: uuid.UUID, org_id: uuid.UUID
    ) -> tuple[AuctionRegistration | None, uuid.UUID, uuid.UUID] | None:
        """Before the lock: the organisation's registration and the auction's fixed facts (seller, listing)."""
        stmt = (
            select(Auction.seller_organization_id, Auction.listing_id, AuctionRegistration)  # type: ignore[call-overload]
            .select_from(Auction)
            .outerjoin(
                AuctionRegistration,
                sa.and_(
                    col(AuctionRegistration.auction_id) == col(Auction.id),
                    col(AuctionRegistration.organization_id) == org_id,
                ),
            )
            .where(col(Auction.id) == auction_id)
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(stmt)).first()
        return None if row is None else (row[2], row[0], row[1])

    async def record_bid(
        self,
        auction: Auction,
        bid: AuctionBid,
        *,
        high_bid_fen: int,
        high_registration_id: uuid.UUID,
        bid_count: int,
        ends_at: datetime,
        now: datetime,
        previous_registration_id: uuid.UUID | None = None,
    ) -> OutbidParty | None:
        """Insert the bid and move the auction's high bid (and end) in one statement, under the auction's lock.

        The bid goes in only while its registration's deposit is still held (it was read before the lock);
        None when it was not. Otherwise the previous high bidder's organisation and number (both None when
        there was none), read in the same statement so that telling them they were outbid costs no round trip.
        """
        result = await self.session.execute(
            sa.text(
                """
                WITH inserted AS (
                    INSERT INTO auction_bids (id, auction_id, registration_id, bidder_number, seq, amount_fen,
                                              placed_by_user_id, placed_at, extended_to)
                    SELECT :id, :auction_id, :registration_id, :bidder_number, :seq, :amount_fen,
                           :placed_by_user_id, :placed_at, :extended_to
                    WHERE EXISTS (SELECT 1 FROM auction_registrations
                                  WHERE id = :registration_id AND deposit_status = 'held')
                    RETURNING id
                )
                UPDATE auctions
                SET high_bid_fen = :high_bid_fen, high_registration_id = :registration_id, bid_count = :bid_count,
                    ends_at = :ends_at, updated_at = :now
                WHERE id = :auction_id AND EXISTS (SELECT 1 FROM inserted)
                RETURNING (SELECT organization_id FROM auction_registrations WHERE id = :previous_registration_id),
                          (SELECT bidder_number FROM auction_registrations WHERE id = :previous_registration_id)
                """
            ).bindparams(
                sa.bindparam("extended_to", type_=sa.DateTime(timezone=True)),
                sa.bindparam("placed_by_user_id", type_=sa.Uuid()),
                sa.bindparam("previous_registration_id", type_=sa.Uuid()),
            ),
            {
                "id": bid.id,
                "auction_id": auction.id,
                "registration_id": bid.registration_id,
                "bidder_number": bid.bidder_number,
                "seq": bid.seq,
                "amount_fen": bid.amount_fen,
                "placed_by_user_id": bid.placed_by_user_id,
                "placed_at": bid.placed_at,
                "extended_to": bid.extended_to,
                "high_bid_fen": high_bid_fen,
                "bid_count": bid_count,
                "ends_at": ends_at,
                "now": now,
                "previous_registration_id": previous_registration_id,
            },
        )
        row = result.first()
        if row is None:
            return None
        values = {
            "high_bid_fen": high_bid_fen,
            "high_registration_id": high_registration_id,
            "bid_count": bid_count,
            "ends_at": ends_at,
            "updated_at": now,
        }
        for name, value in values.items():  # the row is written; keep the loaded object in step without a flush
            set_committed_value(auction, name, value)
        return OutbidParty(organization_id=row[0], bidder_number=row[1])
