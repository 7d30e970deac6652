"""Getting events to endpoints: fan-out into deliveries, one ordered delivery run per endpoint, retries, disabling.

Each endpoint has at most one delivery job waiting, named by its dispatch generation. A run sends the
endpoint's pending deliveries in event-seq order and stops at the first failure (later events wait behind
it). As it ends, it locks the endpoint, bumps the generation and, if anything is still pending, schedules
the next run for when the head is due. Whoever adds work (fan-out) reads the generation under a share
lock and schedules that generation's job; so either the run that is ending sees the new work, or the new
work schedules the job the ending run could not know about.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.events.feed import EventFeedRepository, event_body
from marketplace.events.jobs import schedule
from marketplace.events.models import Job
from marketplace.events.service import EventRecorder
from marketplace.kit.ids import uuid7
from marketplace.kit.time import utcnow
from marketplace.webhooks.catalog import matches
from marketplace.webhooks.models import (
    AttemptTrigger,
    DeliveryStatus,
    DisabledReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.webhooks.repository import WebhooksRepository
from marketplace.webhooks.signing import webhook_headers
from marketplace.webhooks.transport import Channel, SendResult, get_sender

log = structlog.get_logger("marketplace.webhooks")

FANOUT_KIND = "webhooks.fanout"
DELIVER_KIND = "webhooks.deliver"

# After the first attempt fails: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h (9 attempts over 41.6 h).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
    timedelta(hours=14),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# An endpoint whose attempts all failed for this long (and at least this many times) is disabled.
FAILING_WINDOW = timedelta(hours=24)
FAILURES_BEFORE_DISABLE = 5
# One run sends at most this much, then hands over to a fresh job (the worker bounds a job's time).
RUN_MAX_DELIVERIES = 500
RUN_BUDGET_SECONDS = 45.0
BATCH = 50
# How soon to look again when a delivery waits for earlier events still being fanned out.
HOLD_BACK_RECHECK = timedelta(seconds=1)


def retry_delay(attempts_made: int, *, retry_after_seconds: float | None = None) -> timedelta | None:
    """How long to wait before the next attempt, or None when the delivery has had all its attempts."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    delay = RETRY_DELAYS[attempts_made - 1]
    if retry_after_seconds is not None:
        delay = max(delay, timedelta(seconds=retry_after_seconds))
    return delay


def deliver_job_key(endpoint_id: uuid.UUID, generation: int) -> str:
    """The dedupe key of an endpoint's delivery job of one generation."""
    return f"{DELIVER_KIND}:{endpoint_id}:{generation}"


async def wake(session: AsyncSession, endpoint_ids: list[uuid.UUID]) -> None:
    """Make sure a delivery run of each endpoint will happen after this transaction commits."""
    generations = await WebhooksRepository(session).generations_for_share(endpoint_ids)
    now = utcnow()
    for endpoint_id, generation in generations:
        await _schedule_run(session, endpoint_id, generation, at=now)


