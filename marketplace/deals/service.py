"""The rules of the deals domain: one engine fires the transitions declared in process.py.

Every transition goes through DealsService._run: the caller's part (actor) is checked against the table,
then the source state, the version, the body and the guards; the transition's effect runs; the first branch
whose guard holds names the target state; entering a state does what process.STATES says; the deadlines
named by the transition and branch are started or cancelled; the version is bumped; an audit record and an
outbox event (`deal.<name>` / `auction.<name>`) are written, all in the caller's transaction.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import Organization, OrganizationKind, VerificationStatus
from marketplace.accounts.principal import Principal
from marketplace.deals import errors, views
from marketplace.deals.config import DealsSettings, deals_settings
from marketplace.deals.models import (
    CONTRACT_TYPE_OF_MODE,
    LICENCE_MODES,
    SETTLED_MILESTONES,
    Auction,
    AuctionBid,
    AuctionRegistration,
    BrokerStatus,
    ContractType,
    Deal,
    DealBroker,
    DealContract,
    DealMessage,
    DealMilestone,
    DealNotice,
    DealObjection,
    DealOffer,
    DealOrigin,
    DepositStatus,
    MilestoneStatus,
    NoticeStatus,
    ObjectionOutcome,
    ObjectionStatus,
    OfferStatus,
    PriceBasis,
)
from marketplace.deals.ports import deposits, payments
from marketplace.deals.process import (
    BROKER_SIDE,
    DEADLINES_BY_NAME,
    GUARDS,
    PARTY_SIDE,
    SAME,
    TERMINAL_DEAL_STATES,
    TRANSITIONS,
    TRANSITIONS_BY_NAME,
    Actor,
    AuctionState,
    Branch,
    Side,
    State,
    Subject,
    Transition,
)
from marketplace.deals.repository import DealsRepository
from marketplace.deals.schemas import TRANSITION_INPUTS, AuctionRead
from marketplace.events import jobs
from marketplace.events.service import EventRecorder
from marketplace.kit import time as clock
from marketplace.kit.errors import FieldProblem, InvalidInput, PreconditionRequired
from marketplace.kit.etag import etag, versions_in
from marketplace.kit.ids import uuid7
from marketplace.kit.workdays import CHINA_TZ
from marketplace.listings.models import Listing, ListingStatus

log = structlog.get_logger("marketplace.deals")

# Who acts when a caller holds several parts: a party before its broker, the platform before a bystander.
_ACTOR_PREFERENCE = (
    Actor.buyer,
    Actor.seller,
    Actor.platform,
    Actor.buyer_broker,
    Actor.seller_broker,
    Actor.verified_org,
    Actor.system,
)
_ITEM_GUARDS = {
    "offer": ("offer_open", "offer_from_other_side", "offer_from_own_side", "offer_not_expired", "offer_lapsed"),
    "milestone": ("milestone_pending", "milestone_delivered", "milestone_disputed", "review_lapsed"),
    "objection": ("objection_pending",),
}
AUCTION_PAYMENT_TITLE = "成交价款"
CLOSING_SOON_KIND = "deals.auction_closing_soon"
MILESTONE_DUE_KIND = "deals.milestone_due"
# Transitions that write their audit record and event before taking the auction's lock (see _bid_records).
EVENTS_BEFORE_LOCK = frozenset({"bid"})
# Callers of one auction queue in this process for its row lock (tests switch it off to act as many processes).
GATE_AUCTIONS = True
_GATES: weakref.WeakValueDictionary[tuple[int, uuid.UUID, str], asyncio.Lock] = weakref.WeakValueDictionary()


def auction_gate(auction_id: uuid.UUID, stage: str) -> asyncio.Lock:
    """This process's first-come-first-served queue for one stage of one auction (asyncio.Lock wakes in order)."""
    key = (id(asyncio.get_running_loop()), auction_id, stage)
    gate = _GATES.get(key)
    if gate is None:
        gate = asyncio.Lock()
        _GATES[key] = gate
    return gate


@dataclass
class Ctx:
    """One firing of one transition: who, on what, with which input, and what it touched (the guards' facts)."""

    transition: Transition
    principal: Principal | None
    actor: Actor
    side: Side | None
    now: datetime
    data: Any
    idle_days: int
    deal: Deal | None = None
    auction: Auction | None = None
    listing: Listing | None = None
    buyer: Organization | None = None
    contract: DealContract | None = None
    offer: DealOffer | None = None
    milestone: DealMilestone | None = None
    notice: DealNotice | None = None
    objection: DealObjection | None = None
    registration: AuctionRegistration | None = None
    broker: DealBroker | None = None
    pending_objections: int = 0
    registration_bids: int = 0
    milestones: list[DealMilestone] = field(default_factory=list)
    brokers: list[DealBroker] = field(default_factory=list)
    registrations: list[AuctionRegistration] = field(default_factory=list)
    closed_offers: list[DealOffer] = field(default_factory=list)
    closed_milestones: list[DealMilestone] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)
    diff: dict[str, Any] = field(default_factory=dict)
    audience: list[uuid.UUID] = field(default_factory=list)
    # Events for a narrower audience than the transition's own (e.g. auction.outbid to the outbid bidder only).
    private_events: list[dict[str, Any]] = field(default_factory=list)
    result: Any = None


@dataclass(frozen=True, slots=True)
class Standing:
    """The caller's parts in a deal and whether the deal is theirs to see."""

    roles: frozenset[Actor]
    visible: bool
    brokers: tuple[DealBroker, ...] = ()

    def broker_for(self, actor: Actor) -> DealBroker | None:
        """The active appointment behind a broker part."""
        side = BROKER_SIDE.get(actor)
        return next((b for b in self.brokers if b.side == side and b.status == BrokerStatus.active), None)


@dataclass(frozen=True, slots=True)
class DealBundle:
    """A deal with what its read shows."""

    deal: Deal
    standing: Standing
    listing: Listing | None
    confidential_access: bool
    open_offer: DealOffer | None
    contract: DealContract | None
    milestones: list[DealMilestone]
    brokers: list[DealBroker]
    notice: DealNotice | None
    objections: list[DealObjection]
    objection_counts: tuple[int, int]
    next_transitions: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]


Effect = Callable[["DealsService", Ctx], Awaitable[None]]
EFFECTS: dict[str, Effect] = {}


def effect(name: str) -> Callable[[Effect], Effect]:
    """Register the effect of a transition (what it changes besides the state)."""

    def register(fn: Effect) -> Effect:
        EFFECTS[name] = fn
        return fn

    return register


def validate_input(name: str, body: Any) -> Any:
    """A transition's body, validated by its schema (422 with JSON pointers)."""
    model = TRANSITION_INPUTS[name]
    if isinstance(body, model):
        return body
    if isinstance(body, BaseModel):
        body = body.model_dump(exclude_unset=True)
    try:
        return model.model_validate({} if body is None else body)
    except ValidationError as exc:
        problems = [
            FieldProblem(
                detail=str(e["msg"]).removeprefix("Value error, "),
                pointer="/" + "/".join(str(p) for p in e["loc"]) if e["loc"] else "",
            )
            for e in exc.errors()
        ]
        detail = "; ".join(p.detail if not p.pointer else f"{p.pointer}: {p.detail}" for p in problems)
        raise InvalidInput(detail or "the body is not valid", errors=problems) from None


