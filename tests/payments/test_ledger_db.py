"""The ledger's rules hold in the database itself: immutability, balance at commit, no negative balances,
and concurrent postings on real separate connections never overdraw an account."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind
from marketplace.db.engine import make_sessionmaker
from marketplace.payments.ledger import Ledger
from tests.factories import Factory


async def funded(session: AsyncSession, amount: int) -> tuple[Ledger, uuid.UUID, uuid.UUID]:
    """An organisation's available account credited from offline clearing."""
    org = await Factory(session).organization(kind=OrganizationKind.enterprise)
    ledger = Ledger(session)
    available = await ledger.available(org.id)
    clearing = await ledger.clearing("offline")
    await ledger.post(f"fund:{uuid.uuid4()}", "receipt", [(clearing, -amount), (available, amount)])
    return ledger, available, clearing


async def test_posting_keeps_balances_and_is_idempotent_by_key(session: AsyncSession) -> None:
    ledger, available, clearing = await funded(session, 1_000)
    key = f"payout:{uuid.uuid4()}"
    first = await ledger.post(key, "payout", [(available, -400), (clearing, 400)])
    again = await ledger.post(key, "payout", [(available, -400), (clearing, 400)])
    assert first is not None and again is None
    assert await ledger.repo.balance(available) == 600
    with pytest.raises(ValueError, match="unbalanced"):
        await ledger.post("bad", "payout", [(available, -1), (clearing, 2)])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount_fen = amount_fen + 1 WHERE transaction_id = :tx",
        "DELETE FROM ledger_entries WHERE transaction_id = :tx",
        "UPDATE ledger_transactions SET memo = 'changed' WHERE id = :tx",
        "DELETE FROM ledger_transactions WHERE id = :tx",
    ],
)
async def test_posted_rows_cannot_be_changed_or_deleted(session: AsyncSession, statement: str) -> None:
    ledger, available, clearing = await funded(session, 500)
    tx = await ledger.post(f"t:{uuid.uuid4()}", "payout", [(available, -100), (clearing, 100)])
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(sa.text(statement), {"tx": tx})


async def test_balances_change_only_through_entries(session: AsyncSession) -> None:
    _, available, _ = await funded(session, 500)
    with pytest.raises(DBAPIError, match="only through entries"):
        async with session.begin_nested():
            await session.execute(
                sa.text("UPDATE ledger_accounts SET balance_fen = 10000 WHERE id = :a"), {"a": available}
            )
    with pytest.raises(DBAPIError, match="never deleted"):
        async with session.begin_nested():
            await session.execute(sa.text("DELETE FROM ledger_accounts WHERE id = :a"), {"a": available})


async def test_an_unbalanced_transaction_fails_at_commit(session: AsyncSession) -> None:
    _, available, _ = await funded(session, 500)
    with pytest.raises(DBAPIError, match=r"at least two|does not balance"):
        async with session.begin_nested():
            await _one_legged(session, available)
            # Deferred to commit; SET CONSTRAINTS ... IMMEDIATE runs the pending check now, as COMMIT would.
            await session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))


async def _one_legged(session: AsyncSession, available: uuid.UUID) -> None:
    tx = uuid.uuid4()
    await session.execute(
        sa.text("INSERT INTO ledger_transactions (id, key, kind, created_at) VALUES (:id, :k, 'x', now())"),
        {"id": tx, "k": f"raw:{tx}"},
    )
    await session.execute(
        sa.text(
            "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_fen, created_at) "
            "VALUES (:tx, :a, 'CNY', 7, now())"
        ),
        {"tx": tx, "a": available},
    )


async def test_an_unbalanced_transaction_cannot_be_committed(engine: AsyncEngine) -> None:
    maker = make_sessionmaker(engine)
    async with maker() as s:
        org = await Factory(s).organization(kind=OrganizationKind.enterprise)
        ledger = Ledger(s)
        available = await ledger.available(org.id)
        clearing = await ledger.clearing("offline")
        tx = uuid.uuid4()
        await s.execute(
            sa.text("INSERT INTO ledger_transactions (id, key, kind, created_at) VALUES (:id, :k, 'x', now())"),
            {"id": tx, "k": f"raw:{tx}"},
        )
        await s.execute(
            sa.text(
                "INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_fen, created_at) "
                "VALUES (:tx, :a, 'CNY', 5, now()), (:tx, :c, 'CNY', -4, now())"
            ),
            {"tx": tx, "a": available, "c": clearing},
        )
        with pytest.raises(DBAPIError, match="does not balance"):
            await s.commit()
    async with maker() as s:
        assert await s.scalar(sa.text("SELECT count(*) FROM ledger_transactions WHERE id = :id"), {"id": tx}) == 0


async def test_escrow_and_available_never_go_negative(session: AsyncSession) -> None:
    ledger, available, clearing = await funded(session, 300)
    with pytest.raises(DBAPIError, match="non_negative"):
        async with session.begin_nested():
            await ledger.post(f"t:{uuid.uuid4()}", "payout", [(available, -301), (clearing, 301)])
    assert await ledger.repo.balance(available) == 300


async def test_concurrent_postings_never_overdraw(engine: AsyncEngine) -> None:
    """Twelve real connections each try to pay out 100 from an account holding 500: exactly five succeed."""
    maker: async_sessionmaker[AsyncSession] = make_sessionmaker(engine)
    async with maker() as s:
        org = await Factory(s).organization(kind=OrganizationKind.enterprise)
        _, available, clearing = await funded_in(s, org.id, 500)
        await s.commit()

    async def payout(i: int) -> bool:
        async with maker() as s:
            try:
                await Ledger(s).post(f"race:{available}:{i}", "payout", [(available, -100), (clearing, 100)])
                await asyncio.sleep(0.01)  # hold the row lock a little, so the others queue on it
                await s.commit()
                return True
            except DBAPIError:
                await s.rollback()
                return False

    results = await asyncio.gather(*(payout(i) for i in range(12)))
    assert sum(results) == 5
    async with maker() as s:
        balance = await s.scalar(sa.text("SELECT balance_fen FROM ledger_accounts WHERE id = :a"), {"a": available})
        summed = await s.scalar(
            sa.text("SELECT sum(amount_fen) FROM ledger_entries WHERE account_id = :a"), {"a": available}
        )
    assert balance == summed == 0


async def funded_in(s: AsyncSession, org_id: uuid.UUID, amount: int) -> tuple[Ledger, uuid.UUID, uuid.UUID]:
    ledger = Ledger(s)
    available = await ledger.available(org_id)
    clearing = await ledger.clearing("offline")
    await ledger.post(f"fund:{uuid.uuid4()}", "receipt", [(clearing, -amount), (available, amount)])
    return ledger, available, clearing