async def restart(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Start a fresh run now (after enabling or a redelivery); the caller holds the endpoint's row lock."""
    endpoint.dispatch_generation += 1
    await WebhooksRepository(session).flush()
    await _schedule_run(session, endpoint.id, endpoint.dispatch_generation, at=utcnow())


async def _schedule_run(session: AsyncSession, endpoint_id: uuid.UUID, generation: int, *, at: datetime) -> None:
    await schedule(
        session,
        kind=DELIVER_KIND,
        payload={"endpoint_id": str(endpoint_id), "generation": generation},
        run_at=at,
        dedupe_key=deliver_job_key(endpoint_id, generation),
    )


def encode_body(body: dict[str, Any]) -> str:
    """The exact body bytes (as text) every attempt of a delivery sends."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


async def fan_out(session: AsyncSession, job: Job) -> None:
    """Turn one outbox event into a delivery for every matching enabled endpoint of every organisation in its audience."""
    event = await EventFeedRepository(session).get(uuid.UUID(job.payload["event_id"]))
    if event is None or not event.audience or event.seq is None:
        return
    repo = WebhooksRepository(session)
    endpoints = [e for e in await repo.enabled_endpoints_of(event.audience) if matches(e.event_types, event.type)]
    if not endpoints:
        return
    body = encode_body(event_body(type=event.type, created_at=event.created_at, payload=event.payload))
    now = utcnow()
    rows = [
        {
            "id": uuid7(),
            "endpoint_id": endpoint.id,
            "organization_id": endpoint.organization_id,
            "event_id": event.id,
            "event_seq": event.seq,
            "event_type": event.type,
            "body": body,
            "status": DeliveryStatus.pending.value,
            "attempt_count": 0,
            "redeliveries": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for endpoint in endpoints
    ]
    await wake(session, await repo.insert_deliveries(rows))


@dataclass
class RunOutcome:
    """What one delivery run did, applied to the endpoint as the run ends."""

    delivered: int = 0
    last_success_at: datetime | None = None
    failure: SendResult | None = None
    failed_at: datetime | None = None
    failed_delivery: WebhookDelivery | None = None
    exhausted: bool = False
    held_back: bool = False
    budget_spent: bool = False


async def deliver(session: AsyncSession, job: Job) -> None:
    """One delivery run of an endpoint: pending deliveries in seq order until one fails or the budget is spent."""
    endpoint_id = uuid.UUID(job.payload["endpoint_id"])
    repo = WebhooksRepository(session)
    if not await repo.try_lock_run(endpoint_id):
        return  # another run of this endpoint is active; as it ends it picks up whatever is pending
    endpoint = await repo.get_endpoint(endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return  # deleted, or paused until enabled again
    # Deliveries of events after one still being fanned out wait, so each endpoint gets events in seq order.
    in_flight = await EventFeedRepository(session).lowest_seq_in_flight(FANOUT_KIND)
    outcome = RunOutcome()
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        channel: Channel | None = None
        stop = False
        while not stop:
            batch = await repo.pending_in_order(endpoint_id, limit=BATCH)
            if not batch:
                break
            for delivery in batch:
                if outcome.delivered >= RUN_MAX_DELIVERIES or time.monotonic() - started > RUN_BUDGET_SECONDS:
                    outcome.budget_spent = stop = True
                    break
                if in_flight is not None and delivery.event_seq >= in_flight:
                    outcome.held_back = stop = True
                    break
                now = utcnow()
                if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
                    stop = True  # the head is waiting for its retry time; later events wait behind it
                    break
                if channel is None:
                    channel = await stack.enter_async_context(get_sender().open(endpoint.url))
                result = await _attempt(channel, endpoint, delivery, now)
                _record(repo, delivery, result, now, outcome)  # written with the next query or the run's end
                if not result.ok:
                    stop = True
                    break
    await _end_run(session, repo, endpoint_id, outcome)


async def _attempt(channel: Channel, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime) -> SendResult:
    body = delivery.body.encode()
    secrets_in_use = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets_in_use.append(endpoint.previous_secret)
    headers = webhook_headers(
        msg_id=str(delivery.event_id), timestamp=int(time.time()), body=body, secrets_in_use=secrets_in_use
    )
    return await channel.post(body, headers)


def _record(
    repo: WebhooksRepository, delivery: WebhookDelivery, result: SendResult, now: datetime, outcome: RunOutcome
) -> None:
    delivery.attempt_count += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    repo.stage(
        WebhookAttempt(
            delivery_id=delivery.id,
            number=delivery.attempt_count,
            trigger=AttemptTrigger.redelivery if delivery.redeliveries else AttemptTrigger.scheduled,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
            response_snippet=result.response_snippet,
        )
    )
    if result.ok:
        delivery.status = DeliveryStatus.succeeded
        delivery.succeeded_at = now
        delivery.next_attempt_at = None
        outcome.delivered += 1
        outcome.last_success_at = now
        return
    delay = retry_delay(delivery.attempt_count, retry_after_seconds=result.retry_after_seconds)
    if delay is None:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = None
        outcome.exhausted = True
    else:
        delivery.next_attempt_at = now + delay
    outcome.failure = result
    outcome.failed_at = now
    outcome.failed_delivery = delivery


async def _end_run(
    session: AsyncSession, repo: WebhooksRepository, endpoint_id: uuid.UUID, outcome: RunOutcome
) -> None:
    """Apply the run's results to the endpoint under its row lock, then schedule the next run if work remains."""
    endpoint = await repo.get_endpoint_for_update(endpoint_id)
    if endpoint is None:
        return
    if outcome.last_success_at is not None:
        endpoint.last_success_at = outcome.last_success_at
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
    if outcome.failure is not None and outcome.failed_at is not None:
        endpoint.consecutive_failures += 1
        endpoint.failing_since = endpoint.failing_since or outcome.failed_at
        endpoint.last_failure_at = outcome.failed_at
        reason = _disable_reason(endpoint, outcome)
        if reason is not None and endpoint.enabled:
            _disable(session, endpoint, reason, outcome)
    endpoint.dispatch_generation += 1
    await repo.flush()
    if not endpoint.enabled:
        return
    pending = await repo.pending_in_order(endpoint_id, limit=1)
    if not pending:
        return
    now = utcnow()
    head = pending[0]
    at = max(now, head.next_attempt_at or now)
    if outcome.held_back and not outcome.budget_spent:
        at = max(at, now + HOLD_BACK_RECHECK)
    await _schedule_run(session, endpoint_id, endpoint.dispatch_generation, at=at)


def _disable_reason(endpoint: WebhookEndpoint, outcome: RunOutcome) -> DisabledReason | None:
    if outcome.failure is not None and outcome.failure.status_code == 410:
        return DisabledReason.gone
    if outcome.exhausted:
        return DisabledReason.retries_exhausted
    if (
        endpoint.consecutive_failures >= FAILURES_BEFORE_DISABLE
        and endpoint.failing_since is not None
        and outcome.failed_at is not None
        and outcome.failed_at - endpoint.failing_since >= FAILING_WINDOW
    ):
        return DisabledReason.failing_for_a_day
    return None


def _disable(session: AsyncSession, endpoint: WebhookEndpoint, reason: DisabledReason, outcome: RunOutcome) -> None:
    now = utcnow()
    failure = outcome.failure
    delivery = outcome.failed_delivery
    last = f"HTTP {failure.status_code}" if failure and failure.status_code else (failure.error if failure else None)
    detail = {
        DisabledReason.gone: "the endpoint answered 410 Gone",
        DisabledReason.retries_exhausted: f"a delivery failed all {MAX_ATTEMPTS} attempts",
        DisabledReason.failing_for_a_day: (
            f"{endpoint.consecutive_failures} attempts in a row failed over more than "
            f"{int(FAILING_WINDOW.total_seconds() // 3600)} hours"
        ),
    }.get(reason, str(reason))
    if last:
        detail = f"{detail} (last: {last})"
    detail = detail[:500]
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.disabled_detail = detail
    endpoint.disabled_at = now
    endpoint.version += 1
    recorder = EventRecorder(session)
    recorder.audit(
        actor=None,
        organization_id=endpoint.organization_id,
        action="webhook_endpoint.disabled",
        target_type="webhook_endpoint",
        target_id=endpoint.id,
        diff={"enabled": [True, False], "disabled_reason": [None, reason.value]},
    )
    recorder.emit(
        type="webhook_endpoint.disabled",
        organization_id=endpoint.organization_id,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        payload={
            "id": endpoint.id,
            "url": endpoint.url,
            "reason": reason,
            "detail": detail,
            "consecutive_failures": endpoint.consecutive_failures,
            "failing_since": endpoint.failing_since,
            "disabled_at": now,
            "delivery_id": delivery.id if delivery else None,
            "last_status_code": failure.status_code if failure else None,
            "last_error": failure.error if failure else None,
        },
    )
    log.warning(
        "webhook endpoint disabled",
        endpoint_id=str(endpoint.id),
        organization_id=str(endpoint.organization_id),
        reason=reason.value,
    )
