"""The deal process as data: states, transitions, who may fire each, guards and deadlines.

Route handlers only ask the engine (service.DealsService.fire) to fire a transition by name; the engine
checks this table (actor, source state, version, guards), runs the transition's effect, picks the first
branch whose guard holds, starts and cancels the deadlines named here, bumps the version, audits and
emits `<subject>.<transition>`. docs/deals.md is generated from this module (`marketplace deals-doc`).

Two subjects share the table: the deal between a buyer and a seller, and the auction (电子竞价) that
produces a deal for its winner (`close_auction` fires `award`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Subject = Literal["deal", "auction"]
SAME = "(same)"  # a branch that keeps the current state


class State(enum.StrEnum):
    """Where a deal stands."""

    inquiry = "inquiry"
    negotiating = "negotiating"
    public_notice = "public_notice"
    contracting = "contracting"
    performing = "performing"
    completed = "completed"
    declined = "declined"
    cancelled = "cancelled"
    expired = "expired"
    forfeited = "forfeited"


class AuctionState(enum.StrEnum):
    """Where an auction stands."""

    open = "open"
    closed = "closed"
    unsold = "unsold"
    cancelled = "cancelled"


class Actor(enum.StrEnum):
    """Who fires a transition, relative to the deal (or auction)."""

    buyer = "buyer"
    seller = "seller"
    buyer_broker = "buyer_broker"
    seller_broker = "seller_broker"
    platform = "platform"
    verified_org = "verified_org"
    system = "system"


class Side(enum.StrEnum):
    """The two parties of a deal."""

    buyer = "buyer"
    seller = "seller"


# A broker acts for one side, within the scope that side delegated.
BROKER_SIDE = {Actor.buyer_broker: Side.buyer, Actor.seller_broker: Side.seller}
PARTY_SIDE = {Actor.buyer: Side.buyer, Actor.seller: Side.seller, **BROKER_SIDE}
ACTOR_DESCRIPTIONS = {
    Actor.buyer: "the buying organisation (an enterprise; for auctions, the bidder)",
    Actor.seller: "the listing's holder",
    Actor.buyer_broker: "the buyer's appointed broker, for transitions in the delegated scope",
    Actor.seller_broker: "the seller's appointed broker, for transitions in the delegated scope",
    Actor.platform: "the platform operator",
    Actor.verified_org: "any verified organisation that is not a party (public notice objections)",
    Actor.system: "a durable timer run by the worker",
}


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One state of a subject."""

    name: str
    subject: Subject
    description: str
    terminal: bool = False
    idle_expires: bool = False  # an idle deal here expires after DEALS_IDLE_DAYS
    on_entry: str = ""  # what the engine does whenever a deal enters the state


STATES: tuple[StateSpec, ...] = (
    StateSpec(
        "inquiry", "deal", "The buyer asked about a published listing; the seller has not answered.", idle_expires=True
    ),
    StateSpec("negotiating", "deal", "Offers and counter-offers go back and forth.", idle_expires=True),
    StateSpec(
        "public_notice",
        "deal",
        "A state-funded holder agreed a negotiated price: the result, parties and price are posted publicly "
        "(公示) for at least DEALS_NOTICE_DAYS days; objections are decided by the platform.",
        on_entry="post the notice (result name, parties' names, price)",
    ),
    StateSpec(
        "contracting",
        "deal",
        "The agreed terms are a contract record both parties confirm; an auction winner must confirm within "
        "DEALS_CONFIRMATION_WORKDAYS working days.",
        idle_expires=True,
        on_entry="write the contract record and its milestones from the agreed terms; the notice (if any) passed",
    ),
    StateSpec(
        "performing",
        "deal",
        "Milestones are delivered, reviewed and settled.",
        on_entry="tell payments the plan is fixed; an auction deposit is applied to the price",
    ),
    StateSpec(
        "completed", "deal", "Every milestone is settled.", terminal=True, on_entry="tell payments (broker commissions)"
    ),
    StateSpec("declined", "deal", "The seller declined the inquiry.", terminal=True),
    StateSpec(
        "cancelled", "deal", "A party or the platform ended the deal, or an objection was upheld.", terminal=True
    ),
    StateSpec("expired", "deal", "Nothing happened for DEALS_IDLE_DAYS days.", terminal=True),
    StateSpec(
        "forfeited",
        "deal",
        "The auction winner did not confirm in time or walked away: deposit forfeited.",
        terminal=True,
    ),
    StateSpec("open", "auction", "Registrations are taken; bids are taken between starts_at and ends_at."),
    StateSpec(
        "closed", "auction", "Sold: the highest bid met the reserve; the winner's deal is contracting.", terminal=True
    ),
    StateSpec("unsold", "auction", "No bid met the reserve (or there was no bid).", terminal=True),
    StateSpec(
        "cancelled", "auction", "The seller (before any bid) or the platform called the auction off.", terminal=True
    ),
)


