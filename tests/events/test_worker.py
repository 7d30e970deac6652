"""The worker with real concurrent connections: exactly-once effects, retries, dead letters, lost leases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.db.engine import make_sessionmaker
from marketplace.events.jobs import cancel, job_handler, schedule, subscribe
from marketplace.events.models import Job
from marketplace.events.repository import JobsRepository
from marketplace.events.service import EventRecorder
from marketplace.events.worker import Worker, WorkerConfig, backoff
from marketplace.kit.time import utcnow

EFFECTS = "scratch.job_effects"  # outside the public schema, so the migration check ignores it


@pytest.fixture
async def maker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that really commit; a scratch table records every handler run (no unique key, to see duplicates)."""
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS scratch"))
        await conn.execute(sa.text(f"CREATE TABLE IF NOT EXISTS {EFFECTS} (tag text, job_id uuid, n int)"))
    yield make_sessionmaker(engine)


def kind_for(test: str) -> str:
    return f"test.{test}.{uuid.uuid4().hex[:8]}"


async def effects(maker: async_sessionmaker[AsyncSession], tag: str) -> list[tuple[uuid.UUID, int]]:
    async with maker() as s:
        rows = await s.execute(sa.text(f"SELECT job_id, n FROM {EFFECTS} WHERE tag = :t"), {"t": tag})
        return [(r[0], r[1]) for r in rows]


async def record(session: AsyncSession, job: Job) -> None:
    await session.execute(
        sa.text(f"INSERT INTO {EFFECTS} (tag, job_id, n) VALUES (:t, :j, :n)"),
        {"t": job.kind, "j": job.id, "n": job.payload["n"]},
    )


async def enqueue(maker: async_sessionmaker[AsyncSession], kind: str, count: int) -> None:
    async with maker() as s, s.begin():
        for n in range(count):
            await schedule(s, kind=kind, payload={"n": n})


