"""Request and response shapes of the deals domain; each transition's body is named in TRANSITION_INPUTS."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from marketplace.deals.models import (
    AuctionState,
    BrokerStatus,
    ContractType,
    DealOrigin,
    DepositStatus,
    MilestoneStatus,
    NoticeStatus,
    ObjectionOutcome,
    ObjectionStatus,
    OfferStatus,
    PriceBasis,
)
from marketplace.deals.process import DELEGABLE, TRANSITIONS, Actor, Side, State
from marketplace.kit.pagination import Page
from marketplace.kit.schemas import NOT_BOOLEAN, InputSchema, OutputSchema
from marketplace.listings.models import TradeMode
from marketplace.listings.schemas import MAX_FEN

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Note = Annotated[str, StringConstraints(max_length=2000)]
PositiveFen = Annotated[int, Field(ge=1, le=MAX_FEN, description="Amount in fen (CNY minor units)."), NOT_BOOLEAN]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="Amount in fen (CNY minor units)."), NOT_BOOLEAN]
Version = Annotated[
    int | None,
    Field(default=None, ge=1, description="The version you read (instead of If-Match); a stale one gets 409."),
]


def _delegable(names: list[str]) -> list[str]:
    unknown = sorted(set(names) - DELEGABLE)
    if unknown:
        raise ValueError(f"not delegable: {', '.join(unknown)}; delegable: {', '.join(sorted(DELEGABLE))}")
    return list(dict.fromkeys(names))


Scope = Annotated[
    list[Annotated[str, StringConstraints(max_length=40)]],
    Field(min_length=1, max_length=len(DELEGABLE) + 1, description="Transitions the broker may fire for you."),
    AfterValidator(_delegable),
]


class TransitionInput(InputSchema):
    """A transition with no fields of its own."""

    version: Version = None


class CommissionTerms(InputSchema):
    """A broker's commission: a rate in basis points of the price, or a fixed amount."""

    commission_bps: int | None = Field(default=None, ge=0, le=10_000, description="Rate in basis points (1/100 %).")
    commission_fixed_fen: Fen | None = Field(default=None, description="A fixed commission in fen.")

    @model_validator(mode="after")
    def _one_kind(self) -> CommissionTerms:
        if (self.commission_bps is None) == (self.commission_fixed_fen is None):
            raise ValueError("give exactly one of commission_bps and commission_fixed_fen")
        return self


class OpenDealInput(InputSchema):
    """Open a deal (inquiry) on a published listing; a broker names its client and proposes its terms."""

    listing_id: uuid.UUID
    message: Text = Field(examples=["我司希望了解该技术的中试数据与许可方式。"])
    buyer_organization_id: uuid.UUID | None = Field(
        default=None, description="Brokers only: the enterprise you act for (it confirms you with appoint_broker)."
    )
    broker_scope: Scope | None = Field(default=None, description="Brokers only: the scope you ask for.")
    commission_bps: int | None = Field(default=None, ge=0, le=10_000)
    commission_fixed_fen: Fen | None = None


class MessageInput(TransitionInput):
    """A message to the other party."""

    body: Text


class ReplyInput(TransitionInput):
    """The seller's answer to an inquiry."""

    body: Text


class DeclineInput(TransitionInput):
    """Decline an inquiry."""

    reason: Note | None = None


class NonTechnologyItem(InputSchema):
    """A part of the price that is not technology (equipment, materials...): kept out of 技术交易额."""

    description: ShortText
    amount_fen: PositiveFen


class PlanItem(InputSchema):
    """One milestone of a payment plan."""

    title: ShortText = Field(examples=["首付款"])
    amount_fen: PositiveFen
    due_date: date | None = None
    deliverable: Note | None = Field(default=None, examples=["技术资料交付及首次培训"])


class OfferInput(TransitionInput):
    """An offer or counter-offer."""

    price_fen: PositiveFen = Field(examples=[30_000_000])
    trade_mode: TradeMode = Field(description="One of the listing's trade modes.")
    licence_scope: Note | None = Field(default=None, description="For licences: field of use, sublicensing...")
    territory: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = Field(
        default=None, description="For licences: where it applies (required for licence modes)."
    )
    term_months: int | None = Field(default=None, ge=1, le=1200, description="Term (required for licence modes).")
    non_technology_items: list[NonTechnologyItem] = Field(default_factory=list, max_length=20)
    payment_plan: list[PlanItem] = Field(min_length=1, max_length=50, description="Amounts sum to price_fen.")
    expires_at: datetime | None = Field(default=None, description="Until when it may be accepted (default 7 days).")
    note: Text | None = None