@dataclass(frozen=True, slots=True)
class Deadline:
    """A durable timer: a job of `kind` that fires the system transition `fires` when it lapses."""

    name: str
    subject: str  # what the timer hangs on: offer, auction, notice, deal, milestone
    fires: str
    due: str

    @property
    def kind(self) -> str:
        """The job kind the worker runs."""
        return f"deals.{self.name}"


DEADLINES: tuple[Deadline, ...] = (
    Deadline("offer_expiry", "offer", "expire_offer", "the offer's expires_at"),
    Deadline("auction_close", "auction", "close_auction", "the auction's ends_at (moved by late bids)"),
    Deadline("notice_end", "notice", "end_notice", "DEALS_NOTICE_DAYS (15) days after the notice starts"),
    Deadline(
        "confirmation", "deal", "lapse_confirmation", "DEALS_CONFIRMATION_WORKDAYS (5) working days after the award"
    ),
    Deadline("review_window", "milestone", "auto_accept_milestone", "DEALS_REVIEW_DAYS (7) days after delivery"),
    Deadline("idle_expiry", "deal", "expire_idle", "DEALS_IDLE_DAYS (30) days after the last activity"),
)


@dataclass(frozen=True, slots=True)
class Branch:
    """One possible outcome: go to `to` when guard `when` holds (None: otherwise)."""

    to: str
    when: str | None = None
    starts: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """One named step: from which states, to which (first matching branch), by whom, under which guards."""

    name: str
    subject: Subject
    sources: tuple[str, ...]  # empty: the transition creates the subject
    branches: tuple[Branch, ...]
    actors: frozenset[Actor]
    summary: str
    guards: tuple[str, ...] = ()
    starts: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()
    versioned: bool = True  # needs the version the caller read (If-Match or `version`)
    consequence: str = ""
    cancellation: bool = False  # one of the ways a deal or auction ends early

    @property
    def event_type(self) -> str:
        """The outbox event type this transition writes."""
        return f"{self.subject}.{self.name}"

    @property
    def creates(self) -> bool:
        """Whether the transition brings its subject into being."""
        return not self.sources

    @property
    def delegable(self) -> bool:
        """Whether a party may delegate it to its broker."""
        return bool(self.actors & set(BROKER_SIDE))

    def targets(self, source: str | None) -> list[str]:
        """The states this transition can lead to from `source`."""
        return list(dict.fromkeys(source if b.to == SAME and source else b.to for b in self.branches))


def _a(*actors: Actor) -> frozenset[Actor]:
    return frozenset(actors)


PARTIES = _a(Actor.buyer, Actor.seller, Actor.buyer_broker, Actor.seller_broker)
BUYER_SIDE = _a(Actor.buyer, Actor.buyer_broker)
SELLER_SIDE = _a(Actor.seller, Actor.seller_broker)
LIVE = ("inquiry", "negotiating", "public_notice", "contracting", "performing")
TALKING = ("inquiry", "negotiating", "public_notice", "contracting", "performing")
SETTLING = (Branch("completed", when="all_milestones_settled"), Branch(SAME))

