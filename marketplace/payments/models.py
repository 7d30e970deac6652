"""Money tables: fee schedules, each deal's fee terms, the ledger (accounts, transactions, entries), payables
with their reference codes, provider records (received transfers, payouts, Stripe events)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field


class ForfeitTo(enum.StrEnum):
    """Who keeps a forfeited auction deposit."""

    seller = "seller"
    platform = "platform"


class FeeSchedule(SQLModel, table=True):
    """One version of the fee schedule, published by the platform; never changed once published."""

    __tablename__ = "fee_schedules"
    __table_args__ = (
        sa.CheckConstraint("seller_min_fen >= 0 AND buyer_min_fen >= 0", name="minimums"),
        sa.CheckConstraint(
            "(seller_cap_fen IS NULL OR seller_cap_fen >= seller_min_fen) "
            "AND (buyer_cap_fen IS NULL OR buyer_cap_fen >= buyer_min_fen)",
            name="caps",
        ),
        sa.CheckConstraint("broker_commission_bps BETWEEN 0 AND 10000", name="commission"),
    )

    version: int = Field(primary_key=True)
    bands: list[dict[str, Any]] = Field(sa_type=JSONB)
    seller_min_fen: int = Field(sa_type=sa.BigInteger)
    buyer_min_fen: int = Field(sa_type=sa.BigInteger)
    seller_cap_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    buyer_cap_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    broker_commission_bps: int
    deposit_forfeit_to: ForfeitTo = Field(sa_type=str_enum(ForfeitTo))
    note: str | None = Field(default=None, max_length=500)
    published_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_field()


class DealFeeTerms(SQLModel, table=True):
    """The schedule version a deal was agreed under and the fees it fixed (written on contract confirmation)."""

    __tablename__ = "deal_fee_terms"

    deal_id: uuid.UUID = Field(primary_key=True, foreign_key="deals.id", ondelete="CASCADE")
    schedule_version: int = Field(foreign_key="fee_schedules.version")
    currency: str = Field(default="CNY", max_length=3)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    seller_fee_fen: int = Field(sa_type=sa.BigInteger)
    buyer_fee_fen: int = Field(sa_type=sa.BigInteger)
    created_at: datetime = created_field()


class AccountKind(enum.StrEnum):
    """What a ledger account holds. Balances are credit-positive: what the platform owes is positive."""

    available = "available"  # an organisation's money it may be paid out
    held = "held"  # an organisation's auction deposits held
    escrow = "escrow"  # a deal's money paid in and not yet settled
    revenue = "revenue"  # the platform's fees and kept deposits
    commission = "commission"  # commission payable to a broker agency
    clearing = "clearing"  # money at a provider (negative: the provider holds it for us)


NON_NEGATIVE_KINDS = (AccountKind.available, AccountKind.held, AccountKind.escrow, AccountKind.commission)


class LedgerAccount(SQLModel, table=True):
    """A ledger account; `balance_fen` is kept by a trigger from the entries and may not be written directly."""

    __tablename__ = "ledger_accounts"
    __table_args__ = (
        sa.CheckConstraint(
            "kind NOT IN ('available', 'held', 'escrow', 'commission') OR balance_fen >= 0", name="non_negative"
        ),
    )

    id: uuid.UUID = id_field()
    key: str = Field(max_length=120, unique=True)
    kind: AccountKind = Field(sa_type=str_enum(AccountKind))
    currency: str = Field(default="CNY", max_length=3)
    organization_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True)
    deal_id: uuid.UUID | None = Field(default=None, foreign_key="deals.id", index=True)
    provider: str | None = Field(default=None, max_length=20)
    balance_fen: int = Field(default=0, sa_type=sa.BigInteger)
    created_at: datetime = created_field()


class LedgerTransaction(SQLModel, table=True):
    """A posting: two or more entries summing to zero per currency; immutable (a correction reverses it)."""

    __tablename__ = "ledger_transactions"

    id: uuid.UUID = id_field()
    key: str = Field(max_length=200, unique=True)  # derived from our own ids: posting twice is a no-op
    kind: str = Field(max_length=40, index=True)
    deal_id: uuid.UUID | None = Field(default=None, index=True)
    memo: str | None = Field(default=None, max_length=500)
    reverses_id: uuid.UUID | None = Field(default=None, foreign_key="ledger_transactions.id")
    created_at: datetime = created_field()


class LedgerEntry(SQLModel, table=True):
    """One leg of a transaction: a signed amount (credit positive) on one account; immutable."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("amount_fen <> 0", name="amount"),
        sa.Index("ix_ledger_entries_account_id_id", "account_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    transaction_id: uuid.UUID = Field(foreign_key="ledger_transactions.id", index=True)
    account_id: uuid.UUID = Field(foreign_key="ledger_accounts.id")
    currency: str = Field(default="CNY", max_length=3)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    created_at: datetime = created_field()


class PayableKind(enum.StrEnum):
    """What a payable collects."""

    deposit = "deposit"
    milestone = "milestone"
    commission = "commission"
    fee = "fee"  # a seller fee larger than the release it was to come out of


class PayableStatus(enum.StrEnum):
    """open: waiting for (more) money; paid: all received; void: no longer due."""

    open = "open"
    paid = "paid"
    void = "void"


class Payable(SQLModel, table=True):
    """Money an organisation is asked to pay, with the unique reference code its transfer must quote."""

    __tablename__ = "payables"
    __table_args__ = (
        sa.CheckConstraint("due_fen >= 0 AND received_fen >= 0", name="amounts"),
        sa.UniqueConstraint("kind", "subject_id", name="uq_payables_kind_subject"),
    )

    id: uuid.UUID = id_field()
    reference: str = Field(max_length=20, unique=True)
    kind: PayableKind = Field(sa_type=str_enum(PayableKind))
    subject_id: uuid.UUID  # the milestone, the auction registration, or the broker appointment
    deal_id: uuid.UUID | None = Field(default=None, index=True)
    payer_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    payee_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    currency: str = Field(default="CNY", max_length=3)
    principal_fen: int = Field(sa_type=sa.BigInteger)  # the milestone's amount, the deposit, the commission
    buyer_fee_fen: int = Field(default=0, sa_type=sa.BigInteger)  # the buyer's fee share collected with it
    seller_fee_fen: int = Field(default=0, sa_type=sa.BigInteger)  # the seller's fee share kept at release
    due_fen: int = Field(sa_type=sa.BigInteger)
    received_fen: int = Field(default=0, sa_type=sa.BigInteger)
    status: PayableStatus = Field(default=PayableStatus.open, sa_type=str_enum(PayableStatus))
    # A milestone's settlement, once the deal decided it: how much of the principal goes to the seller / back.
    settled_release_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    settled_refund_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    # What has been posted out of escrow so far (cumulative; the ledger keys make each step post once).
    released_fen: int = Field(default=0, sa_type=sa.BigInteger)
    refunded_fen: int = Field(default=0, sa_type=sa.BigInteger)
    provider_ref: str | None = Field(default=None, max_length=100)  # e.g. a Stripe PaymentIntent id
    created_at: datetime = created_field()
    updated_at: datetime = created_field()


class TransferStatus(enum.StrEnum):
    """How a received transfer matched its payable."""

    exact = "exact"
    partial = "partial"
    overpaid = "overpaid"
    unmatched = "unmatched"


class ProviderReceipt(SQLModel, table=True):
    """Money a provider says it received (a bank transfer recorded by the platform, a Stripe payment)."""

    __tablename__ = "provider_receipts"
    __table_args__ = (
        sa.UniqueConstraint("provider", "external_id", name="uq_provider_receipts_provider_external"),
        sa.CheckConstraint("amount_fen > 0", name="amount"),
    )

    id: uuid.UUID = id_field()
    provider: str = Field(max_length=20)
    external_id: str = Field(max_length=200)  # the bank's transaction number, or the Stripe object id
    payable_id: uuid.UUID | None = Field(default=None, foreign_key="payables.id", index=True)
    reference: str = Field(max_length=100)
    payer_organization_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    currency: str = Field(default="CNY", max_length=3)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    applied_fen: int = Field(default=0, sa_type=sa.BigInteger)
    excess_fen: int = Field(default=0, sa_type=sa.BigInteger)
    status: TransferStatus = Field(sa_type=str_enum(TransferStatus))
    ledger_transaction_id: uuid.UUID | None = Field(default=None)
    recorded_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    received_at: datetime = created_field()
    created_at: datetime = created_field()


class PayoutPurpose(enum.StrEnum):
    """What a payout pays out."""

    proceeds = "proceeds"
    commission = "commission"
    refund = "refund"


class ProviderPayout(SQLModel, table=True):
    """Money the platform paid out through a provider (debits the organisation's account, credits clearing)."""

    __tablename__ = "provider_payouts"
    __table_args__ = (
        sa.UniqueConstraint("provider", "external_id", name="uq_provider_payouts_provider_external"),
        sa.CheckConstraint("amount_fen > 0", name="amount"),
    )

    id: uuid.UUID = id_field()
    provider: str = Field(max_length=20)
    external_id: str = Field(max_length=200)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    purpose: PayoutPurpose = Field(sa_type=str_enum(PayoutPurpose))
    currency: str = Field(default="CNY", max_length=3)
    amount_fen: int = Field(sa_type=sa.BigInteger)
    ledger_transaction_id: uuid.UUID | None = Field(default=None)
    recorded_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    # For payouts made through Stripe: the PaymentIntent refunded (refunds), the Stripe object once sent.
    payment_intent_id: str | None = Field(default=None, max_length=100)
    provider_ref: str | None = Field(default=None, max_length=100)
    sent_at: datetime | None = tz_field()
    paid_at: datetime = created_field()
    created_at: datetime = created_field()


class ProviderEvent(SQLModel, table=True):
    """An incoming provider webhook event, stored once by its id and processed by a job."""

    __tablename__ = "provider_events"
    __table_args__ = (sa.UniqueConstraint("provider", "event_id", name="uq_provider_events_provider_event"),)

    id: uuid.UUID = id_field()
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=200)
    type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(sa_type=JSONB)
    processed_at: datetime | None = tz_field()
    outcome: str | None = Field(default=None, max_length=200)
    created_at: datetime = created_field()


class StripeAccount(SQLModel, table=True):
    """An organisation's Stripe Connect account (sellers and broker agencies are paid out to it)."""

    __tablename__ = "stripe_accounts"

    organization_id: uuid.UUID = Field(primary_key=True, foreign_key="organizations.id")
    account_id: str = Field(max_length=100, unique=True)
    created_at: datetime = created_field()