class OfferRefInput(TransitionInput):
    """Act on an open offer."""

    offer_id: uuid.UUID
    note: Note | None = None


class ObjectionInput(TransitionInput):
    """An objection to a deal under public notice."""

    grounds: Annotated[str, StringConstraints(min_length=10, max_length=4000)]


class UpholdInput(TransitionInput):
    """Uphold an objection."""

    objection_id: uuid.UUID
    outcome: ObjectionOutcome = Field(description="renegotiate: back to negotiation; end: the deal is cancelled.")
    note: Note | None = None


class DismissInput(TransitionInput):
    """Dismiss an objection."""

    objection_id: uuid.UUID
    note: Note | None = None


class MilestoneRefInput(TransitionInput):
    """Act on a milestone."""

    milestone_id: uuid.UUID
    note: Note | None = None


class DisputeInput(TransitionInput):
    """Dispute a delivered milestone."""

    milestone_id: uuid.UUID
    reason: Text


class ResolveInput(TransitionInput):
    """Decide a disputed milestone: the two parts sum to its amount."""

    milestone_id: uuid.UUID
    release_fen: Fen = Field(description="Part released to the seller.")
    refund_fen: Fen = Field(description="Part refunded to the buyer.")
    note: Note | None = None


class AppointBrokerInput(TransitionInput):
    """Appoint (or confirm) a broker for your side."""

    broker_user_id: uuid.UUID
    scope: Scope
    commission_bps: int | None = Field(default=None, ge=0, le=10_000, description="Rate in basis points (1/100 %).")
    commission_fixed_fen: Fen | None = Field(default=None, description="A fixed commission in fen.")

    @model_validator(mode="after")
    def _one_kind(self) -> AppointBrokerInput:
        if (self.commission_bps is None) == (self.commission_fixed_fen is None):
            raise ValueError("give exactly one of commission_bps and commission_fixed_fen")
        return self


class ReasonInput(TransitionInput):
    """A transition with an optional reason."""

    reason: Note | None = None


