"""Job handlers and outbox subscribers: how domains plug work into the worker."""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.events.models import Job, OutboxEvent
from marketplace.events.repository import EventsRepository
from marketplace.kit.time import utcnow

JobHandler = Callable[[AsyncSession, Job], Awaitable[None]]


@dataclass(frozen=True)
class Subscription:
    """Run job `kind` for every outbox event whose type matches `pattern` (shell-style, e.g. listing.*)."""

    pattern: str
    kind: str


_HANDLERS: dict[str, JobHandler] = {}
_SUBSCRIPTIONS: list[Subscription] = []


def job_handler(kind: str) -> Callable[[JobHandler], JobHandler]:
    """Register the function that runs jobs of this kind (in the job's own transaction)."""

    def register(fn: JobHandler) -> JobHandler:
        if kind in _HANDLERS and _HANDLERS[kind] is not fn:
            raise ValueError(f"a handler for job kind {kind!r} is registered already")
        _HANDLERS[kind] = fn
        return fn

    return register


def subscribe(pattern: str, kind: str) -> None:
    """Turn every matching outbox event into a job of `kind` carrying the event."""
    sub = Subscription(pattern, kind)
    if sub not in _SUBSCRIPTIONS:
        _SUBSCRIPTIONS.append(sub)


def handler_for(kind: str) -> JobHandler | None:
    """The registered handler of a job kind."""
    return _HANDLERS.get(kind)


def subscriptions_for(event_type: str) -> list[Subscription]:
    """Which job kinds an event type fans out to."""
    return [s for s in _SUBSCRIPTIONS if fnmatch.fnmatchcase(event_type, s.pattern)]


def event_job_payload(event: OutboxEvent) -> dict[str, Any]:
    """What a job made from an outbox event carries."""
    return {
        "event_id": str(event.id),
        "seq": event.seq,
        "type": event.type,
        "organization_id": str(event.organization_id) if event.organization_id else None,
        "subject_type": event.subject_type,
        "subject_id": event.subject_id,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


async def schedule(
    session: AsyncSession,
    *,
    kind: str,
    payload: dict[str, Any],
    run_at: datetime | None = None,
    delay: timedelta | None = None,
    dedupe_key: str | None = None,
    max_attempts: int = 12,
) -> bool:
    """Enqueue a job in the caller's transaction; with a dedupe_key it is enqueued at most once."""
    when = run_at or (utcnow() + (delay or timedelta(0)))
    return await EventsRepository(session).insert_job(
        kind=kind, payload=payload, run_at=when, dedupe_key=dedupe_key, max_attempts=max_attempts
    )


async def cancel(session: AsyncSession, *, dedupe_key: str) -> bool:
    """Cancel a job that has not started (e.g. an offer's expiry timer once it is accepted)."""
    return await EventsRepository(session).cancel_pending_job(dedupe_key)
