"""The worker: fans the outbox out into jobs and runs due jobs, side by side with other workers.

Written here rather than taken from a job library because enqueueing must happen in the same
SQLAlchemy/asyncpg transaction as the domain change (procrastinate runs on psycopg, pgqueuer on its
own connection), and the whole mechanism is two SKIP LOCKED queries and a lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.jobs import event_job_payload, handler_for, schedule, subscriptions_for
from marketplace.events.models import Job
from marketplace.events.repository import JobsRepository
from marketplace.kit.time import utcnow

log = structlog.get_logger("marketplace.worker")


def backoff(attempt: int, *, base: float = 2.0, cap: float = 6 * 3600.0) -> timedelta:
    """Exponential backoff with full jitter: up to base * 2^(attempt-1) seconds, capped."""
    ceiling = min(cap, base * (2 ** max(attempt - 1, 0)))
    return timedelta(seconds=ceiling / 2 + random.random() * ceiling / 2)


@dataclass
class WorkerConfig:
    """How a worker claims and runs work."""

    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    outbox_batch: int = 200
    job_batch: int = 20
    lease: timedelta = timedelta(minutes=5)
    poll_interval: float = 0.5
    job_timeout: float = 120.0
    kinds: frozenset[str] | None = None  # only these job kinds (a dedicated pool); None: all
    dispatch_outbox: bool = True


class Worker:
    """One worker process's loop; run several (processes or tasks) for more throughput."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], config: WorkerConfig | None = None) -> None:
        self.sessionmaker = sessionmaker
        self.config = config or WorkerConfig()
        self._stopping = asyncio.Event()
        self._claimed: list[uuid.UUID] = []

    def stop(self) -> None:
        """Ask the loop to finish the job in hand, give back the rest, and return."""
        self._stopping.set()

    async def run(self) -> None:
        """Loop until stopped: drain the outbox, run due jobs, sleep when idle."""
        log.info("worker started", worker=self.config.name)
        try:
            while not self._stopping.is_set():
                busy = await self.dispatch_outbox() + await self.run_due_jobs()
                if not busy:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), timeout=self.config.poll_interval)
        finally:
            await self._release_unstarted()
            log.info("worker stopped", worker=self.config.name)

    async def run_until_idle(self, *, max_rounds: int = 1000) -> int:
        """Process everything that is due now (for tests and one-shot runs); return how much was done."""
        total = 0
        for _ in range(max_rounds):
            done = await self.dispatch_outbox() + await self.run_due_jobs()
            total += done
            if not done:
                break
        return total

    async def dispatch_outbox(self) -> int:
        """Turn unprocessed outbox events into jobs for their subscribers, once each."""
        if not self.config.dispatch_outbox:
            return 0
        async with self.sessionmaker() as session, session.begin():
            repo = JobsRepository(session)
            events = await repo.claim_outbox(limit=self.config.outbox_batch)
            for event in events:
                for sub in subscriptions_for(event.type):
                    await schedule(
                        session,
                        kind=sub.kind,
                        payload=event_job_payload(event),
                        dedupe_key=f"{sub.kind}:{event.id}",
                    )
            if events:
                await repo.mark_processed([e.id for e in events], now=utcnow())
            return len(events)

    async def run_due_jobs(self) -> int:
        """Claim a batch of due jobs and run them one by one, each in its own transaction."""
        async with self.sessionmaker() as session, session.begin():
            jobs = await JobsRepository(session).claim_jobs(
                worker=self.config.name,
                now=utcnow(),
                lease=self.config.lease,
                limit=self.config.job_batch,
                kinds=self.config.kinds,
            )
        self._claimed = [j.id for j in jobs]
        ran = 0
        for job in jobs:
            if self._stopping.is_set():
                break
            await self._run_one(job)
            self._claimed.remove(job.id)
            ran += 1
        await self._release_unstarted()
        return ran

    async def _run_one(self, job: Job) -> None:
        handler = handler_for(job.kind)
        error: str | None
        try:
            if handler is None:
                raise LookupError(f"no handler registered for job kind {job.kind!r}")
            async with self.sessionmaker() as session, session.begin():
                locked = await JobsRepository(session).lock_own_job(job.id, worker=self.config.name)
                if locked is None:  # our lease ran out and another worker took it
                    return
                await asyncio.wait_for(handler(session, locked), timeout=self.config.job_timeout)
                # Completion commits with the handler's own writes: they happen exactly once.
                await JobsRepository(session).finish(job.id, now=utcnow())
            return
        except Exception as exc:  # a failing job must not stop the worker
            error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"
        retry_at = None if job.attempts >= job.max_attempts else utcnow() + backoff(job.attempts)
        log.warning("job failed", kind=job.kind, job_id=str(job.id), attempts=job.attempts, dead=retry_at is None)
        async with self.sessionmaker() as session, session.begin():
            await JobsRepository(session).fail(
                job.id, worker=self.config.name, error=error, retry_at=retry_at, now=utcnow()
            )

    async def _release_unstarted(self) -> None:
        if not self._claimed:
            return
        async with self.sessionmaker() as session, session.begin():
            await JobsRepository(session).release(self._claimed, worker=self.config.name)
        self._claimed = []