class PlatformCancelInput(TransitionInput):
    """The platform ends a deal."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class OpenAuctionInput(InputSchema):
    """Open an auction on an auction-priced listing (amounts come from the listing's pricing)."""

    listing_id: uuid.UUID
    starts_at: datetime | None = Field(default=None, description="When bidding opens (default now).")
    ends_at: datetime = Field(description="When bidding closes (late bids move it).")
    trade_mode: TradeMode | None = Field(default=None, description="What is sold; default the listing's first mode.")


class RegisterInput(TransitionInput):
    """Register to bid."""


class ConfirmDepositInput(TransitionInput):
    """Mark a bidder's deposit received."""

    registration_id: uuid.UUID
    reference: Annotated[str, StringConstraints(max_length=100)] | None = None


class BidInput(TransitionInput):
    """A bid."""

    amount_fen: PositiveFen


TRANSITION_INPUTS: dict[str, type[InputSchema]] = {
    "open": OpenDealInput,
    "reply": ReplyInput,
    "decline": DeclineInput,
    "message": MessageInput,
    "make_offer": OfferInput,
    "accept_offer": OfferRefInput,
    "reject_offer": OfferRefInput,
    "withdraw_offer": OfferRefInput,
    "expire_offer": OfferRefInput,
    "file_objection": ObjectionInput,
    "uphold_objection": UpholdInput,
    "dismiss_objection": DismissInput,
    "end_notice": TransitionInput,
    "award": TransitionInput,
    "confirm_contract": TransitionInput,
    "lapse_confirmation": TransitionInput,
    "decline_award": ReasonInput,
    "deliver_milestone": MilestoneRefInput,
    "accept_milestone": MilestoneRefInput,
    "dispute_milestone": DisputeInput,
    "resolve_dispute": ResolveInput,
    "auto_accept_milestone": MilestoneRefInput,
    "appoint_broker": AppointBrokerInput,
    "revoke_broker": TransitionInput,
    "cancel": ReasonInput,
    "platform_cancel": PlatformCancelInput,
    "expire_idle": TransitionInput,
    "open_auction": OpenAuctionInput,
    "register": RegisterInput,
    "confirm_deposit": ConfirmDepositInput,
    "withdraw_registration": TransitionInput,
    "bid": BidInput,
    "cancel_auction": ReasonInput,
    "close_auction": TransitionInput,
}
assert set(TRANSITION_INPUTS) == {t.name for t in TRANSITIONS}, "every transition names its body"


# ---------------------------------------------------------------- reads


class NextTransition(OutputSchema):
    """A transition the caller may fire now (or could, but for the guards in blocked_by)."""

    name: str
    summary: str
    as_actor: Actor = Field(description="The part in which the caller would fire it.")
    path: str = Field(description="Where to POST it.")
    needs_version: bool = Field(description="Whether it needs If-Match (or `version`).")
    blocked_by: list[str] = Field(description="Guards that do not hold now (empty: it may fire).")


class DeadlineRead(OutputSchema):
    """An open timer on the deal: at due_at the worker fires `fires`."""

    name: str
    due_at: datetime
    fires: str
    subject_type: str
    subject_id: uuid.UUID


class PlanItemRead(OutputSchema):
    """A payment-plan entry of an offer or contract."""

    title: str
    amount_fen: int
    due_date: date | None = None
    deliverable: str | None = None


class NonTechnologyItemRead(OutputSchema):
    """A non-technology part of the price."""

    description: str
    amount_fen: int


class OfferRead(OutputSchema):
    """An offer."""

    id: uuid.UUID
    deal_id: uuid.UUID
    side: Side
    status: OfferStatus
    price_fen: int
    trade_mode: str
    licence_scope: str | None
    territory: str | None
    term_months: int | None
    non_technology_items: list[NonTechnologyItemRead]
    payment_plan: list[PlanItemRead]
    note: str | None
    expires_at: datetime
    decided_at: datetime | None
    created_at: datetime


class MessageRead(OutputSchema):
    """A message on a deal."""

    id: uuid.UUID
    side: Side
    author_organization_id: uuid.UUID
    author_user_id: uuid.UUID | None
    body: str
    created_at: datetime


class ObjectionRead(OutputSchema):
    """An objection to a deal under public notice."""

    id: uuid.UUID
    status: ObjectionStatus
    organization_id: uuid.UUID | None = Field(description="The objector: shown to the platform and itself only.")
    grounds: str
    outcome: ObjectionOutcome | None
    decision_note: str | None
    decided_at: datetime | None
    created_at: datetime


class NoticePublic(OutputSchema):
    """A public notice (公示) as anyone sees it."""

    id: uuid.UUID
    deal_id: uuid.UUID
    listing_id: uuid.UUID
    result_name: str = Field(description="The technology result's name.")
    buyer_name: str
    seller_name: str
    price_fen: int
    trade_mode: str
    status: NoticeStatus
    starts_at: datetime
    ends_at: datetime
    objections_pending: int
    objections_total: int


class NoticeRead(NoticePublic):
    """A public notice with its objections (parties and platform)."""

    objections: list[ObjectionRead]


class ContractRead(OutputSchema):
    """The contract record."""

    id: uuid.UUID
    contract_type: ContractType
    contract_type_label: str
    trade_mode: str
    amount_fen: int = Field(description="成交额: the contract amount.")
    technology_fen: int = Field(description="技术交易额: the technology part of the amount.")
    non_technology_items: list[NonTechnologyItemRead]
    licence_scope: str | None
    territory: str | None
    term_months: int | None
    payment_plan: list[PlanItemRead]
    subject_name: str
    buyer_name: str
    buyer_credit_code: str | None
    seller_name: str
    seller_credit_code: str | None
    buyer_confirmed_at: datetime | None
    seller_confirmed_at: datetime | None
    created_at: datetime


class MilestoneRead(OutputSchema):
    """A milestone."""

    id: uuid.UUID
    position: int
    title: str
    deliverable: str | None
    amount_fen: int
    due_date: date | None
    status: MilestoneStatus
    delivered_at: datetime | None
    delivery_note: str | None
    review_due_at: datetime | None
    dispute_reason: str | None
    released_fen: int | None
    refunded_fen: int | None
    resolution_note: str | None
    settled_at: datetime | None


class BrokerRead(OutputSchema):
    """A broker appointment."""

    id: uuid.UUID
    side: Side
    broker_user_id: uuid.UUID
    agency_organization_id: uuid.UUID
    scope: list[str]
    commission_bps: int | None
    commission_fixed_fen: int | None
    status: BrokerStatus
    created_at: datetime
    revoked_at: datetime | None


class DealSummary(OutputSchema):
    """A deal in a list."""

    id: uuid.UUID
    listing_id: uuid.UUID
    buyer_organization_id: uuid.UUID
    seller_organization_id: uuid.UUID
    origin: DealOrigin
    state: State
    version: int
    price_fen: int | None
    trade_mode: str | None
    last_activity_at: datetime
    created_at: datetime


class DealRead(DealSummary):
    """A deal: its state, what the caller may do next, open deadlines, and what hangs off it."""

    auction_id: uuid.UUID | None
    price_basis: PriceBasis | None
    notice_required: bool
    deposit_fen: int | None
    confirm_by: datetime | None
    ended_at: datetime | None
    listing_title: str
    confidential_access: bool = Field(description="Whether the buyer may see the listing's confidential part.")
    my_roles: list[Actor] = Field(description="The caller's parts in this deal.")
    next_transitions: list[NextTransition]
    deadlines: list[DeadlineRead]
    open_offer: OfferRead | None
    contract: ContractRead | None
    milestones: list[MilestoneRead]
    brokers: list[BrokerRead]
    notice: NoticeRead | None


DealPage = Page[DealSummary]
OfferPage = Page[OfferRead]
MessagePage = Page[MessageRead]
NoticePage = Page[NoticePublic]


class RegistrationRead(OutputSchema):
    """A bidder's registration."""

    id: uuid.UUID
    auction_id: uuid.UUID
    organization_id: uuid.UUID | None = Field(description="Hidden from everyone but the bidder and the platform.")
    bidder_number: int
    deposit_fen: int
    deposit_status: DepositStatus
    deposit_reference: str | None
    bid_count: int
    created_at: datetime


class AuctionRead(OutputSchema):
    """An auction as the caller may see it: the reserve only to the seller and the platform."""

    id: uuid.UUID
    listing_id: uuid.UUID
    seller_organization_id: uuid.UUID
    status: AuctionState
    trade_mode: str
    starts_at: datetime
    ends_at: datetime
    scheduled_ends_at: datetime
    extension_minutes: int
    start_price_fen: int
    increment_fen: int
    deposit_fen: int
    reserve_fen: int | None = Field(description="Shown to the seller and the platform only.")
    high_bid_fen: int | None
    high_bidder_number: int | None
    next_minimum_bid_fen: int = Field(description="The lowest bid that would be accepted now.")
    bid_count: int
    registration_count: int
    reserve_met: bool | None = Field(description="After the close: whether the reserve was met.")
    version: int
    closed_at: datetime | None
    my_registration: RegistrationRead | None = None


class BidRead(OutputSchema):
    """An accepted bid; the bidder is known by number, its organisation only to the platform."""

    id: uuid.UUID
    seq: int
    bidder_number: int
    amount_fen: int
    placed_at: datetime
    extended_to: datetime | None
    organization_id: uuid.UUID | None = None


class BidResult(OutputSchema):
    """The accepted bid and the auction after it."""

    bid: BidRead
    high_bid_fen: int
    ends_at: datetime
    next_minimum_bid_fen: int


AuctionPage = Page[AuctionRead]
BidPage = Page[BidRead]
RegistrationPage = Page[RegistrationRead]


class ContractRegistration(OutputSchema):
    """The data of 技术合同认定登记 for one deal."""

    deal_id: uuid.UUID
    contract_id: uuid.UUID
    contract_type: ContractType
    contract_type_label: str
    subject_name: str
    buyer_name: str
    buyer_credit_code: str | None
    seller_name: str
    seller_credit_code: str | None
    amount_fen: int
    technology_fen: int
    amount_yuan: str
    technology_yuan: str
    term_months: int | None
    territory: str | None
    signed_on: date | None = Field(description="The day (China time) both parties had confirmed.")


class ProcessState(OutputSchema):
    """A state of the process."""

    name: str
    subject: str
    description: str
    terminal: bool
    idle_expires: bool


class ProcessTransition(OutputSchema):
    """A transition of the process."""

    name: str
    subject: str
    event_type: str
    sources: list[str]
    targets: list[dict[str, Any]]
    actors: list[Actor]
    guards: list[str]
    starts: list[str]
    cancels: list[str]
    versioned: bool
    summary: str
    consequence: str


class ProcessRead(OutputSchema):
    """The deal process as data (docs/deals.md is generated from the same table)."""

    states: list[ProcessState]
    transitions: list[ProcessTransition]
    guards: dict[str, str]
    deadlines: list[dict[str, str]]