TRANSITIONS: tuple[Transition, ...] = (
    # inquiry
    Transition(
        "open",
        "deal",
        (),
        (Branch("inquiry"),),
        BUYER_SIDE,
        "Open a deal on a published listing with a message (a broker names its client).",
        guards=("listing_open_for_deals", "buyer_is_verified_enterprise", "not_own_listing"),
        starts=("idle_expiry",),
        versioned=False,
    ),
    Transition(
        "reply",
        "deal",
        ("inquiry",),
        (Branch("negotiating"),),
        SELLER_SIDE,
        "The seller answers the inquiry.",
    ),
    Transition(
        "decline",
        "deal",
        ("inquiry",),
        (Branch("declined"),),
        SELLER_SIDE,
        "The seller declines the inquiry.",
        cancellation=True,
        consequence="nothing was agreed",
    ),
    Transition(
        "message",
        "deal",
        TALKING,
        (Branch(SAME),),
        PARTIES,
        "Send a message to the other party.",
        versioned=False,
    ),
    # negotiation
    Transition(
        "make_offer",
        "deal",
        ("inquiry", "negotiating"),
        (Branch("negotiating"),),
        PARTIES,
        "Make an offer, or a counter-offer (the other side's open offer is countered, your own superseded).",
        starts=("offer_expiry",),
        cancels=("offer_expiry",),
    ),
    Transition(
        "accept_offer",
        "deal",
        ("negotiating",),
        (
            Branch("public_notice", when="notice_required", starts=("notice_end",)),
            Branch("contracting"),
        ),
        PARTIES,
        "Accept the other side's open offer; a negotiated price with a state-funded holder goes to public notice.",
        guards=("offer_open", "offer_from_other_side", "offer_not_expired"),
        cancels=("offer_expiry",),
        consequence="the offer's terms become the contract record",
    ),
    Transition(
        "reject_offer",
        "deal",
        ("negotiating",),
        (Branch(SAME),),
        PARTIES,
        "Reject the other side's open offer.",
        guards=("offer_open", "offer_from_other_side"),
        cancels=("offer_expiry",),
    ),
    Transition(
        "withdraw_offer",
        "deal",
        ("negotiating",),
        (Branch(SAME),),
        PARTIES,
        "Withdraw your own open offer.",
        guards=("offer_open", "offer_from_own_side"),
        cancels=("offer_expiry",),
    ),
    Transition(
        "expire_offer",
        "deal",
        ("negotiating",),
        (Branch(SAME),),
        _a(Actor.system),
        "An open offer reached its expiry.",
        guards=("offer_open", "offer_lapsed"),
        versioned=False,
    ),
    # public notice (公示)
    Transition(
        "file_objection",
        "deal",
        ("public_notice",),
        (Branch(SAME),),
        _a(Actor.verified_org),
        "Object to a deal under public notice, with grounds.",
        guards=("notice_period_open",),
        versioned=False,
    ),
    Transition(
        "uphold_objection",
        "deal",
        ("public_notice",),
        (
            Branch("negotiating", when="renegotiation_chosen", starts=("idle_expiry",)),
            Branch("cancelled"),
        ),
        _a(Actor.platform),
        "Uphold an objection: the deal goes back to negotiation or ends (the platform chooses).",
        guards=("objection_pending",),
        cancels=("notice_end",),
        consequence="the accepted offer and the contract record are annulled",
    ),
    Transition(
        "dismiss_objection",
        "deal",
        ("public_notice",),
        (Branch("contracting", when="notice_clear", starts=("idle_expiry",)), Branch(SAME)),
        _a(Actor.platform),
        "Dismiss an objection; once the period is over and none is pending, the deal goes to contracting.",
        guards=("objection_pending",),
    ),
    Transition(
        "end_notice",
        "deal",
        ("public_notice",),
        (Branch("contracting", when="no_pending_objections", starts=("idle_expiry",)), Branch(SAME)),
        _a(Actor.system),
        "The notice period ended; with no objection pending the deal goes to contracting.",
        guards=("notice_period_over",),
        versioned=False,
    ),
    # auction result
    Transition(
        "award",
        "deal",
        (),
        (Branch("contracting"),),
        _a(Actor.system),
        "The auction closed with this bidder's bid winning: a deal at the winning price.",
        starts=("confirmation",),
        versioned=False,
        consequence="the winner's deposit is kept toward the price",
    ),
    # contract
    Transition(
        "confirm_contract",
        "deal",
        ("contracting",),
        (Branch("performing", when="both_confirmed", cancels=("confirmation",)), Branch(SAME)),
        PARTIES,
        "Confirm the contract record for your side; when both have, performance starts.",
        guards=("side_not_confirmed",),
        consequence="on performing: an auction deposit is applied to the price",
    ),
    Transition(
        "lapse_confirmation",
        "deal",
        ("contracting",),
        (Branch("forfeited"),),
        _a(Actor.system),
        "The auction winner did not confirm within the confirmation period.",
        guards=("winner_unconfirmed", "confirmation_lapsed"),
        cancellation=True,
        consequence="the winner's deposit is forfeited",
        versioned=False,
    ),
    Transition(
        "decline_award",
        "deal",
        ("contracting",),
        (Branch("forfeited"),),
        _a(Actor.buyer),
        "The auction winner walks away.",
        guards=("winner_unconfirmed",),
        cancels=("confirmation",),
        cancellation=True,
        consequence="the winner's deposit is forfeited",
    ),
    # milestones
    Transition(
        "deliver_milestone",
        "deal",
        ("performing",),
        (Branch(SAME),),
        SELLER_SIDE,
        "Mark a milestone delivered; the buyer's review window starts.",
        guards=("milestone_pending",),
        starts=("review_window",),
    ),
    Transition(
        "accept_milestone",
        "deal",
        ("performing",),
        SETTLING,
        BUYER_SIDE,
        "Accept a delivered milestone.",
        guards=("milestone_delivered",),
        cancels=("review_window",),
        consequence="the milestone's amount is released to the seller",
    ),
    Transition(
        "dispute_milestone",
        "deal",
        ("performing",),
        (Branch(SAME),),
        BUYER_SIDE,
        "Dispute a delivered milestone, with reasons; the platform decides.",
        guards=("milestone_delivered",),
        cancels=("review_window",),
    ),
    Transition(
        "resolve_dispute",
        "deal",
        ("performing",),
        SETTLING,
        _a(Actor.platform),
        "Decide a disputed milestone: release, refund, or split the amount.",
        guards=("milestone_disputed",),
        consequence="the released part goes to the seller, the refunded part back to the buyer",
    ),
    Transition(
        "auto_accept_milestone",
        "deal",
        ("performing",),
        SETTLING,
        _a(Actor.system),
        "The buyer's review window lapsed: the milestone is accepted.",
        guards=("milestone_delivered", "review_lapsed"),
        consequence="the milestone's amount is released to the seller",
        versioned=False,
    ),
    # brokers
    Transition(
        "appoint_broker",
        "deal",
        LIVE,
        (Branch(SAME),),
        _a(Actor.buyer, Actor.seller),
        "Appoint (or confirm) a broker for your side, with a scope and commission terms.",
    ),
    Transition(
        "revoke_broker",
        "deal",
        LIVE,
        (Branch(SAME),),
        _a(Actor.buyer, Actor.seller),
        "Revoke your side's broker.",
        guards=("side_has_broker",),
    ),
    # ending early
    Transition(
        "cancel",
        "deal",
        ("inquiry", "negotiating", "contracting"),
        (Branch("cancelled"),),
        PARTIES,
        "Call the deal off before both parties confirmed the contract.",
        guards=("not_awaiting_award_confirmation",),
        cancels=("offer_expiry",),
        cancellation=True,
        consequence="open offers lapse; nothing was paid",
    ),
    Transition(
        "platform_cancel",
        "deal",
        LIVE,
        (Branch("cancelled"),),
        _a(Actor.platform),
        "The platform ends the deal (e.g. after a complaint).",
        cancels=("offer_expiry", "notice_end", "confirmation", "review_window"),
        cancellation=True,
        consequence="a held deposit is released; unsettled milestone amounts are refunded; a notice is withdrawn",
    ),
    Transition(
        "expire_idle",
        "deal",
        ("inquiry", "negotiating", "contracting"),
        (Branch("expired"),),
        _a(Actor.system),
        "Nothing happened on the deal for the idle period.",
        guards=("idle_lapsed", "not_awaiting_award_confirmation"),
        cancels=("offer_expiry",),
        cancellation=True,
        consequence="open offers lapse",
        versioned=False,
    ),
    # auctions
    Transition(
        "open_auction",
        "auction",
        (),
        (Branch("open"),),
        _a(Actor.seller, Actor.platform),
        "Open an auction (电子竞价) on an auction-priced listing, with its bidding window.",
        guards=("listing_auction_priced", "no_running_auction"),
        starts=("auction_close",),
        versioned=False,
    ),
    Transition(
        "register",
        "auction",
        ("open",),
        (Branch(SAME),),
        _a(Actor.buyer),
        "Register to bid; a deposit (保证金) is due before the first bid.",
        guards=("buyer_is_verified_enterprise", "not_registered", "before_close"),
        versioned=False,
        consequence="the deposit is requested through the DepositGateway",
    ),
    Transition(
        "confirm_deposit",
        "auction",
        ("open",),
        (Branch(SAME),),
        _a(Actor.platform),
        "Mark a bidder's deposit as received (until payments confirms deposits itself).",
        guards=("deposit_pending",),
        versioned=False,
    ),
    Transition(
        "withdraw_registration",
        "auction",
        ("open",),
        (Branch(SAME),),
        _a(Actor.buyer),
        "Withdraw a registration that has not bid (bids bind).",
        guards=("registered", "no_bids_by_bidder"),
        versioned=False,
        consequence="a held deposit is released",
    ),
    Transition(
        "bid",
        "auction",
        ("open",),
        (Branch(SAME),),
        _a(Actor.buyer),
        "Bid: the first at least the start price, each later one the high bid plus a whole number of increments.",
        guards=("registered", "deposit_held", "bidding_window_open"),
        versioned=False,
        consequence="a bid in the last DEALS_AUCTION_EXTENSION_MINUTES moves the close to that long after it",
    ),
    Transition(
        "cancel_auction",
        "auction",
        ("open",),
        (Branch("cancelled"),),
        _a(Actor.seller, Actor.platform),
        "Call the auction off (the seller only before the first bid).",
        guards=("no_bids_unless_platform",),
        cancels=("auction_close",),
        cancellation=True,
        consequence="every held deposit is released",
    ),
    Transition(
        "close_auction",
        "auction",
        ("open",),
        (Branch("closed", when="reserve_met"), Branch("unsold")),
        _a(Actor.system),
        "The bidding window ended: the highest bid at or over the reserve wins (fires `award`).",
        guards=("window_over",),
        consequence="losers' deposits are released; unsold: every deposit is released",
        versioned=False,
    ),
)

