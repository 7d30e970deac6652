"""Request and response shapes of the payments domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from marketplace.kit.schemas import NOT_BOOLEAN, InputSchema, OutputSchema
from marketplace.payments.models import ForfeitTo, PayableKind, PayableStatus, PayoutPurpose, TransferStatus

Fen = Annotated[int, Field(ge=0, le=10**15), NOT_BOOLEAN]
PositiveFen = Annotated[int, Field(gt=0, le=10**15), NOT_BOOLEAN]
Rate = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,3}(\.[0-9]{1,6})?$")]  # ASCII digits in both regex dialects


class BandInput(InputSchema):
    """One band: up to this amount (null: no upper bound), each side's rate in percent ("0.5" is 0.5 %)."""

    up_to_fen: PositiveFen | None
    seller_rate: Rate
    buyer_rate: Rate


class FeeScheduleInput(InputSchema):
    """A new fee schedule version."""

    bands: Annotated[list[BandInput], Field(min_length=1, max_length=20)]
    seller_min_fen: Fen = 0
    buyer_min_fen: Fen = 0
    seller_cap_fen: Fen | None = None
    buyer_cap_fen: Fen | None = None
    broker_commission_bps: Annotated[int, Field(ge=0, le=10_000)] = 100
    deposit_forfeit_to: ForfeitTo = ForfeitTo.seller
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class BandRead(OutputSchema):
    """A stored band."""

    up_to_fen: int | None
    seller_rate: str
    buyer_rate: str


class FeeScheduleRead(OutputSchema):
    """A fee schedule version."""

    version: int
    bands: list[BandRead]
    seller_min_fen: int
    buyer_min_fen: int
    seller_cap_fen: int | None
    buyer_cap_fen: int | None
    broker_commission_bps: int
    deposit_forfeit_to: ForfeitTo = Field(description="Who keeps a forfeited auction deposit.")
    note: str | None
    created_at: datetime


class FeeScheduleList(OutputSchema):
    """Every version, newest first (the first is in force)."""

    items: list[FeeScheduleRead]


class BandLineRead(OutputSchema):
    """One band's arithmetic: the part of the amount in the band times its rate (exact, before rounding)."""

    from_fen: int
    up_to_fen: int | None
    portion_fen: int
    rate_percent: str
    fee_exact_fen: str = Field(description="Exact fee on this band in fen (an integer or a fraction n/d).")


class SideQuoteRead(OutputSchema):
    """One side's fee."""

    bands: list[BandLineRead]
    banded_exact_fen: str = Field(description="The bands' exact sum in fen.")
    minimum_fen: int
    minimum_applied: bool
    cap_fen: int | None
    cap_applied: bool
    fee_fen: int = Field(description="The fee: the exact figure after minimum and cap, rounded half-up once.")


class FeeQuoteRead(OutputSchema):
    """A fee quote."""

    schedule_version: int
    amount_fen: int
    mode: str | None
    currency: str = "CNY"
    seller: SideQuoteRead
    buyer: SideQuoteRead
    broker_commission_bps: int
    broker_commission_fen: int = Field(description="The default commission of one broker on this amount.")
    buyer_pays_fen: int = Field(description="Amount plus the buyer's fee.")
    seller_receives_fen: int = Field(description="Amount less the seller's fee.")
    platform_earns_fen: int


class PayableRead(OutputSchema):
    """Money an organisation is asked to pay, and how to pay it."""

    id: uuid.UUID
    reference: str = Field(description="Quote this code on the bank transfer.")
    kind: PayableKind
    subject_id: uuid.UUID
    deal_id: uuid.UUID | None
    payer_organization_id: uuid.UUID
    payee_organization_id: uuid.UUID | None
    currency: str
    principal_fen: int
    buyer_fee_fen: int
    seller_fee_fen: int
    due_fen: int
    received_fen: int
    remaining_fen: int
    status: PayableStatus
    settled_release_fen: int | None
    settled_refund_fen: int | None
    released_fen: int
    refunded_fen: int
    bank_account: str | None = Field(default=None, description="Where to transfer (offline provider).")


class PayableList(OutputSchema):
    """Payables."""

    items: list[PayableRead]


