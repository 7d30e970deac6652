"""Every query of the payments domain: schedules, fee terms, the ledger, payables, provider records."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.deals.models import AuctionRegistration, Deal, DealBroker, DealMilestone
from marketplace.payments.models import (
    AccountKind,
    DealFeeTerms,
    FeeSchedule,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Payable,
    PayableKind,
    ProviderEvent,
    ProviderPayout,
    ProviderReceipt,
    StripeAccount,
)


class PaymentsRepository:
    """Reads and writes money rows; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: Any) -> None:
        """Stage a row and flush it so constraint errors surface here."""
        self.session.add(obj)
        await self.session.flush()

    # ------------------------------------------------------------ schedules

    async def schedule(self, version: int | None = None) -> FeeSchedule | None:
        """One schedule version, or the newest."""
        stmt = select(FeeSchedule)
        if version is None:
            stmt = stmt.order_by(col(FeeSchedule.version).desc()).limit(1)
        else:
            stmt = stmt.where(FeeSchedule.version == version)
        return (await self.session.execute(stmt)).scalars().first()

    async def schedules(self) -> Sequence[FeeSchedule]:
        """Every version, newest first."""
        stmt = select(FeeSchedule).order_by(col(FeeSchedule.version).desc())
        return (await self.session.execute(stmt)).scalars().all()

    async def lock_schedules(self) -> None:
        """Serialize publishing (version numbers are taken in turn)."""
        await self.session.execute(sa.text("LOCK TABLE fee_schedules IN SHARE ROW EXCLUSIVE MODE"))

    async def fee_terms(self, deal_id: uuid.UUID) -> DealFeeTerms | None:
        """The fee terms a deal was agreed under."""
        return await self.session.get(DealFeeTerms, deal_id)

    # ------------------------------------------------------------ ledger

    async def account(
        self,
        kind: AccountKind,
        *,
        organization_id: uuid.UUID | None = None,
        deal_id: uuid.UUID | None = None,
        provider: str | None = None,
        currency: str = "CNY",
    ) -> uuid.UUID:
        """The id of an account, created on first use."""
        owner = organization_id or deal_id or provider or "platform"
        key = f"{kind.value}:{owner}:{currency}"
        stmt = (
            pg_insert(LedgerAccount)
            .values(
                id=uuid.uuid4(),
                key=key,
                kind=kind.value,
                currency=currency,
                organization_id=organization_id,
                deal_id=deal_id,
                provider=provider,
                balance_fen=0,
            )
            .on_conflict_do_nothing(index_elements=["key"])
        )
        await self.session.execute(stmt)
        found = await self.session.execute(sa.select(LedgerAccount.id).where(LedgerAccount.key == key))  # type: ignore[call-overload]
        return found.scalar_one()  # type: ignore[no-any-return]

    async def insert_transaction(
        self,
        *,
        key: str,
        kind: str,
        deal_id: uuid.UUID | None,
        memo: str | None,
        legs: list[tuple[uuid.UUID, int]],
        currency: str,
        reverses_id: uuid.UUID | None = None,
    ) -> uuid.UUID | None:
        """Write a transaction and its entries, or nothing if a transaction with this key exists (None)."""
        tx_id = uuid.uuid4()
        inserted = await self.session.execute(
            pg_insert(LedgerTransaction)
            .values(id=tx_id, key=key, kind=kind, deal_id=deal_id, memo=memo, reverses_id=reverses_id)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(col(LedgerTransaction.id))
        )
        if inserted.scalar_one_or_none() is None:
            return None
        # Credits first: an account appearing twice never dips below zero in between.
        ordered = sorted(legs, key=lambda leg: -leg[1])
        await self.session.execute(
            sa.insert(LedgerEntry),
            [
                {"transaction_id": tx_id, "account_id": account, "currency": currency, "amount_fen": amount}
                for account, amount in ordered
            ],
        )
        return tx_id

    async def transaction_by_key(self, key: str) -> LedgerTransaction | None:
        """A transaction by its key."""
        stmt = select(LedgerTransaction).where(LedgerTransaction.key == key)
        return (await self.session.execute(stmt)).scalars().first()

    async def get_transaction(self, tx_id: uuid.UUID) -> LedgerTransaction | None:
        """A transaction by id."""
        return await self.session.get(LedgerTransaction, tx_id)

    async def entries_of(self, tx_id: uuid.UUID) -> list[tuple[uuid.UUID, str, int]]:
        """A transaction's legs: account, currency, amount."""
        rows = await self.session.execute(
            sa.select(LedgerEntry.account_id, LedgerEntry.currency, LedgerEntry.amount_fen).where(  # type: ignore[call-overload]
                LedgerEntry.transaction_id == tx_id
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]

    async def balance(self, account_id: uuid.UUID, *, lock: bool = False) -> int:
        """An account's balance (from the trigger-kept column); locked, it stays so until the transaction ends."""
        stmt = sa.select(LedgerAccount.balance_fen).where(LedgerAccount.id == account_id)  # type: ignore[call-overload]
        row = await self.session.execute(stmt.with_for_update() if lock else stmt)
        return int(row.scalar_one())

    async def accounts(
        self, *, organization_id: uuid.UUID | None = None, deal_id: uuid.UUID | None = None
    ) -> Sequence[LedgerAccount]:
        """Accounts of an organisation or a deal (or all of them)."""
        stmt = select(LedgerAccount).order_by(col(LedgerAccount.key))
        if organization_id is not None:
            stmt = stmt.where(LedgerAccount.organization_id == organization_id)
        if deal_id is not None:
            stmt = stmt.where(LedgerAccount.deal_id == deal_id)
        return (await self.session.execute(stmt)).scalars().all()

    async def account_sum_before(self, account_ids: list[uuid.UUID], moment: datetime | None) -> dict[uuid.UUID, int]:
        """Each account's balance from its entries created before `moment` (None: nothing before)."""
        if not account_ids or moment is None:
            return dict.fromkeys(account_ids, 0)
        rows = await self.session.execute(
            sa.select(LedgerEntry.account_id, sa.func.coalesce(sa.func.sum(LedgerEntry.amount_fen), 0))  # type: ignore[call-overload]
            .where(col(LedgerEntry.account_id).in_(account_ids), col(LedgerEntry.created_at) < moment)
            .group_by(LedgerEntry.account_id)
        )
        out = dict.fromkeys(account_ids, 0)
        out.update({r[0]: int(r[1]) for r in rows})
        return out

    async def movements(
        self, account_ids: list[uuid.UUID], start: datetime | None, end: datetime | None
    ) -> list[dict[str, Any]]:
        """Entries on these accounts in [start, end), with their transactions, in posting order."""
        if not account_ids:
            return []
        stmt = (
            sa.select(  # type: ignore[call-overload]
                LedgerEntry.id,
                LedgerEntry.account_id,
                LedgerEntry.amount_fen,
                LedgerEntry.currency,
                LedgerEntry.created_at,
                LedgerTransaction.id.label("transaction_id"),  # type: ignore[attr-defined]
                LedgerTransaction.kind,
                LedgerTransaction.deal_id,
                LedgerTransaction.memo,
            )
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)  # type: ignore[arg-type]
            .where(col(LedgerEntry.account_id).in_(account_ids))
            .order_by(col(LedgerEntry.id))
        )
        if start is not None:
            stmt = stmt.where(col(LedgerEntry.created_at) >= start)
        if end is not None:
            stmt = stmt.where(col(LedgerEntry.created_at) < end)
        return [dict(r._mapping) for r in await self.session.execute(stmt)]

    async def totals_by_currency(self) -> dict[str, int]:
        """The sum of all entries per currency (zero when every transaction balances)."""
        rows = await self.session.execute(
            sa.select(LedgerEntry.currency, sa.func.sum(LedgerEntry.amount_fen)).group_by(LedgerEntry.currency)  # type: ignore[call-overload]
        )
        return {r[0]: int(r[1]) for r in rows}

    async def unbalanced_transactions(self) -> list[uuid.UUID]:
        """Transactions whose entries do not sum to zero in some currency, or have fewer than two entries."""
        rows = await self.session.execute(
            sa.text(
                "SELECT t.id FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id "
                "GROUP BY t.id HAVING count(e.id) < 2 OR EXISTS ("
                " SELECT 1 FROM ledger_entries x WHERE x.transaction_id = t.id"
                " GROUP BY x.currency HAVING sum(x.amount_fen) <> 0)"
            )
        )
        return [r[0] for r in rows]

    async def stranded_deposits(self) -> list[tuple[uuid.UUID, int]]:
        """Deposit money still held for registrations that were voided or withdrawn without a release."""
        rows = await self.session.execute(
            sa.text(
                "SELECT p.id, p.received_fen - p.released_fen - p.refunded_fen FROM payables p "
                "JOIN auction_registrations r ON r.id = p.subject_id WHERE p.kind = 'deposit' "
                "AND r.deposit_status IN ('void', 'released') AND p.received_fen - p.released_fen - p.refunded_fen > 0"
            )
        )
        return [(r[0], int(r[1])) for r in rows]

    async def drifted_accounts(self) -> list[tuple[str, int, int]]:
        """Accounts whose kept balance differs from the sum of their entries: key, kept, summed."""
        rows = await self.session.execute(
            sa.text(
                "SELECT a.key, a.balance_fen, coalesce(sum(e.amount_fen), 0) FROM ledger_accounts a "
                "LEFT JOIN ledger_entries e ON e.account_id = a.id GROUP BY a.id "
                "HAVING a.balance_fen <> coalesce(sum(e.amount_fen), 0)"
            )
        )
        return [(r[0], int(r[1]), int(r[2])) for r in rows]

    async def transactions_of_kind_since(self, kinds: list[str]) -> list[LedgerTransaction]:
        """Transactions of these kinds (reconciliation)."""
        stmt = select(LedgerTransaction).where(col(LedgerTransaction.kind).in_(kinds))
        return list((await self.session.execute(stmt)).scalars().all())  # type: ignore[attr-defined]

    # ------------------------------------------------------------ payables

    async def payable_for(self, kind: PayableKind, subject_id: uuid.UUID, *, lock: bool = False) -> Payable | None:
        """The payable of a milestone, registration or broker appointment."""
        stmt = select(Payable).where(Payable.kind == kind, Payable.subject_id == subject_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def payable_by_reference(self, reference: str, *, lock: bool = False) -> Payable | None:
        """A payable by the reference code a transfer quotes."""
        stmt = select(Payable).where(Payable.reference == reference)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def get_payable(self, payable_id: uuid.UUID, *, lock: bool = False) -> Payable | None:
        """A payable by id."""
        stmt = select(Payable).where(Payable.id == payable_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def payables(
        self,
        *,
        payer_organization_id: uuid.UUID | None = None,
        deal_id: uuid.UUID | None = None,
        kinds: list[PayableKind] | None = None,
    ) -> Sequence[Payable]:
        """Payables, oldest first."""
        stmt = select(Payable).order_by(col(Payable.created_at), col(Payable.id))
        if payer_organization_id is not None:
            stmt = stmt.where(Payable.payer_organization_id == payer_organization_id)
        if deal_id is not None:
            stmt = stmt.where(Payable.deal_id == deal_id)
        if kinds:
            stmt = stmt.where(col(Payable.kind).in_(kinds))
        return (await self.session.execute(stmt)).scalars().all()

    async def milestone_payables(self, deal_id: uuid.UUID, *, lock: bool = False) -> list[Payable]:
        """A deal's milestone payables in plan order (locked when asked)."""
        stmt = (
            select(Payable)
            .join(DealMilestone, col(DealMilestone.id) == col(Payable.subject_id))
            .where(Payable.kind == PayableKind.milestone, Payable.deal_id == deal_id)
            .order_by(col(DealMilestone.position))
        )
        if lock:
            stmt = stmt.with_for_update(of=Payable)  # type: ignore[arg-type]
        return list((await self.session.execute(stmt)).scalars().all())  # type: ignore[attr-defined]

    # ------------------------------------------------------------ provider records

    async def receipt(self, provider: str, external_id: str) -> ProviderReceipt | None:
        """A recorded receipt by the provider's id."""
        stmt = select(ProviderReceipt).where(
            ProviderReceipt.provider == provider, ProviderReceipt.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def payout(self, provider: str, external_id: str) -> ProviderPayout | None:
        """A recorded payout by the provider's id."""
        stmt = select(ProviderPayout).where(
            ProviderPayout.provider == provider, ProviderPayout.external_id == external_id
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def receipts(self) -> Sequence[ProviderReceipt]:
        """Every recorded receipt (reconciliation)."""
        return (
            (await self.session.execute(select(ProviderReceipt).order_by(col(ProviderReceipt.created_at))))
            .scalars()
            .all()
        )

    async def payouts(self) -> Sequence[ProviderPayout]:
        """Every recorded payout (reconciliation)."""
        return (
            (await self.session.execute(select(ProviderPayout).order_by(col(ProviderPayout.created_at))))
            .scalars()
            .all()
        )

    async def insert_event(self, provider: str, event_id: str, type_: str, payload: dict[str, Any]) -> uuid.UUID | None:
        """Store a provider event once by its id; None when it was stored before."""
        row_id = uuid.uuid4()
        result = await self.session.execute(
            pg_insert(ProviderEvent)
            .values(id=row_id, provider=provider, event_id=event_id, type=type_, payload=payload)
            .on_conflict_do_nothing(constraint="uq_provider_events_provider_event")
            .returning(col(ProviderEvent.id))
        )
        return result.scalar_one_or_none()  # type: ignore[no-any-return]

    async def event(self, row_id: uuid.UUID, *, lock: bool = False) -> ProviderEvent | None:
        """A stored provider event."""
        stmt = select(ProviderEvent).where(ProviderEvent.id == row_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def events(self, provider: str) -> Sequence[ProviderEvent]:
        """Stored events of a provider (reconciliation)."""
        stmt = select(ProviderEvent).where(ProviderEvent.provider == provider).order_by(col(ProviderEvent.created_at))
        return (await self.session.execute(stmt)).scalars().all()

    async def get_payout(self, payout_id: uuid.UUID, *, lock: bool = False) -> ProviderPayout | None:
        """A payout by id."""
        stmt = select(ProviderPayout).where(ProviderPayout.id == payout_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def payout_by_provider_ref(self, provider: str, ref: str) -> ProviderPayout | None:
        """A payout by the provider's object id (a Stripe refund or transfer)."""
        stmt = select(ProviderPayout).where(ProviderPayout.provider == provider, ProviderPayout.provider_ref == ref)
        return (await self.session.execute(stmt)).scalars().first()

    async def stripe_account(self, organization_id: uuid.UUID) -> StripeAccount | None:
        """An organisation's connected account."""
        return await self.session.get(StripeAccount, organization_id)

    # ------------------------------------------------------------ deals (read only)

    async def deal(self, deal_id: uuid.UUID) -> Deal | None:
        """A deal."""
        return await self.session.get(Deal, deal_id)

    async def milestone(self, milestone_id: uuid.UUID) -> DealMilestone | None:
        """A milestone."""
        return await self.session.get(DealMilestone, milestone_id)

    async def registration(self, registration_id: uuid.UUID) -> AuctionRegistration | None:
        """An auction registration."""
        return await self.session.get(AuctionRegistration, registration_id)

    async def broker(self, broker_id: uuid.UUID) -> DealBroker | None:
        """A broker appointment."""
        return await self.session.get(DealBroker, broker_id)

    async def seller_of_auction(self, auction_id: uuid.UUID) -> uuid.UUID | None:
        """The selling organisation of an auction."""
        row = await self.session.execute(
            sa.text("SELECT seller_organization_id FROM auctions WHERE id = :id"), {"id": auction_id}
        )
        return row.scalar_one_or_none()  # type: ignore[no-any-return]