TRANSITIONS_BY_NAME: dict[str, Transition] = {t.name: t for t in TRANSITIONS}
DEADLINES_BY_NAME: dict[str, Deadline] = {d.name: d for d in DEADLINES}
DEAL_TRANSITIONS = tuple(t for t in TRANSITIONS if t.subject == "deal")
AUCTION_TRANSITIONS = tuple(t for t in TRANSITIONS if t.subject == "auction")
DELEGABLE = frozenset(t.name for t in DEAL_TRANSITIONS if t.delegable and not t.creates)
TERMINAL_DEAL_STATES = frozenset(s.name for s in STATES if s.subject == "deal" and s.terminal)
IDLE_STATES = frozenset(s.name for s in STATES if s.subject == "deal" and s.idle_expires)


def transition(name: str) -> Transition:
    """A transition by name (KeyError when there is none)."""
    return TRANSITIONS_BY_NAME[name]


def states_of(subject: Subject) -> list[StateSpec]:
    """The states of one subject, in declaration order."""
    return [s for s in STATES if s.subject == subject]


# ---------------------------------------------------------------- guards


class Facts(Protocol):
    """What guards look at (the engine's context): the subject, what hangs off it, the input, the clock."""

    now: datetime
    actor: Actor
    side: Side | None
    deal: Any
    auction: Any
    listing: Any
    buyer: Any
    contract: Any
    offer: Any
    milestone: Any
    notice: Any
    objection: Any
    registration: Any
    broker: Any
    data: Any
    pending_objections: int
    registration_bids: int
    milestones: list[Any]
    idle_days: int