class DealMoneyRead(OutputSchema):
    """A deal's fee terms, payables and escrow balance."""

    deal_id: uuid.UUID
    schedule_version: int | None
    amount_fen: int | None
    seller_fee_fen: int | None
    buyer_fee_fen: int | None
    escrow_fen: int
    payables: list[PayableRead]


class TransferInput(InputSchema):
    """A bank transfer the platform received, against a payment reference."""

    reference: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    amount_fen: PositiveFen
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)] = Field(
        description="The bank's transaction number (recording it twice records it once)."
    )
    received_at: datetime | None = None


class ReceiptRead(OutputSchema):
    """A recorded receipt and how it matched."""

    id: uuid.UUID
    provider: str
    external_id: str
    payable_id: uuid.UUID | None
    reference: str
    payer_organization_id: uuid.UUID | None
    amount_fen: int
    applied_fen: int
    excess_fen: int = Field(description="Over-payment, credited to the payer's available balance.")
    status: TransferStatus
    ledger_transaction_id: uuid.UUID | None
    received_at: datetime


class PayoutInput(InputSchema):
    """Money the platform paid out to an organisation."""

    organization_id: uuid.UUID
    purpose: PayoutPurpose
    amount_fen: PositiveFen
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    paid_at: datetime | None = None


class PayoutRead(OutputSchema):
    """A recorded payout."""

    id: uuid.UUID
    provider: str
    external_id: str
    organization_id: uuid.UUID
    purpose: PayoutPurpose
    amount_fen: int
    ledger_transaction_id: uuid.UUID | None
    paid_at: datetime


class BalanceRead(OutputSchema):
    """One account's balance."""

    account: str
    kind: str
    currency: str
    balance_fen: int


class BalancesRead(OutputSchema):
    """An organisation's balances."""

    organization_id: uuid.UUID
    accounts: list[BalanceRead]


class MovementRead(OutputSchema):
    """One entry on a statement."""

    entry_id: int
    posted_at: datetime
    account: str
    transaction_id: uuid.UUID
    kind: str
    deal_id: uuid.UUID | None
    memo: str | None
    amount_fen: int
    balance_fen: int


class StatementAccount(OutputSchema):
    """One account's opening, movements and closing for the period."""

    account: str
    kind: str
    opening_fen: int
    credits_fen: int
    debits_fen: int
    closing_fen: int


class StatementRead(OutputSchema):
    """An organisation's statement for a period."""

    organization_id: uuid.UUID
    start: datetime | None
    end: datetime | None
    currency: str = "CNY"
    accounts: list[StatementAccount]
    movements: list[MovementRead]


class MismatchRead(OutputSchema):
    """One difference between a provider's records and the ledger."""

    kind: str
    provider: str
    record_id: str
    detail: str
    provider_fen: int | None
    ledger_fen: int | None


class ReconciliationRead(OutputSchema):
    """Provider records against the ledger."""

    checked: int
    mismatches: list[MismatchRead]
    clearing_fen: dict[str, int] = Field(description="Each provider's clearing balance per the ledger.")


class StripeIntentRead(OutputSchema):
    """A PaymentIntent for a payable: confirm it in the browser with the client secret."""

    payable_id: uuid.UUID
    payment_intent_id: str
    client_secret: str | None
    amount_fen: int


class StripePayoutInput(InputSchema):
    """A payout through Stripe: a refund to the card (name the PaymentIntent) or a transfer to the organisation's
    connected account (seller proceeds, broker commission)."""

    organization_id: uuid.UUID
    purpose: PayoutPurpose
    amount_fen: PositiveFen
    payment_intent_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None


class ConnectInput(InputSchema):
    """Where Stripe sends the user back after onboarding."""

    refresh_url: Annotated[str, StringConstraints(pattern=r"^https://", max_length=500)]
    return_url: Annotated[str, StringConstraints(pattern=r"^https://", max_length=500)]


class ConnectRead(OutputSchema):
    """The organisation's connected account and a one-time onboarding link."""

    account_id: str
    url: str


class WebhookAck(OutputSchema):
    """A Stripe event was accepted (stored once; processed by the worker)."""

    received: bool = True
    duplicate: bool