async def test_two_workers_run_each_job_exactly_once(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("once")
    job_handler(kind)(record)
    await enqueue(maker, kind, 300)
    workers = [
        Worker(maker, WorkerConfig(kinds=frozenset({kind}), job_batch=7, dispatch_outbox=False)) for _ in range(2)
    ]
    done = await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert sum(done) == 300
    assert all(d > 0 for d in done), "both workers took a share"
    rows = await effects(maker, kind)
    assert sorted(n for _, n in rows) == list(range(300))  # every job once, none twice


async def test_outbox_fans_out_once_with_concurrent_dispatchers(maker: async_sessionmaker[AsyncSession]) -> None:
    event_type = f"probe.{uuid.uuid4().hex[:8]}"
    kind = kind_for("fanout")
    subscribe(event_type, kind)

    async def from_event(session: AsyncSession, job: Job) -> None:
        await session.execute(
            sa.text(f"INSERT INTO {EFFECTS} (tag, job_id, n) VALUES (:t, :j, :n)"),
            {"t": kind, "j": job.id, "n": job.payload["payload"]["n"]},
        )

    job_handler(kind)(from_event)
    async with maker() as s, s.begin():
        recorder = EventRecorder(s)
        for n in range(120):
            recorder.emit(
                type=event_type, organization_id=None, subject_type="probe", subject_id=str(n), payload={"n": n}
            )
    workers = [Worker(maker, WorkerConfig(kinds=frozenset({kind}), outbox_batch=17)) for _ in range(3)]
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    rows = await effects(maker, kind)
    assert sorted(n for _, n in rows) == list(range(120))


async def test_rolled_back_event_is_never_delivered(maker: async_sessionmaker[AsyncSession]) -> None:
    event_type = f"probe.{uuid.uuid4().hex[:8]}"
    kind = kind_for("rollback")
    subscribe(event_type, kind)
    job_handler(kind)(record)
    async with maker() as s:
        await s.begin()
        EventRecorder(s).emit(type=event_type, organization_id=None, subject_type="p", subject_id="1", payload={"n": 1})
        await s.flush()
        await s.rollback()
    await Worker(maker, WorkerConfig(kinds=frozenset({kind}))).run_until_idle()
    assert await effects(maker, kind) == []


async def test_failures_retry_with_backoff_then_go_dead(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("flaky")
    calls: list[int] = []

    @job_handler(kind)
    async def flaky(session: AsyncSession, job: Job) -> None:
        calls.append(job.attempts)
        await record(session, job)  # written, then rolled back with the failure
        raise RuntimeError("downstream said no")

    async with maker() as s, s.begin():
        await schedule(s, kind=kind, payload={"n": 1}, max_attempts=3)
    worker = Worker(maker, WorkerConfig(kinds=frozenset({kind}), dispatch_outbox=False))
    for _ in range(3):
        await worker.run_until_idle()
        async with maker() as s, s.begin():  # make the retry due now instead of after the backoff
            await s.execute(sa.update(Job).where(Job.kind == kind, Job.status == "pending").values(run_at=utcnow()))  # type: ignore[arg-type]
    assert calls == [1, 2, 3]
    async with maker() as s:
        job = (await s.execute(sa.select(Job).where(Job.kind == kind))).scalar_one()  # type: ignore[arg-type]
    assert job.status == "dead" and job.attempts == 3 and "downstream said no" in (job.last_error or "")
    assert await effects(maker, kind) == []  # the failing runs' writes were rolled back
    async with maker() as s, s.begin():
        revived = await JobsRepository(s).retry_dead(job.id, now=utcnow())
    assert revived is not None and revived.status == "pending" and revived.attempts == 0


def test_backoff_grows_and_is_capped() -> None:
    assert timedelta(seconds=1) <= backoff(1) <= timedelta(seconds=2)
    assert timedelta(seconds=512) <= backoff(10) <= timedelta(seconds=1024)
    assert backoff(60) <= timedelta(hours=6)


async def test_job_of_a_dead_worker_is_taken_over_after_its_lease(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("lease")
    job_handler(kind)(record)
    await enqueue(maker, kind, 1)
    # Worker A claims the job with a short lease and dies before running it.
    async with maker() as s, s.begin():
        claimed = await JobsRepository(s).claim_jobs(
            worker="dead-worker", now=utcnow(), lease=timedelta(milliseconds=200), limit=5, kinds=frozenset({kind})
        )
    assert len(claimed) == 1
    survivor = Worker(maker, WorkerConfig(kinds=frozenset({kind}), dispatch_outbox=False))
    assert await survivor.run_until_idle() == 0  # still leased to the dead worker
    await asyncio.sleep(0.3)
    assert await survivor.run_until_idle() == 1
    assert len(await effects(maker, kind)) == 1
    async with maker() as s:
        job = (await s.execute(sa.select(Job).where(Job.kind == kind))).scalar_one()  # type: ignore[arg-type]
    assert job.status == "done" and job.attempts == 2


async def test_graceful_stop_gives_back_unstarted_jobs(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("stop")
    started = asyncio.Event()
    worker = Worker(maker, WorkerConfig(kinds=frozenset({kind}), job_batch=10, dispatch_outbox=False))

    @job_handler(kind)
    async def slow(session: AsyncSession, job: Job) -> None:
        started.set()
        worker.stop()  # SIGTERM arrives while the first job runs
        await record(session, job)

    await enqueue(maker, kind, 5)
    await asyncio.wait_for(worker.run(), timeout=10)
    assert started.is_set()
    assert len(await effects(maker, kind)) == 1  # finished the one in hand
    async with maker() as s:
        statuses = (await s.execute(sa.select(Job.status, Job.attempts).where(Job.kind == kind))).all()  # type: ignore[call-overload, arg-type]
    assert sorted(st for st, _ in statuses) == ["done"] + ["pending"] * 4
    assert all(a == 0 for st, a in statuses if st == "pending")


async def test_dedupe_key_schedules_once_and_cancel_removes(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("timer")
    key = f"offer-expiry:{uuid.uuid4()}"
    async with maker() as s, s.begin():
        assert await schedule(s, kind=kind, payload={"n": 1}, delay=timedelta(hours=1), dedupe_key=key)
        assert not await schedule(s, kind=kind, payload={"n": 2}, delay=timedelta(hours=1), dedupe_key=key)
    async with maker() as s, s.begin():
        assert await cancel(s, dedupe_key=key)
        assert not await cancel(s, dedupe_key=key)
        remaining = await s.execute(sa.select(sa.func.count()).select_from(Job).where(Job.kind == kind))  # type: ignore[arg-type]
        assert remaining.scalar_one() == 0


async def test_unknown_kind_fails_without_stopping_the_worker(maker: async_sessionmaker[AsyncSession]) -> None:
    kind = kind_for("orphan")
    async with maker() as s, s.begin():
        await schedule(s, kind=kind, payload={}, max_attempts=1)
    await Worker(maker, WorkerConfig(kinds=frozenset({kind}), dispatch_outbox=False)).run_until_idle()
    async with maker() as s:
        job = (await s.execute(sa.select(Job).where(Job.kind == kind))).scalar_one()  # type: ignore[arg-type]
    assert job.status == "dead" and "no handler registered" in (job.last_error or "")
