"""Deals and auctions: the deal, its messages, offers, public notice, contract, milestones and brokers; auctions
with registrations and bids."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field, updated_field
from marketplace.deals.process import TERMINAL_DEAL_STATES, AuctionState, Side, State

_LIVE_SQL = "state NOT IN (" + ", ".join(f"'{s}'" for s in sorted(TERMINAL_DEAL_STATES)) + ")"


class DealOrigin(enum.StrEnum):
    """How a deal began."""

    inquiry = "inquiry"
    auction = "auction"


class PriceBasis(enum.StrEnum):
    """How the agreed price came about (a negotiated price with a state-funded holder needs public notice)."""

    negotiated = "negotiated"
    fixed = "fixed"
    auction = "auction"


class OfferStatus(enum.StrEnum):
    """Where an offer stands."""

    open = "open"
    accepted = "accepted"
    rejected = "rejected"
    withdrawn = "withdrawn"
    expired = "expired"
    countered = "countered"
    superseded = "superseded"
    lapsed = "lapsed"
    annulled = "annulled"


class NoticeStatus(enum.StrEnum):
    """Where a public notice stands."""

    running = "running"
    passed = "passed"
    upheld = "upheld"
    withdrawn = "withdrawn"


class ObjectionStatus(enum.StrEnum):
    """Where an objection stands."""

    pending = "pending"
    upheld = "upheld"
    dismissed = "dismissed"


class ObjectionOutcome(enum.StrEnum):
    """What an upheld objection does to the deal."""

    renegotiate = "renegotiate"
    end = "end"


class ContractType(enum.StrEnum):
    """Technology contract types of 技术合同认定登记."""

    transfer = "transfer"
    licence = "licence"
    development = "development"
    service = "service"
    consulting = "consulting"

    @property
    def label(self) -> str:
        """The registration's Chinese name of the type."""
        return _CONTRACT_TYPE_LABELS[self]


_CONTRACT_TYPE_LABELS = {
    ContractType.transfer: "技术转让",
    ContractType.licence: "技术许可",
    ContractType.development: "技术开发",
    ContractType.service: "技术服务",
    ContractType.consulting: "技术咨询",
}
# 技术合同认定登记 types by trade mode (作价投资 registers as a transfer of the technology).
CONTRACT_TYPE_OF_MODE = {
    "transfer": ContractType.transfer,
    "equity_investment": ContractType.transfer,
    "exclusive_licence": ContractType.licence,
    "sole_licence": ContractType.licence,
    "non_exclusive_licence": ContractType.licence,
    "co_development": ContractType.development,
    "technical_service": ContractType.service,
}
LICENCE_MODES = frozenset({"exclusive_licence", "sole_licence", "non_exclusive_licence"})


class MilestoneStatus(enum.StrEnum):
    """Where a milestone stands; released, refunded and split are settled."""

    pending = "pending"
    delivered = "delivered"
    disputed = "disputed"
    released = "released"
    refunded = "refunded"
    split_ = "split"  # (a member named `split` would hide str.split)


SETTLED_MILESTONES = frozenset({MilestoneStatus.released, MilestoneStatus.refunded, MilestoneStatus.split_})


class BrokerStatus(enum.StrEnum):
    """A broker appointment: proposed (by a broker opening a deal, until its client confirms), active, revoked."""

    proposed = "proposed"
    active = "active"
    revoked = "revoked"


class DepositStatus(enum.StrEnum):
    """An auction deposit (保证金): pending, held, then released, forfeited or applied to the price."""

    pending = "pending"
    held = "held"
    released = "released"
    forfeited = "forfeited"
    applied = "applied"
    void = "void"


class Deal(SQLModel, table=True):
    """A negotiation or sale between a buyer and a listing's holder, driven by the process in process.py."""

    __tablename__ = "deals"
    __table_args__ = (
        # One live inquiry deal per buyer and listing (auction awards come one per auction).
        sa.Index(
            "ux_deals_live_buyer_listing",
            "listing_id",
            "buyer_organization_id",
            unique=True,
            postgresql_where=sa.text("origin = 'inquiry' AND " + _LIVE_SQL),
        ),
        sa.CheckConstraint("version >= 1", name="version"),
        sa.CheckConstraint("price_fen IS NULL OR price_fen > 0", name="price"),
    )

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True)
    buyer_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    seller_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    origin: DealOrigin = Field(sa_type=str_enum(DealOrigin))
    state: State = Field(sa_type=str_enum(State), index=True)
    version: int = Field(default=1)
    auction_id: uuid.UUID | None = Field(default=None, foreign_key="auctions.id", index=True)
    registration_id: uuid.UUID | None = Field(default=None, foreign_key="auction_registrations.id")
    opened_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    price_basis: PriceBasis | None = Field(default=None, sa_type=str_enum(PriceBasis))
    price_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    trade_mode: str | None = Field(default=None, max_length=30)
    agreed_offer_id: uuid.UUID | None = Field(default=None)
    notice_required: bool = Field(default=False)
    deposit_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    confirm_by: datetime | None = tz_field()
    last_activity_at: datetime = created_field()
    ended_at: datetime | None = tz_field()
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class DealMessage(SQLModel, table=True):
    """A message between the parties (or their brokers)."""

    __tablename__ = "deal_messages"
    __table_args__ = (sa.Index("ix_deal_messages_deal_id_id", "deal_id", "id"),)

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", ondelete="CASCADE")
    side: Side = Field(sa_type=str_enum(Side))
    author_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    author_organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    body: str = Field(sa_type=sa.Text)
    created_at: datetime = created_field()


