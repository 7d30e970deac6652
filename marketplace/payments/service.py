"""The money rules: fee schedules and quotes, what each deal-flow transition posts, receipts, payouts."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import Organization
from marketplace.accounts.principal import Principal
from marketplace.deals.models import AuctionRegistration, Deal, DealBroker, DealMilestone, DepositStatus
from marketplace.events.service import EventRecorder
from marketplace.kit.time import utcnow
from marketplace.payments import errors
from marketplace.payments.fees import Schedule, SideQuote, allocate, check_bands, commission_fen, share, side_fee
from marketplace.payments.ledger import CURRENCY, Ledger
from marketplace.payments.models import (
    AccountKind,
    DealFeeTerms,
    FeeSchedule,
    ForfeitTo,
    Payable,
    PayableKind,
    PayableStatus,
    PayoutPurpose,
    ProviderPayout,
    ProviderReceipt,
    TransferStatus,
)
from marketplace.payments.repository import PaymentsRepository

log = structlog.get_logger("marketplace.payments")
OFFLINE = "offline"
STRIPE = "stripe"
STRIPE_EVENT_JOB = "payments.stripe_event"
STRIPE_PAYOUT_JOB = "payments.stripe_payout"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1: read aloud over the phone


def new_reference() -> str:
    """A payment reference code a payer quotes on the transfer (ZF + 10 characters, ~50 bits)."""
    return "ZF" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


def schedule_terms(row: FeeSchedule) -> Schedule:
    """The arithmetic's view of a stored schedule."""
    return Schedule.of(
        bands=row.bands,
        seller_min_fen=row.seller_min_fen,
        buyer_min_fen=row.buyer_min_fen,
        seller_cap_fen=row.seller_cap_fen,
        buyer_cap_fen=row.buyer_cap_fen,
        broker_commission_bps=row.broker_commission_bps,
    )


def owed(payable: Payable) -> tuple[int, int, int]:
    """What a settled milestone costs the buyer, the buyer's fee kept and the seller's fee kept (unsettled: 0)."""
    release = payable.settled_release_fen or 0
    buyer_fee = share(payable.buyer_fee_fen, release, payable.principal_fen)
    seller_fee = share(payable.seller_fee_fen, release, payable.principal_fen)
    return release + buyer_fee, buyer_fee, seller_fee


@dataclass(frozen=True)
class Quote:
    """A fee quote: the schedule used and both sides' arithmetic."""

    schedule: FeeSchedule
    amount_fen: int
    mode: str | None
    seller: SideQuote
    buyer: SideQuote
    broker_commission_fen: int


