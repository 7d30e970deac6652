"""A real HTTP receiver on 127.0.0.1, an independent Standard Webhooks verifier, and helpers to drive workers."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import marketplace.webhooks.tasks  # noqa: F401  (registers the webhook jobs and the fan-out subscription)
from marketplace.db.engine import make_sessionmaker
from marketplace.events.models import Job
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.webhooks.config import get_webhook_settings
from marketplace.webhooks.delivery import DELIVER_KIND, FANOUT_KIND
from marketplace.webhooks.models import WebhookDelivery

WEBHOOK_KINDS = frozenset({FANOUT_KIND, DELIVER_KIND})


def verify_standard_webhook(secret: str, headers: dict[str, str], body: bytes, *, tolerance: int = 300) -> bool:
    """Standard Webhooks verification written from the spec, independent of the service's signing code."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret[len("whsec_") :])
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest())
    for candidate in headers["webhook-signature"].split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return True
    return False


@dataclass
class Received:
    """One request as the receiver saw it, and what it answered."""

    path: str
    headers: dict[str, str]
    body: bytes
    status: int


Behaviour = Callable[[int], Awaitable[int]]


async def ok(n: int) -> int:
    return 200


async def down(n: int) -> int:
    return 500


async def every_third_fails(n: int) -> int:
    return 500 if n % 3 == 0 else 200


@dataclass
class Receiver:
    """A tiny ASGI app that records every webhook and answers per path (200 unless told otherwise)."""

    base_url: str = ""
    requests: list[Received] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    by_path: dict[str, list[Received]] = field(default_factory=dict)
    accepted: dict[str, dict[str, None]] = field(default_factory=dict)

    def route(self, behaviour: Behaviour = ok) -> str:
        """A fresh path with a behaviour; returns its full URL."""
        path = f"/hooks/{uuid.uuid4().hex}"
        self.behaviours[path] = behaviour
        return self.base_url + path

    def at(self, url: str) -> list[Received]:
        """Everything received at a URL."""
        return list(self.by_path.get(url.removeprefix(self.base_url), []))

    def accepted_first_seen(self, url: str) -> list[str]:
        """webhook-ids answered 2xx at a URL, deduplicated (as a receiver should), in the order first accepted."""
        return list(self.accepted.get(url.removeprefix(self.base_url), {}))

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path = scope["path"]
        self.counts[path] = n = self.counts.get(path, 0) + 1
        status = await self.behaviours.get(path, ok)(n)
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        received = Received(path=path, headers=headers, body=body, status=status)
        self.requests.append(received)
        self.by_path.setdefault(path, []).append(received)
        if 200 <= status < 300:
            self.accepted.setdefault(path, {}).setdefault(headers["webhook-id"], None)
        answer = f"answer {status} to request {n}".encode()
        # With a length (not chunked), the answer leaves in one write: no Nagle / delayed-ACK stalls.
        headers_out = [(b"content-type", b"text/plain"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers_out})
        await send({"type": "http.response.body", "body": answer})


@pytest.fixture(scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """The receiver, served by uvicorn on a free port of 127.0.0.1 for the whole run."""
    app = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=0, lifespan="off", log_config=None, log_level="warning", access_log=False
        )
    )
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # leave pytest's Ctrl-C alone
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110  (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    app.base_url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    yield app
    server.should_exit = True
    await task


def _set_env(monkeypatch: pytest.MonkeyPatch, **values: str) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    get_webhook_settings.cache_clear()


@pytest.fixture(autouse=True)
def webhook_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Tests send to a local receiver (private URLs allowed) and see events in the feed at once; tests may change it."""
    _set_env(monkeypatch, WEBHOOKS_ALLOW_PRIVATE_URLS="true", WEBHOOKS_FEED_SETTLE_SECONDS="0")
    yield lambda **values: _set_env(monkeypatch, **values)
    monkeypatch.undo()
    get_webhook_settings.cache_clear()


@pytest.fixture
def maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that really commit (for tests with several workers)."""
    return make_sessionmaker(engine)


async def fast_forward(session: AsyncSession, endpoint_ids: list[uuid.UUID]) -> None:
    """Make the endpoints' waiting retries due now, instead of sleeping through the backoff.

    Only rows that are waiting are touched, so this never waits on (or deadlocks with) a delivery run.
    """
    ids = [str(e) for e in endpoint_ids]
    await session.execute(
        sa.update(Job)
        .where(
            Job.status == "pending",  # type: ignore[arg-type]
            Job.kind == DELIVER_KIND,  # type: ignore[arg-type]
            Job.run_at > sa.func.now(),  # type: ignore[arg-type, operator]
            Job.payload["endpoint_id"].astext.in_(ids),  # type: ignore[index]
        )
        .values(run_at=sa.func.now())
    )
    await session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.status == "pending",  # type: ignore[arg-type]
            WebhookDelivery.next_attempt_at > sa.func.now(),  # type: ignore[arg-type, operator]
            WebhookDelivery.endpoint_id.in_(endpoint_ids),  # type: ignore[attr-defined]
        )
        .values(next_attempt_at=sa.func.now())
    )