GuardFn = Callable[[Facts], bool]


@dataclass(frozen=True, slots=True)
class Guard:
    """A named predicate over the facts, with the sentence shown when it does not hold."""

    name: str
    description: str
    check: GuardFn = field(compare=False)


GUARDS: dict[str, Guard] = {}


def guard(name: str, description: str) -> Callable[[GuardFn], GuardFn]:
    """Register a named predicate."""

    def register(fn: GuardFn) -> GuardFn:
        GUARDS[name] = Guard(name, description, fn)
        return fn

    return register


def _status(obj: Any) -> str | None:
    return None if obj is None else str(obj.status)


@guard("listing_open_for_deals", "the listing is published and not priced by auction")
def _listing_open(f: Facts) -> bool:
    return f.listing is not None and str(f.listing.status) == "published" and str(f.listing.pricing_kind) != "auction"


@guard("buyer_is_verified_enterprise", "the buying organisation is a verified enterprise")
def _buyer_verified(f: Facts) -> bool:
    return f.buyer is not None and str(f.buyer.kind) == "enterprise" and str(f.buyer.verification_status) == "verified"


@guard("not_own_listing", "the buyer does not hold the listing")
def _not_own(f: Facts) -> bool:
    return f.buyer is not None and f.listing is not None and f.buyer.id != f.listing.organization_id