class DealOffer(SQLModel, table=True):
    """An offer or counter-offer: price, trade mode, licence terms, payment plan, expiry."""

    __tablename__ = "deal_offers"
    __table_args__ = (
        sa.Index("ix_deal_offers_deal_id_id", "deal_id", "id"),
        sa.Index("ux_deal_offers_one_open", "deal_id", unique=True, postgresql_where=sa.text("status = 'open'")),
        sa.CheckConstraint("price_fen > 0", name="price"),
    )

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", ondelete="CASCADE")
    side: Side = Field(sa_type=str_enum(Side))
    made_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: OfferStatus = Field(default=OfferStatus.open, sa_type=str_enum(OfferStatus))
    price_fen: int = Field(sa_type=sa.BigInteger)
    trade_mode: str = Field(max_length=30)
    licence_scope: str | None = Field(default=None, max_length=2000)
    territory: str | None = Field(default=None, max_length=500)
    term_months: int | None = Field(default=None)
    non_technology_items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    payment_plan: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    note: str | None = Field(default=None, max_length=4000)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    decided_at: datetime | None = tz_field()
    created_at: datetime = created_field()


class DealNotice(SQLModel, table=True):
    """A public notice (公示) of a negotiated deal with a state-funded holder."""

    __tablename__ = "deal_notices"
    __table_args__ = (sa.Index("ix_deal_notices_status_id", "status", "id"),)

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", index=True, ondelete="CASCADE")
    listing_id: uuid.UUID = Field(foreign_key="listings.id")
    result_name: str = Field(max_length=300)
    buyer_name: str = Field(max_length=200)
    seller_name: str = Field(max_length=200)
    price_fen: int = Field(sa_type=sa.BigInteger)
    trade_mode: str = Field(max_length=30)
    status: NoticeStatus = Field(default=NoticeStatus.running, sa_type=str_enum(NoticeStatus))
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    closed_at: datetime | None = tz_field()
    created_at: datetime = created_field()


class DealObjection(SQLModel, table=True):
    """An objection to a deal under public notice, decided by the platform."""

    __tablename__ = "deal_objections"

    id: uuid.UUID = id_field()
    notice_id: uuid.UUID = Field(foreign_key="deal_notices.id", index=True, ondelete="CASCADE")
    deal_id: uuid.UUID = Field(foreign_key="deals.id", index=True, ondelete="CASCADE")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    grounds: str = Field(sa_type=sa.Text)
    status: ObjectionStatus = Field(default=ObjectionStatus.pending, sa_type=str_enum(ObjectionStatus))
    outcome: ObjectionOutcome | None = Field(default=None, sa_type=str_enum(ObjectionOutcome))
    decision_note: str | None = Field(default=None, max_length=2000)
    decided_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decided_at: datetime | None = tz_field()
    created_at: datetime = created_field()


class DealContract(SQLModel, table=True):
    """The agreed terms as a record both parties confirm, with what 技术合同认定登记 needs."""

    __tablename__ = "deal_contracts"
    __table_args__ = (
        sa.CheckConstraint("technology_fen >= 0 AND technology_fen <= amount_fen", name="technology_amount"),
    )

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", unique=True, ondelete="CASCADE")
    offer_id: uuid.UUID | None = Field(default=None)
    contract_type: ContractType = Field(sa_type=str_enum(ContractType))
    trade_mode: str = Field(max_length=30)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    technology_fen: int = Field(sa_type=sa.BigInteger)
    non_technology_items: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    licence_scope: str | None = Field(default=None, max_length=2000)
    territory: str | None = Field(default=None, max_length=500)
    term_months: int | None = Field(default=None)
    payment_plan: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    subject_name: str = Field(max_length=300)
    buyer_name: str = Field(max_length=200)
    buyer_credit_code: str | None = Field(default=None, max_length=18)
    seller_name: str = Field(max_length=200)
    seller_credit_code: str | None = Field(default=None, max_length=18)
    buyer_confirmed_at: datetime | None = tz_field()
    buyer_confirmed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    seller_confirmed_at: datetime | None = tz_field()
    seller_confirmed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_field()


