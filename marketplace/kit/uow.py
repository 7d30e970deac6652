"""Work tied to the fate of the request's transaction: run after it commits, or undo after it rolls back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

AFTER_COMMIT_KEY = "after_commit"
AFTER_ROLLBACK_KEY = "after_rollback"
Callback = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, callback: Callback) -> None:
    """Run callback once the request's transaction has committed (dropped on rollback)."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


def after_rollback(session: AsyncSession, callback: Callback) -> None:
    """Run callback if the request's transaction rolls back (e.g. remove a file written for it)."""
    session.info.setdefault(AFTER_ROLLBACK_KEY, []).append(callback)


async def run_callbacks(session: AsyncSession, *, committed: bool) -> None:
    """Run the callbacks for how the transaction ended and forget the others."""
    commit_callbacks = session.info.pop(AFTER_COMMIT_KEY, [])
    rollback_callbacks = session.info.pop(AFTER_ROLLBACK_KEY, [])
    for callback in commit_callbacks if committed else rollback_callbacks:
        await callback()