@guard("offer_open", "the offer is open")
def _offer_open(f: Facts) -> bool:
    return _status(f.offer) == "open"


@guard("offer_from_other_side", "the offer was made by the other side")
def _offer_other(f: Facts) -> bool:
    return f.offer is not None and f.side is not None and str(f.offer.side) != f.side


@guard("offer_from_own_side", "the offer was made by your side")
def _offer_own(f: Facts) -> bool:
    return f.offer is not None and f.side is not None and str(f.offer.side) == f.side


@guard("offer_not_expired", "the offer has not reached its expiry")
def _offer_live(f: Facts) -> bool:
    return f.offer is not None and f.offer.expires_at > f.now


@guard("offer_lapsed", "the offer reached its expiry")
def _offer_lapsed(f: Facts) -> bool:
    return f.offer is not None and f.offer.expires_at <= f.now


@guard("notice_required", "the holder is state-funded and the price was negotiated")
def _notice_required(f: Facts) -> bool:
    return bool(f.deal is not None and f.deal.notice_required)


@guard("notice_period_open", "the notice period is running")
def _notice_open(f: Facts) -> bool:
    return f.notice is not None and _status(f.notice) == "running" and f.now < f.notice.ends_at


@guard("notice_period_over", "the notice period is over")
def _notice_over(f: Facts) -> bool:
    return f.notice is not None and _status(f.notice) == "running" and f.now >= f.notice.ends_at


@guard("objection_pending", "the objection waits for a decision")
def _objection_pending(f: Facts) -> bool:
    return _status(f.objection) == "pending"


@guard("no_pending_objections", "no objection waits for a decision")
def _no_pending(f: Facts) -> bool:
    return f.pending_objections == 0


@guard("notice_clear", "the notice period is over and no objection waits for a decision")
def _notice_clear(f: Facts) -> bool:
    return _notice_over(f) and f.pending_objections == 0


@guard("renegotiation_chosen", "the platform chose to send the deal back to negotiation")
def _renegotiate(f: Facts) -> bool:
    return f.data is not None and getattr(f.data, "outcome", None) == "renegotiate"


@guard("side_not_confirmed", "your side has not confirmed the contract yet")
def _side_unconfirmed(f: Facts) -> bool:
    if f.contract is None or f.side is None:
        return False
    return getattr(f.contract, f"{f.side}_confirmed_at") is None


@guard("both_confirmed", "both parties confirmed the contract")
def _both_confirmed(f: Facts) -> bool:
    return (
        f.contract is not None
        and f.contract.buyer_confirmed_at is not None
        and f.contract.seller_confirmed_at is not None
    )


@guard("winner_unconfirmed", "the deal came from an auction and the winner has not confirmed")
def _winner_unconfirmed(f: Facts) -> bool:
    return (
        f.deal is not None
        and str(f.deal.origin) == "auction"
        and f.contract is not None
        and f.contract.buyer_confirmed_at is None
    )


