"""The double-entry ledger: named accounts and balanced, immutable, idempotent postings.

Amounts are signed, credit positive: what the platform owes someone (available, held, escrow, commission) is a
positive balance; a provider's clearing account is negative by the money the provider holds for us; platform
revenue is positive. Every transaction sums to zero per currency, so all accounts together always sum to zero.
The database enforces the same (see the 0006 migration's triggers).
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.payments.models import AccountKind
from marketplace.payments.repository import PaymentsRepository

CURRENCY = "CNY"


class Ledger:
    """Post transactions; each has a key derived from our own ids, so posting the same thing twice does nothing."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = PaymentsRepository(session)

    async def available(self, organization_id: uuid.UUID) -> uuid.UUID:
        """An organisation's available money."""
        return await self.repo.account(AccountKind.available, organization_id=organization_id)

    async def held(self, organization_id: uuid.UUID) -> uuid.UUID:
        """An organisation's held auction deposits."""
        return await self.repo.account(AccountKind.held, organization_id=organization_id)

    async def escrow(self, deal_id: uuid.UUID) -> uuid.UUID:
        """A deal's escrow."""
        return await self.repo.account(AccountKind.escrow, deal_id=deal_id)

    async def revenue(self) -> uuid.UUID:
        """The platform's revenue."""
        return await self.repo.account(AccountKind.revenue)

    async def commission(self, agency_id: uuid.UUID) -> uuid.UUID:
        """Commission payable to a broker agency."""
        return await self.repo.account(AccountKind.commission, organization_id=agency_id)

    async def clearing(self, provider: str) -> uuid.UUID:
        """A provider's clearing account."""
        return await self.repo.account(AccountKind.clearing, provider=provider)

    async def post(
        self,
        key: str,
        kind: str,
        legs: list[tuple[uuid.UUID, int]],
        *,
        deal_id: uuid.UUID | None = None,
        memo: str | None = None,
        reverses_id: uuid.UUID | None = None,
    ) -> uuid.UUID | None:
        """Post a balanced transaction once per key; legs on the same account are merged, zero legs dropped."""
        merged: dict[uuid.UUID, int] = defaultdict(int)
        for account, amount in legs:
            merged[account] += amount
        kept = [(a, x) for a, x in merged.items() if x != 0]
        if sum(x for _, x in kept) != 0:
            raise ValueError(f"unbalanced posting {key}: {kept}")
        if not kept:
            return None
        return await self.repo.insert_transaction(
            key=key, kind=kind, deal_id=deal_id, memo=memo, legs=kept, currency=CURRENCY, reverses_id=reverses_id
        )

    async def reverse(self, transaction_id: uuid.UUID, *, memo: str | None = None) -> uuid.UUID | None:
        """Post the mirror image of a transaction (a correction); once per transaction."""
        original = await self.repo.get_transaction(transaction_id)
        if original is None:
            raise LookupError(transaction_id)
        legs = [(account, -amount) for account, _, amount in await self.repo.entries_of(transaction_id)]
        return await self.post(
            f"reverse:{transaction_id}",
            "reversal",
            legs,
            deal_id=original.deal_id,
            memo=memo or f"reverses {original.key}",
            reverses_id=transaction_id,
        )