class PaymentsService:
    """Fees, the deal flow's postings, receipts and payouts (one session, never committing)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = PaymentsRepository(session)
        self.ledger = Ledger(session)
        self.events = EventRecorder(session)

    # ============================================================ fee schedules

    async def schedule(self, version: int | None = None) -> FeeSchedule:
        """A schedule version (None: the one in force)."""
        row = await self.repo.schedule(version)
        if row is None:
            raise errors.ScheduleNotFound(f"no fee schedule version {version}")
        return row

    async def quote(self, amount_fen: int, *, mode: str | None = None, version: int | None = None) -> Quote:
        """Both sides' fees on an amount under a schedule."""
        row = await self.schedule(version)
        terms = schedule_terms(row)
        return Quote(
            schedule=row,
            amount_fen=amount_fen,
            mode=mode,
            seller=side_fee(terms, "seller", amount_fen),
            buyer=side_fee(terms, "buyer", amount_fen),
            broker_commission_fen=commission_fen(amount_fen, bps=row.broker_commission_bps, fixed_fen=None),
        )

    async def publish_schedule(self, principal: Principal, data: Any) -> FeeSchedule:
        """Publish a new schedule version; deals already confirmed keep theirs."""
        bands = [b.model_dump() for b in data.bands]
        problem = check_bands(bands)
        if problem:
            raise errors.InvalidSchedule(problem, errors=[errors.FieldProblem(detail=problem, pointer="/bands")])
        for side in ("seller", "buyer"):
            cap = getattr(data, f"{side}_cap_fen")
            if cap is not None and cap < getattr(data, f"{side}_min_fen"):
                raise errors.InvalidSchedule.field(f"/{side}_cap_fen", "a cap below the minimum")
        await self.repo.lock_schedules()
        latest = await self.repo.schedule()
        row = FeeSchedule(
            version=(latest.version if latest else 0) + 1,
            bands=bands,
            seller_min_fen=data.seller_min_fen,
            buyer_min_fen=data.buyer_min_fen,
            seller_cap_fen=data.seller_cap_fen,
            buyer_cap_fen=data.buyer_cap_fen,
            broker_commission_bps=data.broker_commission_bps,
            deposit_forfeit_to=data.deposit_forfeit_to,
            note=data.note,
            published_by_user_id=principal.user_id,
        )
        await self.repo.add(row)
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="fee_schedule.published",
            target_type="fee_schedule",
            target_id=str(row.version),
            diff={"version": row.version},
        )
        return row

    # ============================================================ the deal flow

    async def fix_terms(self, deal: Deal, milestones: list[DealMilestone]) -> DealFeeTerms:
        """On contract confirmation: keep the schedule in force, fix the fees, ask for each milestone's money."""
        existing = await self.repo.fee_terms(deal.id)
        if existing is not None:
            return existing
        milestones = sorted(milestones, key=lambda m: m.position)
        amount = deal.price_fen or sum(m.amount_fen for m in milestones)
        quote = await self.quote(amount)
        terms = DealFeeTerms(
            deal_id=deal.id,
            schedule_version=quote.schedule.version,
            currency=CURRENCY,
            amount_fen=amount,
            seller_fee_fen=quote.seller.fee_fen,
            buyer_fee_fen=quote.buyer.fee_fen,
        )
        await self.repo.add(terms)
        if milestones:
            weights = [m.amount_fen for m in milestones]
            buyer_parts = allocate(terms.buyer_fee_fen, weights)
            seller_parts = allocate(terms.seller_fee_fen, weights)
            for m, bf, sf in zip(milestones, buyer_parts, seller_parts, strict=True):
                payable = Payable(
                    reference=new_reference(),
                    kind=PayableKind.milestone,
                    subject_id=m.id,
                    deal_id=deal.id,
                    payer_organization_id=deal.buyer_organization_id,
                    payee_organization_id=deal.seller_organization_id,
                    principal_fen=m.amount_fen,
                    buyer_fee_fen=bf,
                    seller_fee_fen=sf,
                    due_fen=m.amount_fen + bf,
                )
                await self.repo.add(payable)
                self._emit(
                    "payment.requested",
                    payable,
                    {"milestone_id": m.id, "amount_fen": payable.due_fen, "buyer_fee_fen": bf},
                )
        return terms

    async def _milestone_payable(self, deal: Deal, milestone: DealMilestone) -> Payable:
        payable = await self.repo.payable_for(PayableKind.milestone, milestone.id, lock=True)
        if payable is None:  # the contract was confirmed before payments were installed
            from marketplace.deals.repository import DealsRepository

            await self.fix_terms(deal, list(await DealsRepository(self.session).milestones_of(deal.id)))
            payable = await self.repo.payable_for(PayableKind.milestone, milestone.id, lock=True)
            assert payable is not None
        return payable

    async def settle_milestone(self, deal: Deal, milestone: DealMilestone) -> None:
        """The deal decided a milestone (release, refund or split): post what the money received allows."""
        payable = await self._milestone_payable(deal, milestone)
        release = milestone.released_fen or 0  # the engine sets both parts before calling either port
        payable.settled_release_fen, payable.settled_refund_fen = release, milestone.amount_fen - release
        await self._post_settlement(payable)

    def owed(self, payable: Payable) -> tuple[int, int, int]:
        """What a settled milestone costs the buyer, the buyer's fee kept and the seller's fee kept."""
        return owed(payable)

    async def _post_settlement(self, payable: Payable) -> None:
        """Catch the ledger up with a settled milestone: release once fully funded, refund what is beyond."""
        if payable.settled_release_fen is None or payable.deal_id is None:
            return
        deal = await self.repo.deal(payable.deal_id)
        assert deal is not None
        owed, buyer_fee, seller_fee = self.owed(payable)
        escrow = await self.ledger.escrow(deal.id)
        release = payable.settled_release_fen
        if payable.received_fen >= owed and payable.released_fen == 0 and owed > 0:
            withheld = min(seller_fee, release)
            await self.ledger.post(
                f"release:{payable.id}",
                "milestone_release",
                [
                    (escrow, -owed),
                    (await self.ledger.available(deal.seller_organization_id), release - withheld),
                    (await self.ledger.revenue(), buyer_fee + withheld),
                ],
                deal_id=deal.id,
                memo=f"milestone {payable.subject_id}: {release} to the seller, fees {buyer_fee} + {withheld}",
            )
            payable.released_fen = release
            if seller_fee > withheld:  # a minimum fee larger than the release: the seller owes the rest
                await self._charge(
                    PayableKind.fee,
                    subject_id=payable.id,
                    deal_id=deal.id,
                    payer=deal.seller_organization_id,
                    payee=None,
                    amount=seller_fee - withheld,
                )
            self._emit(
                "escrow.released",
                payable,
                {"milestone_id": payable.subject_id, "released_fen": release, "seller_fee_fen": seller_fee},
                organization_id=deal.seller_organization_id,
            )
        refundable = max(0, payable.received_fen - owed)
        if payable.released_fen == 0 and owed > 0:
            refundable = 0  # still owed: what came in stays in escrow until the rest arrives
        if refundable > payable.refunded_fen:
            delta = refundable - payable.refunded_fen
            await self.ledger.post(
                f"refund:{payable.id}:{refundable}",
                "refund",
                [(escrow, -delta), (await self.ledger.available(payable.payer_organization_id), delta)],
                deal_id=deal.id,
                memo=f"milestone {payable.subject_id}: {delta} back to the buyer",
            )
            payable.refunded_fen = refundable
            self._emit("refund.credited", payable, {"milestone_id": payable.subject_id, "amount_fen": delta})
        if owed == 0:
            payable.status = PayableStatus.void  # all refunded: nothing is due any more
        else:
            payable.status = PayableStatus.paid if payable.received_fen >= owed else PayableStatus.open
        payable.updated_at = utcnow()

    async def _charge(
        self,
        kind: PayableKind,
        *,
        subject_id: uuid.UUID,
        deal_id: uuid.UUID | None,
        payer: uuid.UUID,
        payee: uuid.UUID | None,
        amount: int,
    ) -> Payable | None:
        """A commission or fee an organisation owes: set off from its available money, the rest by transfer."""
        if amount <= 0 or await self.repo.payable_for(kind, subject_id) is not None:
            return None
        payable = Payable(
            reference=new_reference(),
            kind=kind,
            subject_id=subject_id,
            deal_id=deal_id,
            payer_organization_id=payer,
            payee_organization_id=payee,
            principal_fen=amount,
            due_fen=amount,
        )
        await self.repo.add(payable)
        available = await self.ledger.available(payer)
        balance = await self.repo.balance(available, lock=True)
        taken = min(balance, amount)
        if taken > 0:
            await self.ledger.post(
                f"setoff:{payable.id}",
                f"{kind.value}_setoff",
                [(available, -taken), (await self._charge_target(payable), taken)],
                deal_id=deal_id,
                memo=f"{kind.value} {amount} set off from available money",
            )
            payable.received_fen = taken
        payable.status = PayableStatus.paid if payable.received_fen >= amount else PayableStatus.open
        self._emit(f"{kind.value}.due", payable, {"amount_fen": amount, "set_off_fen": taken})
        return payable

    async def _charge_target(self, payable: Payable) -> uuid.UUID:
        if payable.kind == PayableKind.commission:
            assert payable.payee_organization_id is not None
            return await self.ledger.commission(payable.payee_organization_id)
        return await self.ledger.revenue()

    async def deal_completed(self, deal: Deal, brokers: list[DealBroker]) -> None:
        """Every milestone is settled: each broker's commission falls due from the party that appointed it."""
        terms = await self.repo.fee_terms(deal.id)
        amount = terms.amount_fen if terms else deal.price_fen or 0
        for broker in brokers:
            fen = commission_fen(amount, bps=broker.commission_bps, fixed_fen=broker.commission_fixed_fen)
            payer = deal.buyer_organization_id if broker.side == "buyer" else deal.seller_organization_id
            await self._charge(
                PayableKind.commission,
                subject_id=broker.id,
                deal_id=deal.id,
                payer=payer,
                payee=broker.agency_organization_id,
                amount=fen,
            )

    # ============================================================ deposits

    async def request_deposit(self, registration: AuctionRegistration) -> str:
        """A bidder registered: a deposit payable with its reference code."""
        existing = await self.repo.payable_for(PayableKind.deposit, registration.id)
        if existing is not None:
            return existing.reference
        payable = Payable(
            reference=new_reference(),
            kind=PayableKind.deposit,
            subject_id=registration.id,
            payer_organization_id=registration.organization_id,
            payee_organization_id=await self.repo.seller_of_auction(registration.auction_id),
            principal_fen=registration.deposit_fen,
            due_fen=registration.deposit_fen,
        )
        await self.repo.add(payable)
        self._emit("deposit.requested", payable, {"registration_id": registration.id, "amount_fen": payable.due_fen})
        return payable.reference

    async def _held_deposit(self, registration: AuctionRegistration) -> tuple[Payable | None, int]:
        payable = await self.repo.payable_for(PayableKind.deposit, registration.id, lock=True)
        if payable is None:
            return None, 0
        return payable, payable.received_fen - payable.released_fen - payable.refunded_fen

    async def release_deposit(self, registration: AuctionRegistration) -> None:
        """Give a held deposit back: to the bidder's available money."""
        payable, held = await self._held_deposit(registration)
        if payable is None or held <= 0:
            return
        org = registration.organization_id
        await self.ledger.post(
            f"deposit-release:{registration.id}",
            "deposit_release",
            [(await self.ledger.held(org), -held), (await self.ledger.available(org), held)],
            memo=f"deposit of bidder {registration.bidder_number} released",
        )
        payable.refunded_fen += held
        payable.status = PayableStatus.void
        self._emit("deposit.released", payable, {"registration_id": registration.id, "amount_fen": held})

    async def forfeit_deposit(self, registration: AuctionRegistration, deal: Deal | None) -> None:
        """Keep a held deposit: to the seller or the platform, as the schedule in force says."""
        payable, held = await self._held_deposit(registration)
        if payable is None or held <= 0:
            return
        rule = (await self.schedule()).deposit_forfeit_to
        seller = deal.seller_organization_id if deal else payable.payee_organization_id
        target = (
            await self.ledger.available(seller)
            if rule == ForfeitTo.seller and seller is not None
            else await self.ledger.revenue()
        )
        await self.ledger.post(
            f"deposit-forfeit:{registration.id}",
            "deposit_forfeit",
            [(await self.ledger.held(registration.organization_id), -held), (target, held)],
            deal_id=deal.id if deal else None,
            memo=f"deposit of bidder {registration.bidder_number} forfeited to the {rule.value}",
        )
        payable.released_fen += held
        payable.status = PayableStatus.void
        self._emit(
            "deposit.forfeited",
            payable,
            {"registration_id": registration.id, "amount_fen": held, "to": rule.value},
        )

    async def apply_deposit(self, registration: AuctionRegistration, deal: Deal) -> None:
        """The winner confirmed: its held deposit moves into the deal's escrow toward the first milestones."""
        payable, held = await self._held_deposit(registration)
        if payable is None or held <= 0:
            return
        escrow = await self.ledger.escrow(deal.id)
        milestones = await self.repo.milestone_payables(deal.id, lock=True)
        legs: list[tuple[uuid.UUID, int]] = [(await self.ledger.held(registration.organization_id), -held)]
        left = held
        for m in milestones:
            take = min(left, m.due_fen - m.received_fen)
            if take > 0:
                m.received_fen += take
                left -= take
        legs.append((escrow, held - left))
        if left:
            legs.append((await self.ledger.available(registration.organization_id), left))
        await self.ledger.post(
            f"deposit-apply:{registration.id}",
            "deposit_apply",
            legs,
            deal_id=deal.id,
            memo=f"deposit of bidder {registration.bidder_number} applied to the price",
        )
        payable.released_fen += held
        payable.status = PayableStatus.void
        for m in milestones:
            await self._post_settlement(m)
        self._emit("deposit.applied", payable, {"registration_id": registration.id, "amount_fen": held})

    # ============================================================ money coming in and going out

    async def record_receipt(
        self,
        principal: Principal | None,
        *,
        provider: str,
        external_id: str,
        reference: str,
        amount_fen: int,
        received_at: datetime | None = None,
    ) -> ProviderReceipt:
        """Money a provider received against a reference: apply it to the payable; any excess to available."""
        earlier = await self.repo.receipt(provider, external_id)
        if earlier is not None:
            if earlier.reference != reference or earlier.amount_fen != amount_fen:
                raise errors.ProviderRecordConflict(
                    f"{provider} record {external_id} was recorded with other details",
                    errors=[errors.FieldProblem(detail="recorded before", pointer="/external_id")],
                )
            return earlier
        payable = await self.repo.payable_by_reference(reference, lock=True)
        if payable is None:
            raise errors.UnknownReference.field("/reference", "no payment is due under this reference")
        applied = self._applicable(payable, amount_fen)
        excess = amount_fen - applied
        status = (
            TransferStatus.overpaid
            if excess
            else TransferStatus.exact
            if payable.received_fen + applied >= payable.due_fen
            else TransferStatus.partial
        )
        receipt = ProviderReceipt(
            provider=provider,
            external_id=external_id,
            payable_id=payable.id,
            reference=reference,
            payer_organization_id=payable.payer_organization_id,
            amount_fen=amount_fen,
            applied_fen=applied,
            excess_fen=excess,
            status=status,
            recorded_by_user_id=principal.user_id if principal else None,
            received_at=received_at or utcnow(),
        )
        await self.repo.add(receipt)
        target = await self._receipt_target(payable)
        receipt.ledger_transaction_id = await self.ledger.post(
            f"receipt:{provider}:{external_id}",
            "receipt",
            [
                (await self.ledger.clearing(provider), -amount_fen),
                (target, applied),
                (await self.ledger.available(payable.payer_organization_id), excess),
            ],
            deal_id=payable.deal_id,
            memo=f"{provider} {external_id} for {reference}",
        )
        payable.received_fen += applied
        payable.updated_at = utcnow()
        if payable.kind == PayableKind.milestone:
            if payable.received_fen >= payable.due_fen:
                payable.status = PayableStatus.paid
            await self._post_settlement(payable)
        elif payable.status == PayableStatus.open and payable.received_fen >= payable.due_fen:
            payable.status = PayableStatus.paid
            if payable.kind == PayableKind.deposit:
                await self._deposit_in(principal, payable)
        self._emit(
            "payment.received",
            payable,
            {
                "reference": reference,
                "amount_fen": amount_fen,
                "applied_fen": applied,
                "excess_fen": excess,
                "remaining_fen": payable.due_fen - payable.received_fen,
                "status": status.value,
                "provider": provider,
            },
        )
        return receipt

    def _applicable(self, payable: Payable, amount: int) -> int:
        """How much of an amount the payable still takes (a void deposit takes nothing)."""
        if payable.status == PayableStatus.void:
            return 0
        return max(0, min(amount, payable.due_fen - payable.received_fen))

    async def _receipt_target(self, payable: Payable) -> uuid.UUID:
        if payable.kind == PayableKind.milestone:
            assert payable.deal_id is not None
            return await self.ledger.escrow(payable.deal_id)
        if payable.kind == PayableKind.deposit:
            return await self.ledger.held(payable.payer_organization_id)
        return await self._charge_target(payable)

    async def _deposit_in(self, principal: Principal | None, payable: Payable) -> None:
        """A deposit is paid in full: the auction counts the bidder's deposit as held."""
        registration = await self.repo.registration(payable.subject_id)
        if registration is None or registration.deposit_status != DepositStatus.pending:
            return
        if principal is None:  # a provider webhook: the platform confirms the deposit (confirm_deposit)
            log.info("deposit paid through a provider; awaiting confirm_deposit", registration_id=str(registration.id))
            return
        from marketplace.deals import errors as deal_errors
        from marketplace.deals.service import DealsService

        try:
            await DealsService(self.session).fire_auction(
                principal,
                registration.auction_id,
                "confirm_deposit",
                {"registration_id": str(registration.id), "reference": payable.reference},
            )
        except (deal_errors.TransitionNotAvailable, deal_errors.TransitionBlocked) as exc:
            log.info("deposit paid but the auction moved on", registration_id=str(registration.id), why=exc.detail)

    async def record_payout(
        self,
        principal: Principal | None,
        *,
        provider: str,
        external_id: str,
        organization_id: uuid.UUID,
        purpose: PayoutPurpose,
        amount_fen: int,
        paid_at: datetime | None = None,
        payment_intent_id: str | None = None,
    ) -> ProviderPayout:
        """Money paid out to an organisation: debit its account, credit the provider's clearing."""
        earlier = await self.repo.payout(provider, external_id)
        if earlier is not None:
            if (earlier.organization_id, earlier.purpose, earlier.amount_fen) != (organization_id, purpose, amount_fen):
                raise errors.ProviderRecordConflict(
                    f"{provider} payout {external_id} was recorded with other details",
                    errors=[errors.FieldProblem(detail="recorded before", pointer="/external_id")],
                )
            return earlier
        if await self.session.get(Organization, organization_id) is None:
            raise errors.OrganizationNotFound(
                "no such organisation",
                errors=[errors.FieldProblem(detail="no such organisation", pointer="/organization_id")],
            )
        account = (
            await self.ledger.commission(organization_id)
            if purpose == PayoutPurpose.commission
            else await self.ledger.available(organization_id)
        )
        balance = await self.repo.balance(account, lock=True)
        if balance < amount_fen:
            raise errors.InsufficientBalance(
                f"the account holds {balance} fen",
                errors=[errors.FieldProblem(detail=f"more than the {balance} fen held", pointer="/amount_fen")],
            )
        payout = ProviderPayout(
            provider=provider,
            external_id=external_id,
            organization_id=organization_id,
            purpose=purpose,
            amount_fen=amount_fen,
            recorded_by_user_id=principal.user_id if principal else None,
            payment_intent_id=payment_intent_id,
            sent_at=(paid_at or utcnow()) if provider == OFFLINE else None,
            paid_at=paid_at or utcnow(),
        )
        await self.repo.add(payout)
        payout.ledger_transaction_id = await self.ledger.post(
            f"payout:{provider}:{external_id}",
            "payout",
            [(account, -amount_fen), (await self.ledger.clearing(provider), amount_fen)],
            memo=f"{purpose.value} paid out by {provider} ({external_id})",
        )
        self.events.emit(
            type="payout.sent",
            organization_id=organization_id,
            subject_type="payout",
            subject_id=payout.id,
            payload={"payout_id": payout.id, "purpose": purpose.value, "amount_fen": amount_fen, "provider": provider},
        )
        return payout

    # ============================================================ stripe

    async def stripe_intent(self, principal: Principal, payable_id: uuid.UUID) -> tuple[Payable, str | None]:
        """A PaymentIntent for what the caller's payable still needs (client_secret for the browser)."""
        from marketplace.payments.stripe_provider import StripeProvider

        payable = await self.repo.get_payable(payable_id, lock=True)
        if payable is None or (
            payable.payer_organization_id != principal.organization_id and not principal.is_platform
        ):
            raise errors.PayableNotFound("no such payable")
        if payable.status != PayableStatus.open or payable.received_fen >= payable.due_fen:
            raise errors.NothingToPay("nothing is due on this payable")
        intent_id, secret = await StripeProvider().payment_intent(payable)
        payable.provider_ref = intent_id
        return payable, secret

    async def store_stripe_event(self, event: dict[str, Any]) -> bool:
        """Store a verified event once by its id and queue its processing; False for a duplicate."""
        from marketplace.events import jobs

        row_id = await self.repo.insert_event(STRIPE, event["id"], event["type"], event)
        if row_id is None:
            return False
        await jobs.schedule(
            self.session,
            kind=STRIPE_EVENT_JOB,
            payload={"event_row_id": str(row_id)},
            dedupe_key=f"stripe:{event['id']}",
        )
        return True

    async def process_stripe_event(self, row_id: uuid.UUID) -> str:
        """Apply one stored event (in the job's transaction, so the posting and the mark commit together)."""
        event = await self.repo.event(row_id, lock=True)
        if event is None or event.processed_at is not None:
            return "done before"
        obj = event.payload.get("data", {}).get("object", {}) or {}
        outcome = "ignored"
        if event.type == "payment_intent.succeeded":
            outcome = await self._stripe_payment(obj)
        elif event.type in ("charge.refunded", "refund.created", "refund.updated", "transfer.created"):
            refs = [obj.get("id")] + [r.get("id") for r in (obj.get("refunds") or {}).get("data", [])]
            known = [r for r in refs if r and await self.repo.payout_by_provider_ref(STRIPE, r)]
            outcome = "matched payout" if known else "no payout of ours"
        event.processed_at = utcnow()
        event.outcome = outcome
        return outcome

    async def _stripe_payment(self, intent: dict[str, Any]) -> str:
        payable_id = (intent.get("metadata") or {}).get("payable_id")
        payable = await self.repo.get_payable(uuid.UUID(payable_id)) if payable_id else None
        if payable is None:
            return "no payable of ours"
        amount = int(intent.get("amount_received") or intent.get("amount") or 0)
        if amount <= 0:
            return "nothing received"
        await self.record_receipt(
            None, provider=STRIPE, external_id=str(intent["id"]), reference=payable.reference, amount_fen=amount
        )
        return "posted"

    async def stripe_payout(self, principal: Principal, data: Any) -> ProviderPayout:
        """Debit the organisation now and send the money through Stripe after commit (a job, keyed by our id)."""
        from marketplace.events import jobs

        if data.purpose == PayoutPurpose.refund and not data.payment_intent_id:
            raise errors.InvalidInput.field("/payment_intent_id", "a refund names the PaymentIntent it refunds")
        if data.purpose != PayoutPurpose.refund and await self.repo.stripe_account(data.organization_id) is None:
            raise errors.InvalidInput.field("/organization_id", "the organisation has no Stripe account yet")
        payout = await self.record_payout(
            principal,
            provider=STRIPE,
            external_id=f"payout:{uuid.uuid4()}",
            organization_id=data.organization_id,
            purpose=data.purpose,
            amount_fen=data.amount_fen,
            payment_intent_id=data.payment_intent_id,
        )
        await jobs.schedule(
            self.session,
            kind=STRIPE_PAYOUT_JOB,
            payload={"payout_id": str(payout.id)},
            dedupe_key=f"payout:{payout.id}",
        )
        return payout

    async def send_stripe_payout(self, payout_id: uuid.UUID) -> None:
        """The job: make the refund or transfer (idempotent by the payout's id) and keep Stripe's id."""
        from marketplace.payments.stripe_provider import StripeProvider

        payout = await self.repo.get_payout(payout_id, lock=True)
        if payout is None or payout.sent_at is not None:
            return
        provider = StripeProvider()
        if payout.purpose == PayoutPurpose.refund:
            assert payout.payment_intent_id is not None
            ref = await provider.refund(
                payout_id=payout.id, payment_intent_id=payout.payment_intent_id, amount_fen=payout.amount_fen
            )
        else:
            account = await self.repo.stripe_account(payout.organization_id)
            if account is None:
                raise errors.ProviderNotConfigured("the organisation has no Stripe account")
            ref = await provider.transfer(
                payout_id=payout.id,
                account_id=account.account_id,
                amount_fen=payout.amount_fen,
                currency=payout.currency,
            )
        payout.provider_ref = ref
        payout.sent_at = utcnow()

    async def connect_link(self, principal: Principal, *, refresh_url: str, return_url: str) -> tuple[str, str]:
        """The caller's organisation's connected account (created once) and an onboarding link."""
        from marketplace.payments.models import StripeAccount
        from marketplace.payments.stripe_provider import StripeProvider

        provider = StripeProvider()
        account = await self.repo.stripe_account(principal.organization_id)
        if account is None:
            account = StripeAccount(
                organization_id=principal.organization_id,
                account_id=await provider.connected_account(principal.organization_id),
            )
            await self.repo.add(account)
        url = await provider.onboarding_link(account.account_id, refresh_url=refresh_url, return_url=return_url)
        return account.account_id, url

    # ============================================================ reading money

    async def visible_organization(self, principal: Principal, organization_id: uuid.UUID | None) -> uuid.UUID:
        """The organisation whose money the caller asks about: its own, or any for the platform (else 404)."""
        if organization_id is None or organization_id == principal.organization_id:
            return principal.organization_id
        if not principal.is_platform or await self.session.get(Organization, organization_id) is None:
            raise errors.OrganizationNotFound("no such organisation")
        return organization_id

    async def balances(self, organization_id: uuid.UUID) -> list[dict[str, Any]]:
        """An organisation's accounts and balances."""
        return [
            {"account": a.key, "kind": a.kind.value, "currency": a.currency, "balance_fen": a.balance_fen}
            for a in await self.repo.accounts(organization_id=organization_id)
        ]

    async def statement(
        self, organization_id: uuid.UUID, *, start: datetime | None, end: datetime | None
    ) -> dict[str, Any]:
        """Opening balance, every movement and the closing balance of each account over [start, end)."""
        accounts = list(await self.repo.accounts(organization_id=organization_id))
        ids = [a.id for a in accounts]
        opening = await self.repo.account_sum_before(ids, start)
        running = dict(opening)
        movements = []
        credits = dict.fromkeys(ids, 0)
        debits = dict.fromkeys(ids, 0)
        keys = {a.id: a.key for a in accounts}
        for row in await self.repo.movements(ids, start, end):
            account = row["account_id"]
            running[account] += row["amount_fen"]
            if row["amount_fen"] > 0:
                credits[account] += row["amount_fen"]
            else:
                debits[account] -= row["amount_fen"]
            movements.append(
                {
                    "entry_id": row["id"],
                    "posted_at": row["created_at"],
                    "account": keys[account],
                    "transaction_id": row["transaction_id"],
                    "kind": row["kind"],
                    "deal_id": row["deal_id"],
                    "memo": row["memo"],
                    "amount_fen": row["amount_fen"],
                    "balance_fen": running[account],
                }
            )
        return {
            "organization_id": organization_id,
            "start": start,
            "end": end,
            "accounts": [
                {
                    "account": a.key,
                    "kind": a.kind.value,
                    "opening_fen": opening[a.id],
                    "credits_fen": credits[a.id],
                    "debits_fen": debits[a.id],
                    "closing_fen": running[a.id],
                }
                for a in accounts
            ],
            "movements": movements,
        }

    async def deal_money(self, deal: Deal) -> dict[str, Any]:
        """A deal's fee terms, payables and escrow."""
        terms = await self.repo.fee_terms(deal.id)
        escrow = await self.repo.balance(await self.ledger.escrow(deal.id))
        return {
            "deal_id": deal.id,
            "schedule_version": terms.schedule_version if terms else None,
            "amount_fen": terms.amount_fen if terms else None,
            "seller_fee_fen": terms.seller_fee_fen if terms else None,
            "buyer_fee_fen": terms.buyer_fee_fen if terms else None,
            "escrow_fen": escrow,
            "payables": list(await self.repo.payables(deal_id=deal.id)),
        }

    async def reconcile(self) -> dict[str, Any]:
        """Compare every provider record with the ledger; list each mismatch."""
        mismatches: list[dict[str, Any]] = []
        checked = 0

        def miss(kind: str, provider: str, record: str, detail: str, p: int | None, led: int | None) -> None:
            mismatches.append(
                {
                    "kind": kind,
                    "provider": provider,
                    "record_id": record,
                    "detail": detail,
                    "provider_fen": p,
                    "ledger_fen": led,
                }
            )

        async def posted(key: str, clearing_sign: int) -> int | None:
            tx = await self.repo.transaction_by_key(key)
            if tx is None:
                return None
            clearing_keys = {a.id for a in await self.repo.accounts() if a.kind == AccountKind.clearing}
            return sum(x for acc, _, x in await self.repo.entries_of(tx.id) if acc in clearing_keys) * clearing_sign

        for r in await self.repo.receipts():
            checked += 1
            amount = await posted(f"receipt:{r.provider}:{r.external_id}", -1)
            if amount is None:
                miss(
                    "receipt_not_posted",
                    r.provider,
                    r.external_id,
                    "received but not in the ledger",
                    r.amount_fen,
                    None,
                )
            elif amount != r.amount_fen:
                miss("receipt_amount", r.provider, r.external_id, "amounts differ", r.amount_fen, amount)
        for p in await self.repo.payouts():
            checked += 1
            amount = await posted(f"payout:{p.provider}:{p.external_id}", 1)
            if amount is None:
                miss(
                    "payout_not_posted", p.provider, p.external_id, "paid out but not in the ledger", p.amount_fen, None
                )
            elif amount != p.amount_fen:
                miss("payout_amount", p.provider, p.external_id, "amounts differ", p.amount_fen, amount)
        for e in await self.repo.events("stripe"):
            checked += 1
            if e.processed_at is None:
                miss("event_unprocessed", "stripe", e.event_id, f"{e.type} not processed yet", None, None)
        known = {f"receipt:{r.provider}:{r.external_id}" for r in await self.repo.receipts()}
        known |= {f"payout:{p.provider}:{p.external_id}" for p in await self.repo.payouts()}
        for tx in await self.repo.transactions_of_kind_since(["receipt", "payout"]):
            if tx.key not in known:
                miss("ledger_without_record", "", tx.key, "posted without a provider record", None, None)
        for payable_id, amount in await self.repo.stranded_deposits():
            miss(
                "deposit_stranded",
                "",
                str(payable_id),
                "deposit money held for a registration no longer bidding",
                None,
                amount,
            )
        for tx_id in await self.repo.unbalanced_transactions():
            miss("unbalanced_transaction", "", str(tx_id), "entries do not sum to zero", None, None)
        for key, kept, summed in await self.repo.drifted_accounts():
            miss("balance_drift", "", key, "kept balance differs from its entries", kept, summed)
        clearing = {
            a.provider or "": a.balance_fen for a in await self.repo.accounts() if a.kind == AccountKind.clearing
        }
        return {"checked": checked, "mismatches": mismatches, "clearing_fen": clearing}

    # ============================================================ helpers

    def _emit(
        self, type_: str, payable: Payable, data: dict[str, Any], *, organization_id: uuid.UUID | None = None
    ) -> None:
        org = organization_id or payable.payer_organization_id
        audience = [o for o in (payable.payer_organization_id, payable.payee_organization_id) if o and o != org]
        self.events.emit(
            type=type_,
            organization_id=org,
            subject_type="payable",
            subject_id=payable.id,
            payload={"payable_id": payable.id, "kind": payable.kind.value, "deal_id": payable.deal_id, **data},
            audience=audience,
        )


ACCOUNT_KINDS_OF_ORGANIZATIONS = (AccountKind.available, AccountKind.held, AccountKind.commission)