@guard("confirmation_lapsed", "the winner's confirmation period is over")
def _confirmation_lapsed(f: Facts) -> bool:
    return f.deal is not None and f.deal.confirm_by is not None and f.deal.confirm_by <= f.now


@guard("not_awaiting_award_confirmation", "the deal is not an auction award waiting for the winner")
def _not_award(f: Facts) -> bool:
    return f.deal is not None and not (str(f.deal.origin) == "auction" and str(f.deal.state) == "contracting")


@guard("milestone_pending", "the milestone has not been delivered")
def _milestone_pending(f: Facts) -> bool:
    return _status(f.milestone) == "pending"


@guard("milestone_delivered", "the milestone is delivered and waits for the buyer")
def _milestone_delivered(f: Facts) -> bool:
    return _status(f.milestone) == "delivered"


@guard("milestone_disputed", "the milestone is disputed")
def _milestone_disputed(f: Facts) -> bool:
    return _status(f.milestone) == "disputed"


@guard("review_lapsed", "the buyer's review window is over")
def _review_lapsed(f: Facts) -> bool:
    return f.milestone is not None and f.milestone.review_due_at is not None and f.milestone.review_due_at <= f.now


@guard("all_milestones_settled", "every milestone is settled")
def _all_settled(f: Facts) -> bool:
    return bool(f.milestones) and all(str(m.status) in ("released", "refunded", "split") for m in f.milestones)


@guard("side_has_broker", "your side has a broker")
def _side_has_broker(f: Facts) -> bool:
    return f.broker is not None


@guard("idle_lapsed", "nothing happened for the idle period")
def _idle_lapsed(f: Facts) -> bool:
    from datetime import timedelta

    return f.deal is not None and f.deal.last_activity_at + timedelta(days=f.idle_days) <= f.now


@guard("listing_auction_priced", "the listing is published and priced by auction")
def _listing_auction(f: Facts) -> bool:
    return f.listing is not None and str(f.listing.status) == "published" and str(f.listing.pricing_kind) == "auction"


@guard("no_running_auction", "no other auction of the listing is open")
def _no_running(f: Facts) -> bool:
    return f.auction is None


@guard("not_registered", "the organisation has not registered for this auction")
def _not_registered(f: Facts) -> bool:
    return f.registration is None


@guard("registered", "the organisation registered for this auction")
def _registered(f: Facts) -> bool:
    return f.registration is not None and str(f.registration.deposit_status) in ("pending", "held")


@guard("before_close", "the auction has not reached its close")
def _before_close(f: Facts) -> bool:
    return f.auction is not None and f.now < f.auction.ends_at


@guard("deposit_pending", "the bidder's deposit has not been received")
def _deposit_pending(f: Facts) -> bool:
    return f.registration is not None and str(f.registration.deposit_status) == "pending"


@guard("deposit_held", "the bidder's deposit was received")
def _deposit_held(f: Facts) -> bool:
    return f.registration is not None and str(f.registration.deposit_status) == "held"


@guard("no_bids_by_bidder", "the bidder has not bid")
def _no_bids_by_bidder(f: Facts) -> bool:
    return f.registration is not None and f.registration_bids == 0


@guard("bidding_window_open", "the bidding window is open")
def _window_open(f: Facts) -> bool:
    return f.auction is not None and f.auction.starts_at <= f.now < f.auction.ends_at


@guard("no_bids_unless_platform", "the seller may call an auction off only before the first bid")
def _no_bids_unless_platform(f: Facts) -> bool:
    return f.actor is Actor.platform or (f.auction is not None and f.auction.bid_count == 0)


@guard("window_over", "the bidding window has ended")
def _window_over(f: Facts) -> bool:
    return f.auction is not None and f.now >= f.auction.ends_at


@guard("reserve_met", "the highest bid is at or over the reserve")
def _reserve_met(f: Facts) -> bool:
    a = f.auction
    return a is not None and a.high_bid_fen is not None and (a.reserve_fen is None or a.high_bid_fen >= a.reserve_fen)