def _ts(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


class DealsService:
    """Deals and auctions: the engine, the effects of each transition, timers and reads."""

    def __init__(self, session: AsyncSession, *, settings: DealsSettings | None = None) -> None:
        self.session = session
        self.repo = DealsRepository(session)
        self.events = EventRecorder(session)
        self.settings = settings or deals_settings()

    # ============================================================ who is calling

    async def standing(self, principal: Principal | None, deal: Deal) -> Standing:
        """The caller's parts in a deal (brokers by their appointment) and whether they may see it."""
        if principal is None:
            return Standing(frozenset(), False)
        brokers = await self.repo.brokers_of(deal.id)
        roles: set[Actor] = set()
        if principal.is_platform:
            roles.add(Actor.platform)
        if principal.organization_id == deal.buyer_organization_id:
            roles.add(Actor.buyer)
        if principal.organization_id == deal.seller_organization_id:
            roles.add(Actor.seller)
        visible = bool(roles)
        for b in brokers:
            if b.agency_organization_id == principal.organization_id:
                visible = True  # the agency sees what its broker works on
                if b.broker_user_id == principal.user_id and b.status == BrokerStatus.active:
                    roles.add(Actor.buyer_broker if b.side == Side.buyer else Actor.seller_broker)
        if principal.organization_verified and not visible:
            roles.add(Actor.verified_org)  # a bystander: neither a party, its broker's agency, nor the platform
        return Standing(frozenset(roles), visible, tuple(brokers))

    def _auction_roles(self, principal: Principal | None, auction: Auction) -> frozenset[Actor]:
        if principal is None:
            return frozenset()
        roles: set[Actor] = set()
        if principal.is_platform:
            roles.add(Actor.platform)
        if principal.organization_id == auction.seller_organization_id:
            roles.add(Actor.seller)
        elif principal.organization_kind is OrganizationKind.enterprise:
            roles.add(Actor.buyer)
        return frozenset(roles)

    @staticmethod
    def _pick_actor(t: Transition, roles: frozenset[Actor], standing: Standing | None = None) -> Actor:
        allowed = [a for a in _ACTOR_PREFERENCE if a in roles and a in t.actors]
        if not allowed:
            raise errors.TransitionNotAllowed(
                f"{t.name} is fired by {', '.join(sorted(a.value for a in t.actors))}; "
                f"you are {', '.join(sorted(r.value for r in roles)) or 'not part of this ' + t.subject}"
            )
        for actor in allowed:
            if actor not in BROKER_SIDE:
                return actor
            broker = standing.broker_for(actor) if standing else None
            if broker is not None and t.name in broker.scope:
                return actor
        raise errors.OutsideBrokerScope(f"your principal did not delegate {t.name} to you")

    # ============================================================ versions

    @staticmethod
    def _check_version(t: Transition, *, current: int, data: Any, if_match: str | None) -> None:
        given: set[int] | None = None
        if getattr(data, "version", None) is not None:
            given = {int(data.version)}
        elif if_match is not None and if_match.strip() and if_match.strip() != "*":
            given = versions_in(if_match)
        if given is None:
            if t.versioned:
                raise PreconditionRequired(
                    f'{t.name} needs the version you read: send If-Match (e.g. W/"{current}") or `version`',
                    errors=[FieldProblem(detail="required", parameter="If-Match", location="header")],
                )
            return
        if current not in given:
            raise errors.DealVersionConflict(
                f"the {t.subject} changed since you read it; it is now at version {current}",
                headers={"ETag": etag(current)},
                extra={"current_version": current},
            )

    # ============================================================ the engine

    def _named(self, name: str, subject: Subject) -> Transition:
        t = TRANSITIONS_BY_NAME.get(name)
        if t is None or t.subject != subject:
            known = ", ".join(x.name for x in TRANSITIONS if x.subject == subject and not x.creates)
            raise errors.UnknownTransition(f"no {subject} transition {name!r}; the {subject} transitions are: {known}")
        return t

    def _ctx(self, t: Transition, principal: Principal | None, actor: Actor, data: Any) -> Ctx:
        return Ctx(
            transition=t,
            principal=principal,
            actor=actor,
            side=PARTY_SIDE.get(actor),
            now=clock.utcnow(),
            data=data,
            idle_days=self.settings.idle_days,
        )

    @staticmethod
    def _blocked(ctx: Ctx, names: Sequence[str]) -> list[str]:
        return [g for g in names if not GUARDS[g].check(ctx)]

    def _check_guards(self, ctx: Ctx) -> None:
        failing = self._blocked(ctx, ctx.transition.guards)
        if failing:
            reasons = "; ".join(GUARDS[g].description for g in failing)
            raise errors.TransitionBlocked(
                f"{ctx.transition.name} cannot fire: needs {reasons}", extra={"blocked_by": failing}
            )

    @staticmethod
    def _branch(ctx: Ctx) -> Branch:
        for branch in ctx.transition.branches:
            if branch.when is None or GUARDS[branch.when].check(ctx):
                return branch
        raise AssertionError(f"{ctx.transition.name}: no branch applies")  # the table ends every list with a default

    async def fire_deal(
        self,
        principal: Principal | None,
        deal_id: uuid.UUID,
        name: str,
        body: Any = None,
        *,
        if_match: str | None = None,
        system_data: Any = None,
        via_notice: bool = False,
    ) -> Ctx:
        """Fire a deal transition for the caller (principal None with system_data: the worker's timers)."""
        t = self._named(name, "deal")
        if t.creates:
            raise errors.UnknownTransition(f"{name} creates a deal; it is not fired on an existing one")
        if t.actors == {Actor.verified_org} and not via_notice and system_data is None:
            raise errors.UnknownTransition(f"{name} is filed at POST /api/v1/public-notices/{{notice_id}}/objections")
        deal = await self.repo.get_deal(deal_id)
        if deal is None:
            raise errors.DealNotFound()
        if system_data is not None:
            actor, standing = self._pick_actor(t, frozenset({Actor.system})), Standing(frozenset({Actor.system}), True)
            data = validate_input(name, system_data)
        else:
            standing = await self.standing(principal, deal)
            public_notice = Actor.verified_org in t.actors and deal.state == State.public_notice
            if not standing.visible and not (public_notice and Actor.verified_org in standing.roles):
                raise errors.DealNotFound()
            actor = self._pick_actor(t, standing.roles, standing)
            data = validate_input(name, body)
        locked = await self.repo.lock_deal(deal_id)
        assert locked is not None  # deals are never deleted
        deal = locked
        ctx = self._ctx(t, principal, actor, data)
        ctx.deal = deal
        ctx.brokers = list(standing.brokers) if standing.brokers else await self.repo.brokers_of(deal.id)
        if actor is not Actor.system:
            self._check_version(t, current=deal.version, data=data, if_match=if_match)
        source = str(deal.state)
        if source not in t.sources:
            raise errors.TransitionNotAvailable(
                f"{name} fires from {', '.join(t.sources)}; the deal is {source}", extra={"state": source}
            )
        await self._load_deal_facts(ctx)
        self._check_guards(ctx)
        await EFFECTS[name](self, ctx)
        await self._finish_deal(ctx, source)
        return ctx

    async def _load_deal_facts(self, ctx: Ctx) -> None:
        deal = ctx.deal
        assert deal is not None
        data = ctx.data
        state = str(deal.state)
        ctx.listing = await self.repo.get_listing(deal.listing_id)
        if ctx.side is not None:
            ctx.broker = next((b for b in ctx.brokers if b.side == ctx.side), None)
        if state in ("contracting", "performing"):
            ctx.contract = await self.repo.contract_of(deal.id)
        if state == "performing" or ctx.transition.name == "platform_cancel":
            ctx.milestones = await self.repo.milestones_of(deal.id)
        if state == "public_notice":
            ctx.notice = await self.repo.current_notice(deal.id)
            if ctx.notice is not None:
                ctx.pending_objections = await self.repo.pending_objections(ctx.notice.id)
        offer_id = getattr(data, "offer_id", None)
        if offer_id is not None:
            ctx.offer = await self.repo.get_offer(deal.id, offer_id)
            if ctx.offer is None:
                raise InvalidInput.field("/offer_id", "no offer with this id on this deal")
        milestone_id = getattr(data, "milestone_id", None)
        if milestone_id is not None:
            ctx.milestone = next((m for m in ctx.milestones if m.id == milestone_id), None)
            if ctx.milestone is None:
                raise InvalidInput.field("/milestone_id", "no milestone with this id on this deal")
        objection_id = getattr(data, "objection_id", None)
        if objection_id is not None:
            ctx.objection = await self.repo.get_objection(deal.id, objection_id)
            if ctx.objection is None:
                raise InvalidInput.field("/objection_id", "no objection with this id on this deal")

    async def _finish_deal(self, ctx: Ctx, source: str | None) -> None:
        deal = ctx.deal
        assert deal is not None
        t = ctx.transition
        branch = self._branch(ctx)
        target = source if branch.to == SAME and source is not None else branch.to
        previous_version = deal.version
        deal.state = State(target)
        deal.last_activity_at = ctx.now
        if source is not None:
            deal.version += 1
        if target in TERMINAL_DEAL_STATES and deal.ended_at is None:
            deal.ended_at = ctx.now
        if target != source:
            await self._enter(ctx, target)
        for name in (*t.cancels, *branch.cancels):
            await self._cancel_deadline(ctx, name)
        for name in (*t.starts, *branch.starts):
            await self._start_deadline(ctx, name)
        await self.repo.flush()
        diff: dict[str, Any] = {"version": [previous_version if source else None, deal.version], **ctx.diff}
        if target != source:
            diff["state"] = [source, target]
        audience = [
            deal.buyer_organization_id,
            deal.seller_organization_id,
            # brokers' agencies, including one revoked by this very transition
            *(
                b.agency_organization_id
                for b in ctx.brokers
                if b.status != BrokerStatus.revoked or b.revoked_at == ctx.now
            ),
        ]
        self.events.audit(
            actor=ctx.principal,
            organization_id=self._audit_org(ctx),
            action=t.event_type,
            target_type="deal",
            target_id=deal.id,
            diff=diff,
        )
        self.events.emit(
            type=t.event_type,
            organization_id=deal.seller_organization_id,
            subject_type="deal",
            subject_id=deal.id,
            payload={
                "deal_id": deal.id,
                "listing_id": deal.listing_id,
                "transition": t.name,
                "actor": ctx.actor.value,
                "previous_state": source,
                "state": target,
                "version": deal.version,
                **ctx.payload,
            },
            audience=list(dict.fromkeys(audience)),
        )
        log.info("deal transition", deal_id=str(deal.id), transition=t.name, state=target, actor=ctx.actor.value)

    @staticmethod
    def _audit_org(ctx: Ctx) -> uuid.UUID | None:
        deal = ctx.deal
        assert deal is not None
        if ctx.side is Side.buyer:
            return deal.buyer_organization_id
        if ctx.actor is Actor.verified_org and ctx.principal is not None:
            return ctx.principal.organization_id
        return deal.seller_organization_id

    # ------------------------------------------------------------ entering a state

    async def _enter(self, ctx: Ctx, state: str) -> None:
        deal = ctx.deal
        assert deal is not None
        if state == "public_notice":
            await self._post_notice(ctx)
        elif state == "contracting":
            await self._write_contract(ctx)
        elif state == "performing":
            await self._start_performance(ctx)
        elif state == "completed":
            await payments().on_deal_completed(
                self.session, deal=deal, brokers=[b for b in ctx.brokers if b.status == BrokerStatus.active]
            )
        if state in TERMINAL_DEAL_STATES:
            open_offer = await self.repo.open_offer(deal.id)
            if open_offer is not None:
                open_offer.status = OfferStatus.lapsed
                open_offer.decided_at = ctx.now
                ctx.closed_offers.append(open_offer)
            notice = ctx.notice or await self.repo.current_notice(deal.id)
            if notice is not None and notice.status == NoticeStatus.running:
                notice.status = NoticeStatus.withdrawn
                notice.closed_at = ctx.now
                ctx.notice = notice

    async def _post_notice(self, ctx: Ctx) -> None:
        deal, listing = ctx.deal, ctx.listing
        assert deal is not None and listing is not None and deal.price_fen is not None
        buyer = await self.repo.get_organization(deal.buyer_organization_id)
        seller = await self.repo.get_organization(deal.seller_organization_id)
        notice = DealNotice(
            deal_id=deal.id,
            listing_id=deal.listing_id,
            result_name=listing.title_zh,
            buyer_name=buyer.name_zh if buyer else "",
            seller_name=seller.name_zh if seller else "",
            price_fen=deal.price_fen,
            trade_mode=deal.trade_mode or "",
            starts_at=ctx.now,
            ends_at=ctx.now + timedelta(days=self.settings.notice_days),
        )
        await self.repo.add(notice)
        ctx.notice = notice
        ctx.payload["notice_id"] = notice.id
        ctx.payload["notice_ends_at"] = notice.ends_at

    async def _write_contract(self, ctx: Ctx) -> None:
        deal, listing = ctx.deal, ctx.listing
        assert deal is not None and listing is not None and deal.price_fen is not None
        if await self.repo.contract_of(deal.id) is not None:
            return
        buyer = await self.repo.get_organization(deal.buyer_organization_id)
        seller = await self.repo.get_organization(deal.seller_organization_id)
        mode = deal.trade_mode or "transfer"
        if deal.agreed_offer_id is not None:
            offer = await self.repo.get_offer(deal.id, deal.agreed_offer_id)
            assert offer is not None
            plan = list(offer.payment_plan)
            extras = list(offer.non_technology_items)
            scope, territory, term = offer.licence_scope, offer.territory, offer.term_months
        else:  # an auction award: the whole price, due some days after the award
            due = _china_day(ctx.now) + timedelta(days=self.settings.auction_payment_days)
            plan = [{"title": AUCTION_PAYMENT_TITLE, "amount_fen": deal.price_fen, "due_date": due.isoformat()}]
            extras, scope, territory, term = [], None, None, None
        contract = DealContract(
            deal_id=deal.id,
            offer_id=deal.agreed_offer_id,
            contract_type=CONTRACT_TYPE_OF_MODE.get(mode, ContractType.transfer),
            trade_mode=mode,
            amount_fen=deal.price_fen,
            technology_fen=deal.price_fen - sum(int(i["amount_fen"]) for i in extras),
            non_technology_items=extras,
            licence_scope=scope,
            territory=territory,
            term_months=term,
            payment_plan=plan,
            subject_name=listing.title_zh,
            buyer_name=buyer.name_zh if buyer else "",
            buyer_credit_code=buyer.credit_code if buyer else None,
            seller_name=seller.name_zh if seller else "",
            seller_credit_code=seller.credit_code if seller else None,
        )
        self.repo.stage(contract)
        for i, item in enumerate(plan):
            self.repo.stage(
                DealMilestone(
                    deal_id=deal.id,
                    position=i,
                    title=item["title"],
                    deliverable=item.get("deliverable"),
                    amount_fen=int(item["amount_fen"]),
                    due_date=date.fromisoformat(item["due_date"]) if item.get("due_date") else None,
                )
            )
        await self.repo.flush()
        ctx.contract = contract
        ctx.payload["contract_id"] = contract.id
        if ctx.notice is not None and ctx.notice.status == NoticeStatus.running:
            ctx.notice.status = NoticeStatus.passed
            ctx.notice.closed_at = ctx.now

    async def _start_performance(self, ctx: Ctx) -> None:
        deal = ctx.deal
        assert deal is not None
        milestones = await self.repo.milestones_of(deal.id)
        ctx.milestones = milestones
        await payments().on_contract_confirmed(self.session, deal=deal, milestones=milestones)
        if deal.registration_id is not None and deal.auction_id is not None:
            registration = await self.repo.get_registration(deal.auction_id, deal.registration_id)
            if registration is not None and registration.deposit_status == DepositStatus.held:
                await deposits().apply_to_price(self.session, registration=registration, deal=deal)
                registration.deposit_status = DepositStatus.applied
        await self._schedule_milestone_reminders(ctx.now, milestones)

    async def _schedule_milestone_reminders(self, now: datetime, milestones: list[DealMilestone]) -> None:
        """A reminder per dated milestone, DEALS_MILESTONE_REMINDER_DAYS before its due date (09:00 China time)."""
        days = self.settings.milestone_reminder_days
        if not days:
            return
        for milestone in milestones:
            if milestone.due_date is None:
                continue
            day = milestone.due_date - timedelta(days=days)
            remind_at = datetime.combine(day, time(9), tzinfo=CHINA_TZ)
            await jobs.schedule(
                self.session,
                kind=MILESTONE_DUE_KIND,
                payload={"deal_id": str(milestone.deal_id), "milestone_id": str(milestone.id)},
                run_at=max(remind_at, now),
                dedupe_key=f"{MILESTONE_DUE_KIND}:{milestone.id}",
            )

    async def remind_milestone_due(self, deal_id: uuid.UUID, milestone_id: uuid.UUID) -> bool:
        """Tell both parties a milestone falls due soon; False when it was delivered or the deal moved on."""
        deal = await self.repo.get_deal(deal_id)
        if deal is None or deal.state != State.performing:
            return False
        milestone = next((m for m in await self.repo.milestones_of(deal.id) if m.id == milestone_id), None)
        if milestone is None or milestone.status != MilestoneStatus.pending:
            return False
        self.events.emit(
            type="deal.milestone_due",
            organization_id=deal.seller_organization_id,
            subject_type="deal",
            subject_id=deal.id,
            payload={
                "deal_id": deal.id,
                "milestone_id": milestone.id,
                "title": milestone.title,
                "amount_fen": milestone.amount_fen,
                "due_date": milestone.due_date,
            },
            audience=[
                deal.buyer_organization_id,
                *(b.agency_organization_id for b in await self.repo.brokers_of(deal.id)),
            ],
        )
        return True

    # ------------------------------------------------------------ deadlines

    async def _start_deadline(self, ctx: Ctx, name: str) -> None:
        kind = DEADLINES_BY_NAME[name].kind
        deal = ctx.deal
        if name == "offer_expiry" and ctx.offer is not None:
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"deal_id": str(ctx.offer.deal_id), "offer_id": str(ctx.offer.id)},
                run_at=ctx.offer.expires_at,
                dedupe_key=f"{kind}:{ctx.offer.id}",
            )
        elif name == "notice_end" and ctx.notice is not None:
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"deal_id": str(ctx.notice.deal_id), "notice_id": str(ctx.notice.id)},
                run_at=ctx.notice.ends_at,
                dedupe_key=f"{kind}:{ctx.notice.id}",
            )
        elif name == "confirmation" and deal is not None and deal.confirm_by is not None:
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"deal_id": str(deal.id)},
                run_at=deal.confirm_by,
                dedupe_key=f"{kind}:{deal.id}",
            )
        elif name == "review_window" and ctx.milestone is not None and ctx.milestone.review_due_at is not None:
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"deal_id": str(ctx.milestone.deal_id), "milestone_id": str(ctx.milestone.id)},
                run_at=ctx.milestone.review_due_at,
                dedupe_key=f"{kind}:{ctx.milestone.id}",
            )
        elif name == "idle_expiry" and deal is not None:
            due = deal.last_activity_at + timedelta(days=self.settings.idle_days)
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"deal_id": str(deal.id)},
                run_at=due,
                dedupe_key=f"{kind}:{deal.id}:{_ts(due)}",
            )
        elif name == "auction_close" and ctx.auction is not None:
            await jobs.schedule(
                self.session,
                kind=kind,
                payload={"auction_id": str(ctx.auction.id)},
                run_at=ctx.auction.ends_at,
                dedupe_key=f"{kind}:{ctx.auction.id}",
            )
            if self.settings.auction_closing_soon_minutes:
                reminder_at = ctx.auction.ends_at - timedelta(minutes=self.settings.auction_closing_soon_minutes)
                await jobs.schedule(
                    self.session,
                    kind=CLOSING_SOON_KIND,
                    payload={"auction_id": str(ctx.auction.id)},
                    run_at=max(reminder_at, ctx.now),
                    dedupe_key=f"{CLOSING_SOON_KIND}:{ctx.auction.id}",
                )

    async def _cancel_deadline(self, ctx: Ctx, name: str) -> None:
        # A timer that cannot be cancelled any more (running now) finds its subject moved on and does nothing.
        kind = DEADLINES_BY_NAME[name].kind
        keys: list[str] = []
        if name == "offer_expiry":
            keys = [f"{kind}:{o.id}" for o in ctx.closed_offers]
        elif name == "notice_end" and ctx.notice is not None:
            keys = [f"{kind}:{ctx.notice.id}"]
        elif name == "confirmation" and ctx.deal is not None:
            keys = [f"{kind}:{ctx.deal.id}"]
        elif name == "review_window":
            closed = ctx.closed_milestones or ([ctx.milestone] if ctx.milestone is not None else [])
            keys = [f"{kind}:{m.id}" for m in closed]
        elif name == "auction_close" and ctx.auction is not None:
            keys = [f"{kind}:{ctx.auction.id}", f"{kind}:{ctx.auction.id}:{_ts(ctx.auction.ends_at)}"]
        for key in keys:
            await jobs.cancel(self.session, dedupe_key=key)

    # ============================================================ opening a deal

    async def open_deal(self, principal: Principal, body: Any) -> Ctx:
        """Open a deal (inquiry) on a published listing, as its prospective buyer or the buyer's broker."""
        t = TRANSITIONS_BY_NAME["open"]
        roles: set[Actor] = set()
        if principal.organization_kind is OrganizationKind.enterprise:
            roles.add(Actor.buyer)
        elif principal.organization_kind is OrganizationKind.broker_agency:
            roles.add(Actor.buyer_broker)
        allowed = [a for a in _ACTOR_PREFERENCE if a in roles and a in t.actors]
        if not allowed:
            raise errors.TransitionNotAllowed("deals are opened by enterprises (buyers) or brokers for them")
        actor = allowed[0]
        data = validate_input("open", body)
        ctx = self._ctx(t, principal, actor, data)
        listing = await self.repo.get_listing(data.listing_id)
        if listing is None or (
            listing.status != ListingStatus.published and listing.organization_id != principal.organization_id
        ):
            raise InvalidInput.field("/listing_id", "no published listing with this id")
        ctx.listing = listing
        if actor is Actor.buyer:
            if data.buyer_organization_id not in (None, principal.organization_id):
                raise InvalidInput.field("/buyer_organization_id", "only brokers name another buyer")
            if (
                data.broker_scope is not None
                or data.commission_bps is not None
                or data.commission_fixed_fen is not None
            ):
                raise InvalidInput.field("/broker_scope", "broker terms are for brokers opening a deal")
            buyer_id = principal.organization_id
        else:
            if data.buyer_organization_id is None:
                raise InvalidInput.field("/buyer_organization_id", "name the enterprise you act for")
            if (data.commission_bps is None) == (data.commission_fixed_fen is None):
                raise InvalidInput.field(
                    "/commission_bps", "propose exactly one of commission_bps, commission_fixed_fen"
                )
            buyer_id = data.buyer_organization_id
            await self._check_broker(principal.user_id, pointer="/buyer_organization_id")
        ctx.buyer = await self.repo.get_organization(buyer_id)
        if ctx.buyer is None:
            raise InvalidInput.field("/buyer_organization_id", "no organisation with this id")
        self._check_guards(ctx)
        if await self.repo.live_deal_of(listing.id, buyer_id) is not None:
            raise errors.DealAlreadyOpen("this buyer already has a live deal on this listing")
        await EFFECTS["open"](self, ctx)
        await self._finish_deal(ctx, None)
        return ctx

    async def _check_broker(self, user_id: uuid.UUID, *, pointer: str) -> Organization:
        user = await self.repo.get_user(user_id)
        agency = await self.repo.get_organization(user.organization_id) if user is not None else None
        if (
            user is None
            or not user.is_active
            or agency is None
            or agency.kind != OrganizationKind.broker_agency
            or agency.verification_status != VerificationStatus.verified
        ):
            raise errors.NotABroker(
                "brokers are active users of a verified broker agency",
                errors=[FieldProblem(detail="not a broker of a verified agency", pointer=pointer)],
            )
        return agency

    # ============================================================ auctions

    async def open_auction(self, principal: Principal, body: Any) -> Ctx:
        """Open an auction on an auction-priced listing, as its holder or the platform."""
        t = TRANSITIONS_BY_NAME["open_auction"]
        data = validate_input("open_auction", body)
        listing = await self.repo.get_listing(data.listing_id)
        if listing is None or (
            listing.status != ListingStatus.published
            and listing.organization_id != principal.organization_id
            and not principal.is_platform
        ):
            raise InvalidInput.field("/listing_id", "no published listing with this id")
        roles: set[Actor] = set()
        if principal.is_platform:
            roles.add(Actor.platform)
        if principal.organization_id == listing.organization_id:
            roles.add(Actor.seller)
        actor = self._pick_actor(t, frozenset(roles))
        ctx = self._ctx(t, principal, actor, data)
        ctx.listing = listing
        ctx.auction = await self.repo.open_auction_of(listing.id)
        self._check_guards(ctx)
        await EFFECTS["open_auction"](self, ctx)
        await self._finish_auction(ctx, None)
        return ctx

    async def fire_auction(
        self,
        principal: Principal | None,
        auction_id: uuid.UUID,
        name: str,
        body: Any = None,
        *,
        if_match: str | None = None,
        system: bool = False,
    ) -> Ctx:
        """Fire an auction transition (bids, registrations, cancel; the worker's close with system=True)."""
        t = self._named(name, "auction")
        if t.creates:
            raise errors.UnknownTransition(f"{name} creates an auction; POST /auctions")
        data = validate_input(name, body)
        return await self._fire_auction(principal, auction_id, t, data, if_match=if_match, system=system)

    async def _fire_auction(
        self,
        principal: Principal | None,
        auction_id: uuid.UUID,
        t: Transition,
        data: Any,
        *,
        if_match: str | None,
        system: bool,
    ) -> Ctx:
        early: tuple[uuid.UUID, uuid.UUID, uuid.UUID] | None = None
        registration: AuctionRegistration | None = None
        queue = not system and GATE_AUCTIONS
        if principal is not None and not system:
            if queue and not self.repo.connected():
                # The pool hands connections out in no particular order when it runs short: queue for it.
                async with auction_gate(auction_id, "pool"):
                    await self.repo.connect()
            found = await self.repo.bid_context(auction_id, principal.organization_id)
            if found is None:
                raise errors.AuctionNotFound()
            registration, seller_id, listing_id = found
            if t.name in EVENTS_BEFORE_LOCK and registration is not None:
                early = (uuid7(), seller_id, listing_id)
                await self._bid_records(
                    principal,
                    auction_id,
                    registration,
                    data,
                    bid_id=early[0],
                    seller_id=seller_id,
                    listing_id=listing_id,
                )
        # Everything on an auction happens under its row lock: bids, registrations and the close serialize.
        auction = await self._lock_in_turn(auction_id, queue=queue)
        if auction is None:
            raise errors.AuctionNotFound()
        roles = frozenset({Actor.system}) if system else self._auction_roles(principal, auction)
        actor = self._pick_actor(t, roles)
        ctx = self._ctx(t, principal, actor, data)
        ctx.auction = auction
        if not system:
            self._check_version(t, current=auction.version, data=data, if_match=if_match)
        source = str(auction.status)
        if source not in t.sources:
            raise errors.TransitionNotAvailable(
                f"{t.name} fires from {', '.join(t.sources)}; the auction is {source}", extra={"state": source}
            )
        if actor is Actor.buyer and principal is not None:
            if early is not None:  # bids: read before the lock; the insert re-checks that the deposit is still held
                ctx.registration = registration
                ctx.payload["bid_id"] = early[0]
            else:
                ctx.registration = await self.repo.registration_of(auction.id, principal.organization_id)
            if t.name == "register":
                ctx.buyer = await self.repo.get_organization(principal.organization_id)
            elif t.name == "withdraw_registration" and ctx.registration is not None:
                ctx.registration_bids = (await self.repo.bid_counts([ctx.registration.id]))[ctx.registration.id]
        registration_id = getattr(data, "registration_id", None)
        if registration_id is not None:
            ctx.registration = await self.repo.get_registration(auction.id, registration_id)
            if ctx.registration is None:
                raise InvalidInput.field("/registration_id", "no registration with this id for this auction")
        self._check_guards(ctx)
        await EFFECTS[t.name](self, ctx)
        await self._finish_auction(ctx, source, recorded=early is not None)
        return ctx

    async def _lock_in_turn(self, auction_id: uuid.UUID, *, queue: bool) -> Auction | None:
        """Take the auction's row lock; callers in this process first queue for it in arrival order.

        Row locks (like the connection pool) are not granted first come, first served, and a bid overtaken by
        a later, higher one is refused: so this process lets one caller at a time wait for the row (the rest
        wait here, in order) and lets the next one queue as soon as the lock is granted. A caller holds its
        connection (and has written what it could) before it queues here, so it never waits for the pool
        while others wait for it. Correctness does not depend on this: the row lock alone serializes bids,
        across processes too.
        """
        if not queue:
            return await self.repo.lock_auction(auction_id)
        await self.repo.flush()  # write what is staged now, not inside the queue
        async with auction_gate(auction_id, "row"):
            return await self.repo.lock_auction(auction_id)

    async def _bid_records(
        self,
        principal: Principal,
        auction_id: uuid.UUID,
        registration: AuctionRegistration,
        data: Any,
        *,
        bid_id: uuid.UUID,
        seller_id: uuid.UUID,
        listing_id: uuid.UUID,
    ) -> None:
        """A bid's audit record and event, written before the lock: all they say is known before it."""
        t = TRANSITIONS_BY_NAME["bid"]
        audit = self.events.audit(
            actor=principal,
            organization_id=registration.organization_id,
            action=t.event_type,
            target_type="auction",
            target_id=auction_id,
            diff={
                "bid": [
                    None,
                    {"id": bid_id, "amount_fen": data.amount_fen, "bidder_number": registration.bidder_number},
                ]
            },
        )
        event = self.events.emit(
            type=t.event_type,
            organization_id=seller_id,
            subject_type="auction",
            subject_id=auction_id,
            payload={
                "auction_id": auction_id,
                "listing_id": listing_id,
                "transition": t.name,
                "actor": Actor.buyer.value,
                "previous_state": AuctionState.open.value,
                "state": AuctionState.open.value,
                "bid_id": bid_id,
                "bidder_number": registration.bidder_number,
                "amount_fen": data.amount_fen,
            },
            audience=[seller_id, registration.organization_id],
        )
        await self.repo.write_now(audit, event)

    async def _finish_auction(self, ctx: Ctx, source: str | None, *, recorded: bool = False) -> None:
        auction = ctx.auction
        assert auction is not None
        t = ctx.transition
        branch = self._branch(ctx)
        target = source if branch.to == SAME and source is not None else branch.to
        diff: dict[str, Any] = dict(ctx.diff)
        if target != source:
            auction.status = AuctionState(target)
            if source is not None:
                previous = auction.version
                auction.version += 1  # the version counts status changes; bids are counted by bid_count
                diff["version"] = [previous, auction.version]
            diff["state"] = [source, target]
            if target != AuctionState.open:
                auction.closed_at = ctx.now
        for name in (*t.cancels, *branch.cancels):
            await self._cancel_deadline(ctx, name)
        for name in (*t.starts, *branch.starts):
            await self._start_deadline(ctx, name)
        for private in ctx.private_events:
            self.events.emit(**private)
        if recorded:
            return
        registrant = ctx.registration.organization_id if ctx.registration is not None else None
        audience = [auction.seller_organization_id, *ctx.audience, *([registrant] if registrant else [])]
        self.events.audit(
            actor=ctx.principal,
            organization_id=registrant if ctx.actor is Actor.buyer else auction.seller_organization_id,
            action=t.event_type,
            target_type="auction",
            target_id=auction.id,
            diff=diff,
        )
        self.events.emit(
            type=t.event_type,
            organization_id=auction.seller_organization_id,
            subject_type="auction",
            subject_id=auction.id,
            payload={
                "auction_id": auction.id,
                "listing_id": auction.listing_id,
                "transition": t.name,
                "actor": ctx.actor.value,
                "previous_state": source,
                "state": target,
                **ctx.payload,
            },
            audience=list(dict.fromkeys(audience)),
        )

    def next_minimum_bid(self, auction: Auction) -> int:
        """The lowest amount a bid may have now."""
        if auction.high_bid_fen is None:
            return auction.start_price_fen
        return auction.high_bid_fen + auction.increment_fen

    # ============================================================ the worker's side

    async def fire_system(self, subject: Subject, subject_id: uuid.UUID, name: str, data: dict[str, Any]) -> bool:
        """Fire a timer's transition; False (and nothing written) when the subject moved on meanwhile."""
        try:
            if subject == "auction":
                await self.fire_auction(None, subject_id, name, data, system=True)
            else:
                await self.fire_deal(None, subject_id, name, system_data=data)
        except (errors.TransitionNotAvailable, errors.TransitionBlocked) as exc:
            log.info("timer found nothing to do", subject=subject, id=str(subject_id), transition=name, why=exc.detail)
            return False
        return True

    async def remind_closing_soon(self, auction_id: uuid.UUID) -> bool:
        """Tell an open auction's bidders (deposit held) that it ends soon; False when it is no longer open."""
        auction = await self.repo.get_auction(auction_id)
        if auction is None or auction.status != AuctionState.open:
            return False
        registrations = await self.repo.registrations_of(auction.id)
        bidders = [r.organization_id for r in registrations if r.deposit_status == DepositStatus.held]
        self.events.emit(
            type="auction.closing_soon",
            organization_id=auction.seller_organization_id,
            subject_type="auction",
            subject_id=auction.id,
            payload={
                "auction_id": auction.id,
                "listing_id": auction.listing_id,
                "ends_at": auction.ends_at,
                "high_bid_fen": auction.high_bid_fen,
                "next_minimum_bid_fen": self.next_minimum_bid(auction),
                "bid_count": auction.bid_count,
            },
            audience=bidders,
        )
        return True

    async def run_deadline(self, name: str, payload: dict[str, Any]) -> bool:
        """Run a deadline's job: fire its transition if it is due, move it if its time moved, else do nothing."""
        deadline = DEADLINES_BY_NAME[name]
        now = clock.utcnow()
        if name == "auction_close":
            auction_id = uuid.UUID(payload["auction_id"])
            auction = await self.repo.lock_auction(auction_id)
            if auction is None or auction.status != AuctionState.open:
                return False
            if auction.ends_at > now:  # late bids moved the close: come back then
                await self._reschedule(
                    deadline, payload, due=auction.ends_at, key=f"{auction.id}:{_ts(auction.ends_at)}"
                )
                return False
            return await self.fire_system("auction", auction_id, deadline.fires, {})
        deal_id = uuid.UUID(payload["deal_id"])
        deal = await self.repo.lock_deal(deal_id)
        if deal is None or deal.state in TERMINAL_DEAL_STATES:
            return False
        due: datetime | None = None
        data: dict[str, Any] = {}
        key = str(deal.id)
        if name == "offer_expiry":
            offer = await self.repo.get_offer(deal.id, uuid.UUID(payload["offer_id"]))
            if offer is None or offer.status != OfferStatus.open:
                return False
            due, data, key = offer.expires_at, {"offer_id": str(offer.id)}, str(offer.id)
        elif name == "notice_end":
            notice = await self.repo.current_notice(deal.id)
            if notice is None or str(notice.id) != payload["notice_id"] or notice.status != NoticeStatus.running:
                return False
            due, key = notice.ends_at, str(notice.id)
        elif name == "confirmation":
            due = deal.confirm_by
        elif name == "review_window":
            milestones = await self.repo.milestones_of(deal.id)
            milestone = next((m for m in milestones if str(m.id) == payload["milestone_id"]), None)
            if milestone is None or milestone.status != MilestoneStatus.delivered:
                return False
            due, data, key = milestone.review_due_at, {"milestone_id": str(milestone.id)}, str(milestone.id)
        elif name == "idle_expiry":
            if deal.state not in ("inquiry", "negotiating", "contracting"):
                return False  # entering an idle state again starts a new timer
            due = deal.last_activity_at + timedelta(days=self.settings.idle_days)
        if due is None:
            return False
        if due > now:
            await self._reschedule(deadline, payload, due=due, key=f"{key}:{_ts(due)}")
            return False
        return await self.fire_system("deal", deal.id, deadline.fires, data)

    async def _reschedule(self, deadline: Any, payload: dict[str, Any], *, due: datetime, key: str) -> None:
        await jobs.schedule(
            self.session, kind=deadline.kind, payload=payload, run_at=due, dedupe_key=f"{deadline.kind}:{key}"
        )

    # ============================================================ reads

    async def visible_deal(self, principal: Principal, deal_id: uuid.UUID) -> tuple[Deal, Standing]:
        """A deal the caller may see (404 otherwise)."""
        deal = await self.repo.get_deal(deal_id)
        if deal is None:
            raise errors.DealNotFound()
        standing = await self.standing(principal, deal)
        if not standing.visible:
            raise errors.DealNotFound()
        return deal, standing

    async def bundle(self, principal: Principal | None, deal: Deal, standing: Standing | None = None) -> DealBundle:
        """A deal with everything its read shows, for this caller."""
        standing = standing or await self.standing(principal, deal)
        listing = await self.repo.get_listing(deal.listing_id)
        confidential = bool(
            listing is not None
            and (
                not listing.nda_text
                or listing.nda_version == 0
                or await self.repo.nda_accepted(listing.id, deal.buyer_organization_id, listing.nda_version)
            )
        )
        open_offer = await self.repo.open_offer(deal.id)
        contract = await self.repo.contract_of(deal.id)
        milestones = await self.repo.milestones_of(deal.id)
        brokers = await self.repo.brokers_of(deal.id, live_only=False)
        notice = await self.repo.current_notice(deal.id)
        objections: list[DealObjection] = []
        counts = (0, 0)
        if notice is not None:
            objections = list(await self.repo.objections_of(notice.id))
            pending = sum(1 for o in objections if o.status == ObjectionStatus.pending)
            counts = (pending, len(objections))
        now = clock.utcnow()
        facts = self._ctx(TRANSITIONS_BY_NAME["message"], principal, Actor.system, None)
        facts.now = now
        facts.deal, facts.listing, facts.contract = deal, listing, contract
        facts.milestones, facts.notice, facts.offer = milestones, notice, open_offer
        facts.brokers = [b for b in brokers if b.status != BrokerStatus.revoked]
        facts.pending_objections = counts[0]
        return DealBundle(
            deal=deal,
            standing=standing,
            listing=listing,
            confidential_access=confidential,
            open_offer=open_offer,
            contract=contract,
            milestones=milestones,
            brokers=brokers,
            notice=notice,
            objections=objections,
            objection_counts=counts,
            next_transitions=self._next_transitions(facts, standing, objections),
            deadlines=self._deadlines(deal, open_offer, notice, milestones, contract),
        )

    def _next_transitions(
        self, facts: Ctx, standing: Standing, objections: list[DealObjection]
    ) -> list[dict[str, Any]]:
        deal = facts.deal
        assert deal is not None
        out: list[dict[str, Any]] = []
        pending = [o for o in objections if o.status == ObjectionStatus.pending]
        for t in TRANSITIONS:
            if t.subject != "deal" or t.creates or str(deal.state) not in t.sources:
                continue
            try:
                actor = self._pick_actor(t, standing.roles, standing)
            except (errors.TransitionNotAllowed, errors.OutsideBrokerScope):
                continue
            facts.transition, facts.actor, facts.side = t, actor, PARTY_SIDE.get(actor)
            facts.broker = next((b for b in facts.brokers if b.side == facts.side), None)
            plain = [g for g in t.guards if not any(g in names for names in _ITEM_GUARDS.values())]
            blocked = self._blocked(facts, plain)
            item_guards = [g for g in t.guards if g not in plain]
            if item_guards and not blocked:
                candidates: list[Any]
                if any(g in _ITEM_GUARDS["milestone"] for g in item_guards):
                    candidates, attr = list(facts.milestones), "milestone"
                elif any(g in _ITEM_GUARDS["objection"] for g in item_guards):
                    candidates, attr = pending, "objection"
                else:
                    candidates, attr = [facts.offer] if facts.offer is not None else [], "offer"
                best: list[str] | None = None
                for candidate in candidates:
                    setattr(facts, attr, candidate)
                    failing = self._blocked(facts, item_guards)
                    if best is None or len(failing) < len(best):
                        best = failing
                blocked = best if best is not None else item_guards
                facts.milestone, facts.objection = None, None
            out.append(
                {
                    "name": t.name,
                    "summary": t.summary,
                    "as_actor": actor,
                    "path": f"/api/v1/deals/{deal.id}/transitions/{t.name}",
                    "needs_version": t.versioned,
                    "blocked_by": blocked,
                }
            )
        return out

    def _deadlines(
        self,
        deal: Deal,
        open_offer: DealOffer | None,
        notice: DealNotice | None,
        milestones: list[DealMilestone],
        contract: DealContract | None,
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []

        def add(name: str, due: datetime | None, subject_type: str, subject_id: uuid.UUID) -> None:
            if due is not None:
                fires = DEADLINES_BY_NAME[name].fires
                out.append(
                    {
                        "name": name,
                        "due_at": due,
                        "fires": fires,
                        "subject_type": subject_type,
                        "subject_id": subject_id,
                    }
                )

        if deal.state in TERMINAL_DEAL_STATES:
            return out
        if open_offer is not None:
            add("offer_expiry", open_offer.expires_at, "offer", open_offer.id)
        if notice is not None and notice.status == NoticeStatus.running:
            add("notice_end", notice.ends_at, "notice", notice.id)
        awaiting_winner = deal.origin == DealOrigin.auction and deal.state == State.contracting
        if awaiting_winner and contract is not None and contract.buyer_confirmed_at is None:
            add("confirmation", deal.confirm_by, "deal", deal.id)
        for m in milestones:
            if m.status == MilestoneStatus.delivered:
                add("review_window", m.review_due_at, "milestone", m.id)
        if deal.state in ("inquiry", "negotiating", "contracting") and not awaiting_winner:
            add("idle_expiry", deal.last_activity_at + timedelta(days=self.settings.idle_days), "deal", deal.id)
        return sorted(out, key=lambda d: d["due_at"])

    async def list_deals(
        self, principal: Principal, *, states: Sequence[str] | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Deal]:
        """Deals the caller's organisation is party to or brokers (the platform: all)."""
        return await self.repo.list_deals(
            organization_id=None if principal.is_platform else principal.organization_id,
            states=states,
            after=after,
            limit=limit,
        )

    async def list_offers(
        self, principal: Principal, deal_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[DealOffer]:
        """A visible deal's offers."""
        await self.visible_deal(principal, deal_id)
        return await self.repo.list_offers(deal_id, after=after, limit=limit)

    async def list_messages(
        self, principal: Principal, deal_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[DealMessage]:
        """A visible deal's messages."""
        await self.visible_deal(principal, deal_id)
        return await self.repo.list_messages(deal_id, after=after, limit=limit)

    async def contract(self, principal: Principal, deal_id: uuid.UUID) -> tuple[Deal, DealContract]:
        """A visible deal's contract record (404 before contracting)."""
        deal, _ = await self.visible_deal(principal, deal_id)
        contract = await self.repo.contract_of(deal.id)
        if contract is None:
            raise errors.DealNotFound("this deal has no contract record yet")
        return deal, contract

    async def registration_data(self, principal: Principal, deal_id: uuid.UUID) -> dict[str, Any]:
        """The data of 技术合同认定登记 for a visible deal's contract."""
        deal, contract = await self.contract(principal, deal_id)
        confirmed = [c for c in (contract.buyer_confirmed_at, contract.seller_confirmed_at) if c is not None]
        signed = _china_day(max(confirmed)) if len(confirmed) == 2 else None
        return {
            "deal_id": deal.id,
            "contract_id": contract.id,
            "contract_type": contract.contract_type,
            "contract_type_label": ContractType(contract.contract_type).label,
            "subject_name": contract.subject_name,
            "buyer_name": contract.buyer_name,
            "buyer_credit_code": contract.buyer_credit_code,
            "seller_name": contract.seller_name,
            "seller_credit_code": contract.seller_credit_code,
            "amount_fen": contract.amount_fen,
            "technology_fen": contract.technology_fen,
            "amount_yuan": _yuan(contract.amount_fen),
            "technology_yuan": _yuan(contract.technology_fen),
            "term_months": contract.term_months,
            "territory": contract.territory,
            "signed_on": signed,
        }

    async def get_notice(self, notice_id: uuid.UUID) -> tuple[DealNotice, tuple[int, int]]:
        """A public notice with its objection counts (anyone)."""
        notice = await self.repo.get_notice(notice_id)
        if notice is None:
            raise errors.NoticeNotFound()
        counts = await self.repo.objection_counts([notice.id])
        return notice, counts[notice.id]

    async def list_notices(
        self, *, status: NoticeStatus | None, after: uuid.UUID | None, limit: int
    ) -> tuple[Sequence[DealNotice], dict[uuid.UUID, tuple[int, int]]]:
        """Public notices, newest first, with objection counts."""
        rows = await self.repo.list_notices(status=status, after=after, limit=limit)
        return rows, await self.repo.objection_counts([n.id for n in rows])

    async def file_objection(self, principal: Principal, notice_id: uuid.UUID, body: Any) -> Ctx:
        """Object to a deal under public notice (any verified organisation but the parties)."""
        notice = await self.repo.get_notice(notice_id)
        if notice is None:
            raise errors.NoticeNotFound()
        return await self.fire_deal(principal, notice.deal_id, "file_objection", body, via_notice=True)

    async def get_auction(self, auction_id: uuid.UUID) -> Auction:
        """One auction (public)."""
        auction = await self.repo.get_auction(auction_id)
        if auction is None:
            raise errors.AuctionNotFound()
        return auction

    async def auction_view(
        self, principal: Principal | None, auction: Auction, *, with_registration: bool = True
    ) -> AuctionRead:
        """An auction as the caller may see it, with the caller's registration."""
        high_number = None
        if auction.high_registration_id is not None:
            high = await self.repo.get_registration(auction.id, auction.high_registration_id)
            high_number = high.bidder_number if high is not None else None
        mine = None
        if with_registration and principal is not None:
            registration = await self.repo.registration_of(auction.id, principal.organization_id)
            if registration is not None:
                count = (await self.repo.bid_counts([registration.id]))[registration.id]
                mine = views.registration_read(registration, bid_count=count, show_organization=True)
        return views.auction_read(auction, principal, high_bidder_number=high_number, my_registration=mine)

    async def registrations_for(
        self, principal: Principal, auction_id: uuid.UUID, *, after: int | None, limit: int
    ) -> tuple[Sequence[AuctionRegistration], dict[uuid.UUID, int], Callable[[AuctionRegistration], bool]]:
        """Registrations the caller may list: all (platform, seller: without identities) or its own."""
        auction = await self.get_auction(auction_id)
        insider = principal.is_platform or principal.organization_id == auction.seller_organization_id
        if insider:
            rows = await self.repo.registrations_of(auction.id, after=after, limit=limit)
        else:
            own = await self.repo.registration_of(auction.id, principal.organization_id)
            rows = [own] if own is not None and (after is None or own.bidder_number > after) else []
        counts = await self.repo.bid_counts([r.id for r in rows])

        def shown(registration: AuctionRegistration) -> bool:
            return principal.is_platform or registration.organization_id == principal.organization_id

        return rows, counts, shown

    # ============================================================ effects: deals

    def _message(self, ctx: Ctx, body: str) -> DealMessage:
        deal, principal = ctx.deal, ctx.principal
        assert deal is not None and principal is not None and ctx.side is not None
        message = DealMessage(
            deal_id=deal.id,
            side=ctx.side,
            author_user_id=principal.user_id,
            author_organization_id=principal.organization_id,
            body=body,
        )
        self.repo.stage(message)
        ctx.payload["message_id"] = message.id
        ctx.result = message
        return message

    async def _effect_open(self, ctx: Ctx) -> None:
        listing, buyer, principal, data = ctx.listing, ctx.buyer, ctx.principal, ctx.data
        assert listing is not None and buyer is not None and principal is not None
        deal = Deal(
            listing_id=listing.id,
            buyer_organization_id=buyer.id,
            seller_organization_id=listing.organization_id,
            origin=DealOrigin.inquiry,
            state=State.inquiry,
            opened_by_user_id=principal.user_id,
            last_activity_at=ctx.now,
            created_at=ctx.now,
        )
        try:
            await self.repo.add(deal)
        except IntegrityError as exc:  # a concurrent open won the race for the one live deal
            raise errors.DealAlreadyOpen("this buyer already has a live deal on this listing") from exc
        ctx.deal = deal
        ctx.side = Side.buyer
        if ctx.actor is Actor.buyer_broker:
            broker = DealBroker(
                deal_id=deal.id,
                side=Side.buyer,
                broker_user_id=principal.user_id,
                agency_organization_id=principal.organization_id,
                scope=list(data.broker_scope or ["message", "make_offer", "withdraw_offer", "reject_offer"]),
                commission_bps=data.commission_bps,
                commission_fixed_fen=data.commission_fixed_fen,
                status=BrokerStatus.proposed,
                appointed_by_user_id=principal.user_id,
            )
            self.repo.stage(broker)
            ctx.brokers = [broker]
            ctx.payload["proposed_broker_user_id"] = principal.user_id
        self._message(ctx, data.message)

    async def _effect_message(self, ctx: Ctx) -> None:
        self._message(ctx, ctx.data.body)

    async def _effect_decline(self, ctx: Ctx) -> None:
        if ctx.data.reason:
            ctx.payload["reason"] = ctx.data.reason

    def _validate_offer(self, ctx: Ctx) -> None:
        data, listing = ctx.data, ctx.listing
        assert listing is not None
        mode = data.trade_mode.value
        if mode not in listing.trade_modes:
            raise errors.InvalidTerms(
                f"the listing is offered as {', '.join(listing.trade_modes)}",
                errors=[FieldProblem(detail="not one of the listing's trade modes", pointer="/trade_mode")],
            )
        if mode in LICENCE_MODES:
            missing = [f for f in ("territory", "term_months") if getattr(data, f) is None]
            if missing:
                raise errors.InvalidTerms(
                    "a licence needs its territory and term",
                    errors=[FieldProblem(detail="required for a licence", pointer=f"/{f}") for f in missing],
                )
        planned = sum(item.amount_fen for item in data.payment_plan)
        if planned != data.price_fen:
            raise errors.InvalidTerms(
                f"the payment plan sums to {planned} fen, the price is {data.price_fen} fen",
                errors=[FieldProblem(detail="amounts must sum to price_fen", pointer="/payment_plan")],
            )
        extras = sum(item.amount_fen for item in data.non_technology_items)
        if extras >= data.price_fen:
            raise errors.InvalidTerms(
                "non-technology parts must leave a technology part",
                errors=[FieldProblem(detail="must sum to less than price_fen", pointer="/non_technology_items")],
            )
        if data.expires_at is not None:
            expires = data.expires_at
            if expires.tzinfo is None:
                raise InvalidInput.field("/expires_at", "give a time zone (e.g. +08:00 or Z)")
            if expires <= ctx.now:
                raise InvalidInput.field("/expires_at", "must be in the future")
            if expires > ctx.now + timedelta(days=self.settings.offer_max_days):
                raise InvalidInput.field("/expires_at", f"at most {self.settings.offer_max_days} days ahead")

    async def _effect_make_offer(self, ctx: Ctx) -> None:
        deal, data, principal = ctx.deal, ctx.data, ctx.principal
        assert deal is not None and principal is not None and ctx.side is not None
        self._validate_offer(ctx)
        previous = await self.repo.open_offer(deal.id)
        if previous is not None:
            previous.status = OfferStatus.superseded if previous.side == ctx.side else OfferStatus.countered
            previous.decided_at = ctx.now
            ctx.closed_offers.append(previous)
            await self.repo.flush()  # one open offer per deal: close the old before the new is written
            ctx.payload["replaces_offer_id"] = previous.id
        offer = DealOffer(
            deal_id=deal.id,
            side=ctx.side,
            made_by_user_id=principal.user_id,
            price_fen=data.price_fen,
            trade_mode=data.trade_mode.value,
            licence_scope=data.licence_scope,
            territory=data.territory,
            term_months=data.term_months,
            non_technology_items=[i.model_dump() for i in data.non_technology_items],
            payment_plan=[i.model_dump(mode="json") for i in data.payment_plan],
            note=data.note,
            expires_at=data.expires_at or ctx.now + timedelta(hours=self.settings.offer_default_hours),
        )
        await self.repo.add(offer)
        ctx.offer = offer
        ctx.payload.update(offer_id=offer.id, side=ctx.side, price_fen=offer.price_fen, expires_at=offer.expires_at)

    async def _effect_accept_offer(self, ctx: Ctx) -> None:
        deal, offer, listing = ctx.deal, ctx.offer, ctx.listing
        assert deal is not None and offer is not None and listing is not None
        offer.status = OfferStatus.accepted
        offer.decided_at = ctx.now
        ctx.closed_offers.append(offer)
        fixed = listing.pricing_kind == "fixed" and listing.price_fen == offer.price_fen
        deal.price_basis = PriceBasis.fixed if fixed else PriceBasis.negotiated
        deal.price_fen = offer.price_fen
        deal.trade_mode = offer.trade_mode
        deal.agreed_offer_id = offer.id
        deal.notice_required = bool(listing.holder_state_funded) and deal.price_basis == PriceBasis.negotiated
        ctx.diff["price_fen"] = [None, offer.price_fen]
        ctx.payload.update(offer_id=offer.id, price_fen=offer.price_fen, price_basis=deal.price_basis)

    async def _close_offer(self, ctx: Ctx, status: OfferStatus) -> None:
        offer = ctx.offer
        assert offer is not None
        offer.status = status
        offer.decided_at = ctx.now
        ctx.closed_offers.append(offer)
        ctx.payload["offer_id"] = offer.id
        if getattr(ctx.data, "note", None):
            ctx.payload["note"] = ctx.data.note

    async def _effect_reject_offer(self, ctx: Ctx) -> None:
        await self._close_offer(ctx, OfferStatus.rejected)

    async def _effect_withdraw_offer(self, ctx: Ctx) -> None:
        await self._close_offer(ctx, OfferStatus.withdrawn)

    async def _effect_expire_offer(self, ctx: Ctx) -> None:
        await self._close_offer(ctx, OfferStatus.expired)

    async def _effect_file_objection(self, ctx: Ctx) -> None:
        deal, notice, principal = ctx.deal, ctx.notice, ctx.principal
        assert deal is not None and notice is not None and principal is not None
        objection = DealObjection(
            notice_id=notice.id,
            deal_id=deal.id,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            grounds=ctx.data.grounds,
        )
        await self.repo.add(objection)
        ctx.objection = objection
        ctx.pending_objections += 1
        ctx.payload.update(objection_id=objection.id, notice_id=notice.id)

    def _annul_agreement(self, ctx: Ctx) -> None:
        deal = ctx.deal
        assert deal is not None
        ctx.payload["annulled_offer_id"] = deal.agreed_offer_id
        deal.price_fen, deal.trade_mode, deal.price_basis = None, None, None
        deal.agreed_offer_id, deal.notice_required = None, False

    async def _effect_uphold_objection(self, ctx: Ctx) -> None:
        deal, notice, objection, principal = ctx.deal, ctx.notice, ctx.objection, ctx.principal
        assert deal is not None and notice is not None and objection is not None and principal is not None
        objection.status = ObjectionStatus.upheld
        objection.outcome = ctx.data.outcome
        objection.decision_note = ctx.data.note
        objection.decided_by_user_id = principal.user_id
        objection.decided_at = ctx.now
        notice.status = NoticeStatus.upheld
        notice.closed_at = ctx.now
        if deal.agreed_offer_id is not None:
            offer = await self.repo.get_offer(deal.id, deal.agreed_offer_id)
            if offer is not None:
                offer.status = OfferStatus.annulled
        self._annul_agreement(ctx)
        ctx.payload.update(objection_id=objection.id, outcome=ObjectionOutcome(ctx.data.outcome))

    async def _effect_dismiss_objection(self, ctx: Ctx) -> None:
        objection, principal = ctx.objection, ctx.principal
        assert objection is not None and principal is not None
        objection.status = ObjectionStatus.dismissed
        objection.decision_note = ctx.data.note
        objection.decided_by_user_id = principal.user_id
        objection.decided_at = ctx.now
        ctx.pending_objections = max(ctx.pending_objections - 1, 0)
        ctx.payload["objection_id"] = objection.id

    async def _effect_end_notice(self, ctx: Ctx) -> None:
        if ctx.notice is not None:
            ctx.payload.update(notice_id=ctx.notice.id, objections_pending=ctx.pending_objections)

    async def _effect_confirm_contract(self, ctx: Ctx) -> None:
        contract, principal = ctx.contract, ctx.principal
        assert contract is not None and principal is not None and ctx.side is not None
        setattr(contract, f"{ctx.side}_confirmed_at", ctx.now)
        setattr(contract, f"{ctx.side}_confirmed_by", principal.user_id)
        ctx.payload.update(contract_id=contract.id, side=ctx.side)

    async def _forfeit(self, ctx: Ctx) -> None:
        deal = ctx.deal
        assert deal is not None
        if deal.auction_id is None or deal.registration_id is None:
            return
        registration = await self.repo.get_registration(deal.auction_id, deal.registration_id)
        if registration is not None and registration.deposit_status == DepositStatus.held:
            await deposits().forfeit(self.session, registration=registration, deal=deal)
            registration.deposit_status = DepositStatus.forfeited
            ctx.payload["deposit_forfeited_fen"] = registration.deposit_fen

    async def _effect_lapse_confirmation(self, ctx: Ctx) -> None:
        await self._forfeit(ctx)

    async def _effect_decline_award(self, ctx: Ctx) -> None:
        await self._forfeit(ctx)
        if ctx.data.reason:
            ctx.payload["reason"] = ctx.data.reason

    async def _effect_deliver_milestone(self, ctx: Ctx) -> None:
        milestone = ctx.milestone
        assert milestone is not None
        milestone.status = MilestoneStatus.delivered
        milestone.delivered_at = ctx.now
        milestone.delivery_note = ctx.data.note
        milestone.review_due_at = ctx.now + timedelta(days=self.settings.review_days)
        ctx.payload.update(milestone_id=milestone.id, review_due_at=milestone.review_due_at)

    async def _release(self, ctx: Ctx, milestone: DealMilestone, release: int, refund: int) -> None:
        deal = ctx.deal
        assert deal is not None
        milestone.released_fen, milestone.refunded_fen = release, refund
        milestone.status = (
            MilestoneStatus.released
            if refund == 0
            else MilestoneStatus.refunded
            if release == 0
            else MilestoneStatus.split_
        )
        milestone.settled_at = ctx.now
        if release:
            await payments().on_milestone_released(self.session, deal=deal, milestone=milestone, amount_fen=release)
        if refund:
            await payments().on_refund(self.session, deal=deal, milestone=milestone, amount_fen=refund)
        ctx.closed_milestones.append(milestone)
        ctx.payload.update(milestone_id=milestone.id, released_fen=release, refunded_fen=refund)

    async def _effect_accept_milestone(self, ctx: Ctx) -> None:
        assert ctx.milestone is not None
        await self._release(ctx, ctx.milestone, ctx.milestone.amount_fen, 0)

    async def _effect_dispute_milestone(self, ctx: Ctx) -> None:
        milestone = ctx.milestone
        assert milestone is not None
        milestone.status = MilestoneStatus.disputed
        milestone.dispute_reason = ctx.data.reason
        ctx.closed_milestones.append(milestone)
        ctx.payload["milestone_id"] = milestone.id

    async def _effect_resolve_dispute(self, ctx: Ctx) -> None:
        milestone, data, principal = ctx.milestone, ctx.data, ctx.principal
        assert milestone is not None and principal is not None
        if data.release_fen + data.refund_fen != milestone.amount_fen:
            raise errors.InvalidTerms(
                f"release_fen + refund_fen must be the milestone's amount ({milestone.amount_fen} fen)",
                errors=[FieldProblem(detail="does not sum to the milestone's amount", pointer="/release_fen")],
            )
        milestone.resolution_note = data.note
        milestone.decided_by_user_id = principal.user_id
        await self._release(ctx, milestone, data.release_fen, data.refund_fen)

    async def _effect_appoint_broker(self, ctx: Ctx) -> None:
        deal, data, principal = ctx.deal, ctx.data, ctx.principal
        assert deal is not None and principal is not None and ctx.side is not None
        agency = await self._check_broker(data.broker_user_id, pointer="/broker_user_id")
        broker_actor = Actor.buyer_broker if ctx.side == Side.buyer else Actor.seller_broker
        foreign = [n for n in data.scope if broker_actor not in TRANSITIONS_BY_NAME[n].actors]
        if foreign:
            raise errors.InvalidTerms(
                f"a {ctx.side} broker cannot fire {', '.join(foreign)}",
                errors=[FieldProblem(detail=f"not delegable by the {ctx.side}", pointer="/scope")],
            )
        current = next((b for b in ctx.brokers if b.side == ctx.side and b.status != BrokerStatus.revoked), None)
        if (
            current is not None
            and current.status == BrokerStatus.proposed
            and current.broker_user_id == data.broker_user_id
        ):
            current.status = BrokerStatus.active
            current.scope = list(data.scope)
            current.commission_bps, current.commission_fixed_fen = data.commission_bps, data.commission_fixed_fen
            current.appointed_by_user_id = principal.user_id
            ctx.payload.update(broker_id=current.id, confirmed=True)
            ctx.broker = current
            return
        if current is not None:
            current.status = BrokerStatus.revoked
            current.revoked_at = ctx.now
            await self.repo.flush()  # one live appointment per side
        broker = DealBroker(
            deal_id=deal.id,
            side=ctx.side,
            broker_user_id=data.broker_user_id,
            agency_organization_id=agency.id,
            scope=list(data.scope),
            commission_bps=data.commission_bps,
            commission_fixed_fen=data.commission_fixed_fen,
            appointed_by_user_id=principal.user_id,
        )
        await self.repo.add(broker)
        ctx.brokers.append(broker)
        ctx.broker = broker
        ctx.payload.update(broker_id=broker.id, broker_user_id=broker.broker_user_id, scope=broker.scope)

    async def _effect_revoke_broker(self, ctx: Ctx) -> None:
        broker = ctx.broker
        assert broker is not None
        broker.status = BrokerStatus.revoked
        broker.revoked_at = ctx.now
        ctx.payload["broker_id"] = broker.id

    async def _effect_cancel(self, ctx: Ctx) -> None:
        if getattr(ctx.data, "reason", None):
            ctx.payload["reason"] = ctx.data.reason

    async def _effect_platform_cancel(self, ctx: Ctx) -> None:
        deal = ctx.deal
        assert deal is not None
        ctx.payload["reason"] = ctx.data.reason
        if deal.auction_id is not None and deal.registration_id is not None:
            registration = await self.repo.get_registration(deal.auction_id, deal.registration_id)
            if registration is not None and registration.deposit_status == DepositStatus.held:
                await deposits().release(self.session, registration=registration)
                registration.deposit_status = DepositStatus.released
        for m in ctx.milestones:
            if m.status not in SETTLED_MILESTONES:
                await self._release(ctx, m, 0, m.amount_fen)
        ctx.notice = ctx.notice or await self.repo.current_notice(deal.id)

    async def _effect_nothing(self, ctx: Ctx) -> None:
        """The state change is the whole effect."""

    # ============================================================ effects: auctions

    async def _effect_open_auction(self, ctx: Ctx) -> None:
        listing, data, principal = ctx.listing, ctx.data, ctx.principal
        assert listing is not None and principal is not None
        starts = data.starts_at or ctx.now
        for name, value in (("starts_at", starts), ("ends_at", data.ends_at)):
            if value.tzinfo is None:
                raise InvalidInput.field(f"/{name}", "give a time zone (e.g. +08:00 or Z)")
        if data.ends_at <= max(starts, ctx.now) + timedelta(minutes=self.settings.auction_min_minutes):
            raise InvalidInput.field(
                "/ends_at", f"the window must stay open at least {self.settings.auction_min_minutes} minutes"
            )
        if data.ends_at - starts > timedelta(days=self.settings.auction_max_days):
            raise InvalidInput.field("/ends_at", f"the window may last at most {self.settings.auction_max_days} days")
        mode = data.trade_mode.value if data.trade_mode else listing.trade_modes[0]
        if mode not in listing.trade_modes:
            raise InvalidInput.field("/trade_mode", "not one of the listing's trade modes")
        assert listing.start_price_fen is not None and listing.increment_fen is not None
        auction = Auction(
            listing_id=listing.id,
            seller_organization_id=listing.organization_id,
            opened_by_user_id=principal.user_id,
            trade_mode=mode,
            starts_at=starts,
            ends_at=data.ends_at,
            scheduled_ends_at=data.ends_at,
            extension_minutes=self.settings.auction_extension_minutes,
            start_price_fen=max(listing.start_price_fen, 1),
            increment_fen=listing.increment_fen,
            reserve_fen=listing.reserve_fen,
            deposit_fen=listing.deposit_fen or 0,
        )
        try:
            await self.repo.add(auction)
        except IntegrityError as exc:
            raise errors.TransitionBlocked(
                "the listing already has an open auction", extra={"blocked_by": ["no_running_auction"]}
            ) from exc
        ctx.auction = auction
        ctx.payload.update(
            starts_at=auction.starts_at, ends_at=auction.ends_at, start_price_fen=auction.start_price_fen
        )

    async def _effect_register(self, ctx: Ctx) -> None:
        auction, principal = ctx.auction, ctx.principal
        assert auction is not None and principal is not None
        auction.registration_count += 1
        registration = AuctionRegistration(
            auction_id=auction.id,
            organization_id=principal.organization_id,
            user_id=principal.user_id,
            bidder_number=auction.registration_count,
            deposit_fen=auction.deposit_fen,
            deposit_status=DepositStatus.held if auction.deposit_fen == 0 else DepositStatus.pending,
        )
        await self.repo.add(registration)
        if auction.deposit_fen > 0:
            registration.deposit_reference = await deposits().request(self.session, registration=registration)
        ctx.registration = registration
        ctx.result = registration
        ctx.payload.update(bidder_number=registration.bidder_number, deposit_fen=registration.deposit_fen)

    async def _effect_confirm_deposit(self, ctx: Ctx) -> None:
        registration = ctx.registration
        assert registration is not None
        registration.deposit_status = DepositStatus.held
        if ctx.data.reference:
            registration.deposit_reference = ctx.data.reference
        ctx.result = registration
        ctx.payload.update(bidder_number=registration.bidder_number, deposit_fen=registration.deposit_fen)

    async def _effect_withdraw_registration(self, ctx: Ctx) -> None:
        registration = ctx.registration
        assert registration is not None
        await self._settle_deposit(registration)
        ctx.result = registration
        ctx.payload["bidder_number"] = registration.bidder_number

    async def _settle_deposit(self, registration: AuctionRegistration) -> None:
        if registration.deposit_status == DepositStatus.held:
            if registration.deposit_fen > 0:
                await deposits().release(self.session, registration=registration)
            registration.deposit_status = DepositStatus.released
        elif registration.deposit_status == DepositStatus.pending:
            registration.deposit_status = DepositStatus.void

    async def _effect_bid(self, ctx: Ctx) -> None:
        auction, registration, principal = ctx.auction, ctx.registration, ctx.principal
        assert auction is not None and registration is not None and principal is not None
        amount = ctx.data.amount_fen
        high = auction.high_bid_fen
        if high is None:
            if amount < auction.start_price_fen:
                raise errors.BidTooLow(
                    f"the first bid must be at least the start price ({auction.start_price_fen} fen)",
                    extra={"next_minimum_bid_fen": auction.start_price_fen, "high_bid_fen": None},
                )
        else:
            if amount <= high:
                raise errors.BidTooLow(
                    f"the high bid is {high} fen; bid at least {high + auction.increment_fen} fen",
                    extra={"next_minimum_bid_fen": high + auction.increment_fen, "high_bid_fen": high},
                )
            if (amount - high) % auction.increment_fen:
                steps = (amount - high) // auction.increment_fen
                raise errors.InvalidBidStep(
                    f"bids go up in steps of {auction.increment_fen} fen above the high bid ({high} fen)",
                    errors=[
                        FieldProblem(
                            detail="not a whole number of increments above the high bid", pointer="/amount_fen"
                        )
                    ],
                    extra={
                        "high_bid_fen": high,
                        "nearest_valid_fen": [
                            high + max(steps, 1) * auction.increment_fen,
                            high + (steps + 1) * auction.increment_fen,
                        ],
                    },
                )
        previous_end = ends_at = auction.ends_at
        window = timedelta(minutes=auction.extension_minutes)
        extended = window and ends_at - ctx.now < window
        if extended:
            ends_at = ctx.now + window
        bid = AuctionBid(
            id=ctx.payload.get("bid_id") or uuid7(),
            auction_id=auction.id,
            registration_id=registration.id,
            bidder_number=registration.bidder_number,
            seq=auction.bid_count + 1,
            amount_fen=amount,
            placed_by_user_id=principal.user_id,
            placed_at=ctx.now,
            extended_to=ends_at if extended else None,
        )
        recorded = await self.repo.record_bid(
            auction,
            bid,
            high_bid_fen=amount,
            high_registration_id=registration.id,
            bid_count=bid.seq,
            ends_at=ends_at,
            now=ctx.now,
            previous_registration_id=auction.high_registration_id if high is not None else None,
        )
        if recorded is None:  # the deposit was released (withdrawn) after it was read
            raise errors.TransitionBlocked(
                "bid cannot fire: needs the bidder's deposit was received", extra={"blocked_by": ["deposit_held"]}
            )
        ctx.result = bid
        ctx.diff["high_bid_fen"] = [high, amount]
        if extended:
            ctx.diff["ends_at"] = [previous_end, ends_at]
        ctx.payload.update(
            bid_id=bid.id,
            seq=bid.seq,
            bidder_number=bid.bidder_number,
            amount_fen=amount,
            ends_at=ends_at,
            extended=bool(extended),
        )
        outbid = recorded.organization_id
        if outbid is not None and outbid != registration.organization_id:
            ctx.private_events.append(
                {
                    "type": "auction.outbid",
                    "organization_id": outbid,
                    "subject_type": "auction",
                    "subject_id": auction.id,
                    "payload": {
                        "auction_id": auction.id,
                        "listing_id": auction.listing_id,
                        "your_bidder_number": recorded.bidder_number,
                        "high_bid_fen": amount,
                        "next_minimum_bid_fen": amount + auction.increment_fen,
                        "ends_at": ends_at,
                    },
                }
            )

    async def _effect_cancel_auction(self, ctx: Ctx) -> None:
        auction = ctx.auction
        assert auction is not None
        registrations = await self.repo.registrations_of(auction.id)
        for registration in registrations:
            await self._settle_deposit(registration)
        ctx.audience = [r.organization_id for r in registrations]
        if getattr(ctx.data, "reason", None):
            ctx.payload["reason"] = ctx.data.reason

    async def _effect_close_auction(self, ctx: Ctx) -> None:
        auction = ctx.auction
        assert auction is not None
        registrations = list(await self.repo.registrations_of(auction.id))
        ctx.audience = [r.organization_id for r in registrations]
        winner = None
        if GUARDS["reserve_met"].check(ctx):
            winner = next((r for r in registrations if r.id == auction.high_registration_id), None)
        for registration in registrations:
            if registration is not winner:
                await self._settle_deposit(registration)
        if winner is not None:
            deal = await self._award(ctx, winner)
            auction.winner_deal_id = deal.id
            ctx.payload.update(winning_bid_fen=auction.high_bid_fen, winner_bidder_number=winner.bidder_number)
        ctx.payload.update(bid_count=auction.bid_count, result="closed" if winner is not None else "unsold")

    async def _award(self, auction_ctx: Ctx, winner: AuctionRegistration) -> Deal:
        auction = auction_ctx.auction
        assert auction is not None and auction.high_bid_fen is not None
        t = TRANSITIONS_BY_NAME["award"]
        ctx = self._ctx(t, None, Actor.system, validate_input("award", {}))
        ctx.now = auction_ctx.now
        ctx.listing = await self.repo.get_listing(auction.listing_id)
        deal = Deal(
            listing_id=auction.listing_id,
            buyer_organization_id=winner.organization_id,
            seller_organization_id=auction.seller_organization_id,
            origin=DealOrigin.auction,
            state=State.contracting,
            auction_id=auction.id,
            registration_id=winner.id,
            price_basis=PriceBasis.auction,
            price_fen=auction.high_bid_fen,
            trade_mode=auction.trade_mode,
            deposit_fen=winner.deposit_fen,
            confirm_by=self.settings.calendar.add_workdays(ctx.now, self.settings.confirmation_workdays),
            last_activity_at=ctx.now,
            created_at=ctx.now,
        )
        await self.repo.add(deal)
        ctx.deal = deal
        ctx.payload.update(auction_id=auction.id, price_fen=deal.price_fen, confirm_by=deal.confirm_by)
        await self._finish_deal(ctx, None)
        return deal


for _name, _fn in {
    "open": DealsService._effect_open,
    "reply": DealsService._effect_message,
    "decline": DealsService._effect_decline,
    "message": DealsService._effect_message,
    "make_offer": DealsService._effect_make_offer,
    "accept_offer": DealsService._effect_accept_offer,
    "reject_offer": DealsService._effect_reject_offer,
    "withdraw_offer": DealsService._effect_withdraw_offer,
    "expire_offer": DealsService._effect_expire_offer,
    "file_objection": DealsService._effect_file_objection,
    "uphold_objection": DealsService._effect_uphold_objection,
    "dismiss_objection": DealsService._effect_dismiss_objection,
    "end_notice": DealsService._effect_end_notice,
    "award": DealsService._effect_nothing,
    "confirm_contract": DealsService._effect_confirm_contract,
    "lapse_confirmation": DealsService._effect_lapse_confirmation,
    "decline_award": DealsService._effect_decline_award,
    "deliver_milestone": DealsService._effect_deliver_milestone,
    "accept_milestone": DealsService._effect_accept_milestone,
    "dispute_milestone": DealsService._effect_dispute_milestone,
    "resolve_dispute": DealsService._effect_resolve_dispute,
    "auto_accept_milestone": DealsService._effect_accept_milestone,
    "appoint_broker": DealsService._effect_appoint_broker,
    "revoke_broker": DealsService._effect_revoke_broker,
    "cancel": DealsService._effect_cancel,
    "platform_cancel": DealsService._effect_platform_cancel,
    "expire_idle": DealsService._effect_nothing,
    "open_auction": DealsService._effect_open_auction,
    "register": DealsService._effect_register,
    "confirm_deposit": DealsService._effect_confirm_deposit,
    "withdraw_registration": DealsService._effect_withdraw_registration,
    "bid": DealsService._effect_bid,
    "cancel_auction": DealsService._effect_cancel_auction,
    "close_auction": DealsService._effect_close_auction,
}.items():
    effect(_name)(_fn)
