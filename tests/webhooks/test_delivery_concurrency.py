"""Deliveries with real commits and several workers: each event once per endpoint (after dedupe), in order, none lost."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.events.models import Job, OutboxEvent
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.webhooks.delivery import DELIVER_KIND
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import Actor, Factory
from tests.webhooks.conftest import (
    WEBHOOK_KINDS,
    Receiver,
    create_endpoint,
    drive,
    emit,
    every_third_fails,
    pending_deliveries,
    run_workers_until,
    verify_standard_webhook,
)


@pytest.fixture
async def created(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[list[uuid.UUID]]:
    """Endpoints a test registers for real; removed afterwards with their deliveries and waiting jobs."""
    ids: list[uuid.UUID] = []
    yield ids
    async with maker() as s, s.begin():
        await s.execute(sa.delete(WebhookEndpoint).where(WebhookEndpoint.id.in_(ids)))  # type: ignore[attr-defined]
        await s.execute(
            sa.delete(Job).where(
                Job.kind == DELIVER_KIND,  # type: ignore[arg-type]
                Job.status == "pending",  # type: ignore[arg-type]
                Job.payload["endpoint_id"].astext.in_([str(i) for i in ids]),  # type: ignore[index]
            )
        )


async def committed_actor(maker: async_sessionmaker[AsyncSession]) -> Actor:
    async with maker() as s, s.begin():
        return await Factory(s).actor()


async def register(
    client: httpx.AsyncClient, actor: Actor, url: str, types: list[str], created: list[uuid.UUID]
) -> dict[str, Any]:
    endpoint = await create_endpoint(client, actor, url, types)
    created.append(uuid.UUID(endpoint["id"]))
    return endpoint


async def seqs(maker: async_sessionmaker[AsyncSession], ids: list[str]) -> dict[str, int]:
    async with maker() as s:
        rows = await s.execute(
            sa.select(OutboxEvent.id, OutboxEvent.seq).where(sa.cast(OutboxEvent.id, sa.String).in_(ids))  # type: ignore[call-overload]
        )
        return {str(i): int(q) for i, q in rows}


def assert_in_seq_order(got: list[str], seq_of: dict[str, int]) -> None:
    order = [seq_of[i] for i in got]
    assert order == sorted(order) and len(set(order)) == len(order), "delivered out of event order"


@pytest.mark.slow
async def test_two_workers_deliver_a_thousand_events_once_each_in_order(
    committing_client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    created: list[uuid.UUID],
) -> None:
    owner = await committed_actor(maker)
    outsider = await committed_actor(maker)
    everything = await register(committing_client, owner, receiver.route(), ["*"], created)
    demands = await register(committing_client, owner, receiver.route(), ["demand.*"], created)
    flaky = await register(committing_client, owner, receiver.route(every_third_fails), ["listing.published"], created)
    elsewhere = await register(committing_client, outsider, receiver.route(), ["*"], created)
    total = 1000
    emitted: list[tuple[str, str]] = []

    async def produce() -> None:
        # 20 transactions of 50 events, committed while the workers run.
        for start in range(0, total, 50):
            async with maker() as s, s.begin():
                for n in range(start, start + 50):
                    kind = "listing.published" if n % 4 == 2 else "demand.updated" if n % 2 else "listing.updated"
                    emitted.append((str(emit(s, owner.organization.id, kind, n).id), kind))
            await asyncio.sleep(0)

    producer = asyncio.create_task(produce())

    async def all_in(s: AsyncSession) -> bool:
        return (
            producer.done()
            and len(receiver.accepted_first_seen(everything["url"])) == total
            and len(receiver.accepted_first_seen(flaky["url"])) == total // 4
            and len(receiver.accepted_first_seen(demands["url"])) == total // 2
            and not await pending_deliveries(s, created)
        )

    await run_workers_until(maker, created, all_in, workers=2)
    await producer
    seq_of = await seqs(maker, [i for i, _ in emitted])
    for endpoint, wanted in (
        (everything, [i for i, _ in emitted]),
        (flaky, [i for i, k in emitted if k == "listing.published"]),
        (demands, [i for i, k in emitted if k == "demand.updated"]),
    ):
        got = receiver.accepted_first_seen(endpoint["url"])
        assert sorted(got) == sorted(wanted)
        assert_in_seq_order(got, seq_of)
        for request in receiver.at(endpoint["url"]):
            assert verify_standard_webhook(endpoint["secret"], request.headers, request.body)
    assert receiver.at(elsewhere["url"]) == []
    flaky_requests = receiver.at(flaky["url"])
    assert sum(r.status == 500 for r in flaky_requests) >= total // 8 - 1  # every third request failed
    # The delivery log holds every request the receiver saw.
    async with maker() as s:
        logged = await s.execute(
            sa.select(sa.func.count())
            .select_from(WebhookAttempt)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)  # type: ignore[arg-type]
            .where(WebhookDelivery.endpoint_id == uuid.UUID(flaky["id"]))  # type: ignore[arg-type]
        )
        assert logged.scalar_one() == len(flaky_requests)
    bodies = {r.headers["webhook-id"]: json.loads(r.body) for r in receiver.at(demands["url"])}
    assert all(b["type"] == "demand.updated" and b["data"]["n"] % 2 == 1 for b in bodies.values())


async def test_worker_killed_mid_batch_loses_nothing(
    committing_client: httpx.AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    created: list[uuid.UUID],
) -> None:
    reached, release = asyncio.Event(), asyncio.Event()

    async def stall_at_30th(n: int) -> int:
        if n == 30:
            reached.set()
            await release.wait()
        return 200

    owner = await committed_actor(maker)
    endpoint = await register(committing_client, owner, receiver.route(stall_at_30th), ["*"], created)
    async with maker() as s, s.begin():
        ids = [str(emit(s, owner.organization.id, "listing.updated", n).id) for n in range(100)]
    doomed = Worker(maker, WorkerConfig(kinds=WEBHOOK_KINDS, lease=timedelta(milliseconds=500)))
    task = asyncio.create_task(doomed.run_until_idle())
    await asyncio.wait_for(reached.wait(), timeout=30)
    task.cancel()  # the worker dies with 29 deliveries sent but not recorded
    with contextlib.suppress(asyncio.CancelledError):
        await task
    release.set()
    await asyncio.sleep(0.6)  # its lease runs out
    await drive(maker, created)
    got = receiver.accepted_first_seen(endpoint["url"])
    assert sorted(got) == sorted(ids)
    assert_in_seq_order(got, await seqs(maker, ids))
    assert len(receiver.at(endpoint["url"])) >= 100 + 29  # what the dead run sent went out again
    async with maker() as s:
        states = (
            await s.execute(
                sa.select(WebhookDelivery.status, sa.func.count())  # type: ignore[call-overload]
                .where(WebhookDelivery.endpoint_id == uuid.UUID(endpoint["id"]))
                .group_by(WebhookDelivery.status)
            )
        ).all()
    assert dict(states) == {"succeeded": 100}