class DealMilestone(SQLModel, table=True):
    """One part of the payment plan: amount, due date, deliverable; delivered, reviewed and settled."""

    __tablename__ = "deal_milestones"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount"),
        sa.CheckConstraint(
            "released_fen IS NULL OR refunded_fen IS NULL OR released_fen + refunded_fen = amount_fen",
            name="settlement",
        ),
    )

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
    title: str = Field(max_length=200)
    deliverable: str | None = Field(default=None, max_length=2000)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    due_date: date | None = Field(default=None)
    status: MilestoneStatus = Field(default=MilestoneStatus.pending, sa_type=str_enum(MilestoneStatus))
    delivered_at: datetime | None = tz_field()
    delivery_note: str | None = Field(default=None, max_length=4000)
    review_due_at: datetime | None = tz_field()
    dispute_reason: str | None = Field(default=None, max_length=4000)
    released_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    refunded_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    resolution_note: str | None = Field(default=None, max_length=2000)
    decided_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    settled_at: datetime | None = tz_field()


class DealBroker(SQLModel, table=True):
    """A broker acting for one side of a deal, within a delegated scope, for a commission."""

    __tablename__ = "deal_brokers"
    __table_args__ = (
        sa.Index(
            "ux_deal_brokers_one_per_side",
            "deal_id",
            "side",
            unique=True,
            postgresql_where=sa.text("status IN ('proposed', 'active')"),
        ),
        sa.CheckConstraint("(commission_bps IS NULL) <> (commission_fixed_fen IS NULL)", name="commission"),
        sa.CheckConstraint("commission_bps IS NULL OR commission_bps BETWEEN 0 AND 10000", name="commission_bps"),
    )

    id: uuid.UUID = id_field()
    deal_id: uuid.UUID = Field(foreign_key="deals.id", index=True, ondelete="CASCADE")
    side: Side = Field(sa_type=str_enum(Side))
    broker_user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    agency_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    scope: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(40)))
    commission_bps: int | None = Field(default=None)
    commission_fixed_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    status: BrokerStatus = Field(default=BrokerStatus.active, sa_type=str_enum(BrokerStatus))
    appointed_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_field()
    revoked_at: datetime | None = tz_field()


class Auction(SQLModel, table=True):
    """An electronic auction (电子竞价) of an auction-priced listing; bids serialize on this row's lock."""

    __tablename__ = "auctions"
    __table_args__ = (
        sa.Index(
            "ux_auctions_one_open_per_listing", "listing_id", unique=True, postgresql_where=sa.text("status = 'open'")
        ),
        sa.CheckConstraint("increment_fen > 0 AND start_price_fen > 0 AND deposit_fen >= 0", name="amounts"),
        sa.CheckConstraint("starts_at < ends_at", name="window"),
    )

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True)
    seller_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    opened_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: AuctionState = Field(default=AuctionState.open, sa_type=str_enum(AuctionState))
    trade_mode: str = Field(max_length=30)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    scheduled_ends_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    extension_minutes: int = Field(default=5)
    start_price_fen: int = Field(sa_type=sa.BigInteger)
    increment_fen: int = Field(sa_type=sa.BigInteger)
    reserve_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    deposit_fen: int = Field(default=0, sa_type=sa.BigInteger)
    high_bid_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    high_registration_id: uuid.UUID | None = Field(default=None)
    bid_count: int = Field(default=0)
    registration_count: int = Field(default=0)
    winner_deal_id: uuid.UUID | None = Field(default=None)
    version: int = Field(default=1)
    closed_at: datetime | None = tz_field()
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class AuctionRegistration(SQLModel, table=True):
    """A bidder registered for an auction, known publicly only by its bidder number."""

    __tablename__ = "auction_registrations"
    __table_args__ = (
        sa.UniqueConstraint("auction_id", "organization_id", name="uq_auction_registrations_auction_org"),
        sa.UniqueConstraint("auction_id", "bidder_number", name="uq_auction_registrations_auction_number"),
    )

    id: uuid.UUID = id_field()
    auction_id: uuid.UUID = Field(foreign_key="auctions.id", index=True, ondelete="CASCADE")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    bidder_number: int
    deposit_fen: int = Field(default=0, sa_type=sa.BigInteger)
    deposit_status: DepositStatus = Field(default=DepositStatus.pending, sa_type=str_enum(DepositStatus))
    deposit_reference: str | None = Field(default=None, max_length=100)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class AuctionBid(SQLModel, table=True):
    """One accepted bid; `seq` is its place in the auction's bid sequence (assigned under the auction's lock)."""

    __tablename__ = "auction_bids"
    __table_args__ = (sa.Index("ix_auction_bids_auction_id_seq", "auction_id", "seq"),)

    id: uuid.UUID = id_field()
    auction_id: uuid.UUID = Field(foreign_key="auctions.id", ondelete="CASCADE")
    registration_id: uuid.UUID = Field(foreign_key="auction_registrations.id")
    bidder_number: int
    seq: int
    amount_fen: int = Field(sa_type=sa.BigInteger)
    placed_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    placed_at: datetime = created_field()
    extended_to: datetime | None = tz_field()