async def pending_deliveries(session: AsyncSession, endpoint_ids: list[uuid.UUID]) -> int:
    """How many deliveries of these endpoints are still pending."""
    stmt = sa.select(sa.func.count()).where(
        WebhookDelivery.status == "pending",  # type: ignore[arg-type]
        WebhookDelivery.endpoint_id.in_(endpoint_ids),  # type: ignore[attr-defined]
    )
    return int((await session.execute(stmt)).scalar_one())


async def drive(
    maker: async_sessionmaker[AsyncSession],
    endpoint_ids: list[uuid.UUID],
    *,
    workers: int = 1,
    until: Callable[[AsyncSession], Awaitable[bool]] | None = None,
    max_rounds: int = 3000,
) -> int:
    """Run workers until idle, fast-forward retries, repeat until nothing is pending (or `until` holds)."""
    pool = [Worker(maker, WorkerConfig(kinds=WEBHOOK_KINDS, job_batch=10, outbox_batch=100)) for _ in range(workers)]
    for rounds in range(1, max_rounds + 1):
        await asyncio.gather(*(w.run_until_idle() for w in pool))
        async with maker() as s, s.begin():
            if until is not None:
                if await until(s):
                    return rounds
            elif not await pending_deliveries(s, endpoint_ids):
                return rounds
            await fast_forward(s, endpoint_ids)
    raise AssertionError(f"deliveries still pending after {max_rounds} rounds")


async def create_endpoint(client: Any, actor: Any, url: str, event_types: list[str], **extra: Any) -> dict[str, Any]:
    """Register an endpoint through the API; the response, secret included."""
    response = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": event_types, **extra}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def emit(
    session: AsyncSession, organization_id: uuid.UUID, event_type: str, n: int, *, audience: tuple[uuid.UUID, ...] = ()
) -> Any:
    """Record one probe event (flush or commit afterwards)."""
    from marketplace.events.service import EventRecorder

    return EventRecorder(session).emit(
        type=event_type,
        organization_id=organization_id,
        subject_type="probe",
        subject_id=str(n),
        payload={"n": n},
        audience=audience,
    )


async def run_workers_until(
    maker: async_sessionmaker[AsyncSession],
    endpoint_ids: list[uuid.UUID],
    until: Callable[[AsyncSession], Awaitable[bool]],
    *,
    workers: int = 2,
    within: float = 300.0,
) -> None:
    """Workers loop as in production while the test keeps pulling the endpoints' retries forward, until `until`."""
    pool = [
        Worker(maker, WorkerConfig(kinds=WEBHOOK_KINDS, job_batch=10, outbox_batch=100, poll_interval=0.05))
        for _ in range(workers)
    ]
    tasks = [asyncio.create_task(w.run()) for w in pool]
    try:
        async with asyncio.timeout(within):
            while True:
                async with maker() as s, s.begin():
                    if await until(s):
                        return
                    await fast_forward(s, endpoint_ids)
                await asyncio.sleep(0.02)
    finally:
        for w in pool:
            w.stop()
        await asyncio.gather(*tasks)
        for task in tasks:
            assert task.exception() is None
