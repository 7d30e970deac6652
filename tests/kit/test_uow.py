"""Callbacks follow the transaction: after-commit ones run only on commit, after-rollback ones only on rollback."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.kit.uow import after_commit, after_rollback, run_callbacks


async def test_commit_runs_commit_callbacks_only(session: AsyncSession) -> None:
    ran: list[str] = []

    async def committed() -> None:
        ran.append("commit")

    async def rolled_back() -> None:
        ran.append("rollback")

    after_commit(session, committed)
    after_rollback(session, rolled_back)
    await run_callbacks(session, committed=True)
    await run_callbacks(session, committed=False)  # nothing left: each callback runs at most once
    assert ran == ["commit"]


async def test_rollback_runs_rollback_callbacks_only(session: AsyncSession) -> None:
    ran: list[str] = []

    async def committed() -> None:
        ran.append("commit")

    async def rolled_back() -> None:
        ran.append("rollback")

    after_commit(session, committed)
    after_rollback(session, rolled_back)
    await run_callbacks(session, committed=False)
    assert ran == ["rollback"]
