"""Delivery behaviour inside one rolled-back transaction: audience, matching, ordering, retries, disabling, redelivery."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import Role
from marketplace.events.models import AuditEvent, OutboxEvent
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.webhooks.catalog import WebhookEndpointDisabledData
from marketplace.webhooks.delivery import MAX_ATTEMPTS
from marketplace.webhooks.models import WebhookEndpoint
from tests.factories import Factory
from tests.webhooks.conftest import (
    WEBHOOK_KINDS,
    Receiver,
    create_endpoint,
    down,
    drive,
    emit,
    fast_forward,
    verify_standard_webhook,
)

API = "/api/v1/webhooks/endpoints"


async def run_once(maker: async_sessionmaker[AsyncSession]) -> None:
    await Worker(maker, WorkerConfig(kinds=WEBHOOK_KINDS)).run_until_idle()


async def test_events_reach_only_matching_endpoints_of_the_audience(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    a, b, c = [await factory.actor() for _ in range(3)]
    a_all = await create_endpoint(client, a, receiver.route(), ["*"])
    a_demands = await create_endpoint(client, a, receiver.route(), ["demand.*"])
    b_listing = await create_endpoint(client, b, receiver.route(), ["listing.published"])
    c_all = await create_endpoint(client, c, receiver.route(), ["*"])
    shared = emit(session, a.organization.id, "listing.published", 1, audience=(b.organization.id,))
    own = emit(session, a.organization.id, "demand.closed", 2)
    await session.flush()
    ids = [uuid.UUID(e["id"]) for e in (a_all, a_demands, b_listing, c_all)]
    await drive(sessionmaker, ids)
    assert receiver.accepted_first_seen(a_all["url"]) == [str(shared.id), str(own.id)]
    assert receiver.accepted_first_seen(a_demands["url"]) == [str(own.id)]
    assert receiver.accepted_first_seen(b_listing["url"]) == [str(shared.id)]
    assert receiver.at(c_all["url"]) == []  # not in any audience
    request = receiver.at(b_listing["url"])[0]
    assert verify_standard_webhook(b_listing["secret"], request.headers, request.body)
    assert not verify_standard_webhook(a_all["secret"], request.headers, request.body)
    body = json.loads(request.body)
    assert body["type"] == "listing.published" and body["data"] == {"n": 1}
    assert body["timestamp"].startswith(str(shared.created_at.year))
    assert request.headers["content-type"] == "application/json"


async def test_failing_head_holds_back_later_events_until_it_goes_through(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    async def fail_twice(n: int) -> int:
        return 503 if n <= 2 else 200

    owner = await factory.actor()
    endpoint = await create_endpoint(client, owner, receiver.route(fail_twice), ["*"])
    events = [emit(session, owner.organization.id, "listing.updated", n) for n in range(3)]
    await session.flush()
    endpoint_id = uuid.UUID(endpoint["id"])
    await run_once(sessionmaker)
    await run_once(sessionmaker)  # the retry is not due yet: nothing more goes out
    assert [r.headers["webhook-id"] for r in receiver.at(endpoint["url"])] == [str(events[0].id)]
    page = (await client.get(f"{API}/{endpoint_id}/deliveries", headers=owner.headers)).json()
    head = next(d for d in page["items"] if d["event_id"] == str(events[0].id))
    assert head["status"] == "pending" and head["attempt_count"] == 1 and head["last_status_code"] == 503
    assert head["attempts"][0]["status_code"] == 503 and "answer 503" in head["attempts"][0]["response_snippet"]
    await drive(sessionmaker, [endpoint_id])
    sent = [r.headers["webhook-id"] for r in receiver.at(endpoint["url"])]
    assert sent == [str(events[0].id)] * 3 + [str(events[1].id), str(events[2].id)]
    ids = {r.headers["webhook-id"] for r in receiver.at(endpoint["url"])}
    assert len(ids) == 3
    timestamps = [r.headers["webhook-timestamp"] for r in receiver.at(endpoint["url"])]
    assert all(t.isdigit() for t in timestamps)


async def test_endpoint_disabled_after_all_retries_fail_says_why(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    owner = await factory.actor()
    failing = await create_endpoint(client, owner, receiver.route(down), ["listing.*"])
    watcher = await create_endpoint(client, owner, receiver.route(), ["webhook_endpoint.disabled"])
    event = emit(session, owner.organization.id, "listing.published", 7)
    await session.flush()
    ids = [uuid.UUID(failing["id"]), uuid.UUID(watcher["id"])]

    async def watcher_told(s: AsyncSession) -> bool:
        return bool(receiver.accepted_first_seen(watcher["url"]))

    await drive(sessionmaker, ids, until=watcher_told, max_rounds=50)
    attempts = receiver.at(failing["url"])
    assert len(attempts) == MAX_ATTEMPTS == 9
    assert {r.headers["webhook-id"] for r in attempts} == {str(event.id)}  # stable across retries
    assert all(verify_standard_webhook(failing["secret"], r.headers, r.body) for r in attempts)

    got = (await client.get(f"{API}/{failing['id']}", headers=owner.headers)).json()
    assert got["enabled"] is False and got["disabled_reason"] == "retries_exhausted"
    assert "9 attempts" in got["disabled_detail"] and "HTTP 500" in got["disabled_detail"]
    log = (await client.get(f"{API}/{failing['id']}/deliveries", headers=owner.headers)).json()["items"]
    assert [d["status"] for d in log] == ["failed"] and log[0]["attempt_count"] == 9
    assert [a["number"] for a in log[0]["attempts"]] == list(range(9, 0, -1))
    assert all(a["status_code"] == 500 and a["duration_ms"] >= 0 for a in log[0]["attempts"])

    disabled = (
        await session.execute(
            sa.select(OutboxEvent).where(
                OutboxEvent.type == "webhook_endpoint.disabled",  # type: ignore[arg-type]
                OutboxEvent.subject_id == failing["id"],  # type: ignore[arg-type]
            )
        )
    ).scalar_one()
    assert disabled.organization_id == owner.organization.id and disabled.audience == [owner.organization.id]
    data = WebhookEndpointDisabledData.model_validate(disabled.payload)
    assert data.reason == "retries_exhausted" and data.last_status_code == 500 and data.consecutive_failures == 9
    told = json.loads(receiver.at(watcher["url"])[0].body)
    assert told["type"] == "webhook_endpoint.disabled" and told["data"]["id"] == failing["id"]
    audit = (
        await session.execute(
            sa.select(AuditEvent).where(
                AuditEvent.action == "webhook_endpoint.disabled",  # type: ignore[arg-type]
                AuditEvent.target_id == failing["id"],  # type: ignore[arg-type]
            )
        )
    ).scalar_one()
    assert audit.actor_user_id is None


async def test_endpoint_failing_for_a_day_is_disabled_before_its_retries_run_out(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    owner = await factory.actor()
    failing = await create_endpoint(client, owner, receiver.route(down), ["*"])
    endpoint_id = uuid.UUID(failing["id"])
    emit(session, owner.organization.id, "demand.updated", 1)
    await session.flush()
    await run_once(sessionmaker)
    assert len(receiver.at(failing["url"])) == 1
    # The endpoint has been failing for 25 hours (four attempts so far).
    await session.execute(
        sa.update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)  # type: ignore[arg-type]
        .values(consecutive_failures=4, failing_since=sa.func.now() - timedelta(hours=25))
    )
    await fast_forward(session, [endpoint_id])
    await run_once(sessionmaker)
    got = (await client.get(f"{API}/{endpoint_id}", headers=owner.headers)).json()
    assert got["enabled"] is False and got["disabled_reason"] == "failing_for_a_day"
    assert got["consecutive_failures"] == 5


async def test_410_gone_disables_at_once(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    async def gone(n: int) -> int:
        return 410

    owner = await factory.actor()
    endpoint = await create_endpoint(client, owner, receiver.route(gone), ["*"])
    emit(session, owner.organization.id, "demand.updated", 1)
    await session.flush()
    await run_once(sessionmaker)
    got = (await client.get(f"{API}/{endpoint['id']}", headers=owner.headers)).json()
    assert got["enabled"] is False and got["disabled_reason"] == "gone"
    assert len(receiver.at(endpoint["url"])) == 1


async def test_disabled_endpoint_gets_nothing_and_resumes_pending_deliveries_when_enabled(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    owner = await factory.actor()
    endpoint = await create_endpoint(client, owner, receiver.route(), ["*"])
    url = f"{API}/{endpoint['id']}"
    first = emit(session, owner.organization.id, "demand.updated", 1)
    await session.flush()
    await Worker(sessionmaker, WorkerConfig(kinds=frozenset({"webhooks.fanout"}))).run_until_idle()  # queued only
    paused = await client.patch(url, json={"enabled": False}, headers=owner.headers)
    assert paused.status_code == 200 and paused.json()["disabled_reason"] == "disabled_by_user"
    emit(session, owner.organization.id, "demand.updated", 2)  # while disabled: not queued for it
    await session.flush()
    await run_once(sessionmaker)
    assert receiver.at(endpoint["url"]) == []
    resumed = await client.patch(url, json={"enabled": True}, headers=owner.headers)
    assert resumed.status_code == 200 and resumed.json()["disabled_reason"] is None
    await run_once(sessionmaker)
    assert receiver.accepted_first_seen(endpoint["url"]) == [str(first.id)]


async def test_redelivery_sends_the_same_event_again_and_is_logged(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    owner = await factory.actor()
    outsider = await factory.actor()
    viewer = await factory.actor(owner.organization, role=Role.viewer)
    endpoint = await create_endpoint(client, owner, receiver.route(), ["*"])
    event = emit(session, owner.organization.id, "listing.closed", 1)
    await session.flush()
    await run_once(sessionmaker)
    deliveries = (await client.get(f"{API}/{endpoint['id']}/deliveries", headers=owner.headers)).json()["items"]
    delivery = deliveries[0]
    assert delivery["status"] == "succeeded" and delivery["body"]["type"] == "listing.closed"
    redeliver = f"{API}/{endpoint['id']}/deliveries/{delivery['id']}/redeliver"
    assert (await client.post(redeliver, headers=outsider.headers)).status_code == 404
    assert (await client.post(redeliver, headers=viewer.headers)).status_code == 403
    again = await client.post(redeliver, headers=owner.headers)
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "pending" and again.json()["redeliveries"] == 1
    await run_once(sessionmaker)
    assert [r.headers["webhook-id"] for r in receiver.at(endpoint["url"])] == [str(event.id)] * 2
    one = (await client.get(f"{API}/{endpoint['id']}/deliveries/{delivery['id']}", headers=owner.headers)).json()
    assert one["status"] == "succeeded" and [a["trigger"] for a in one["attempts"]] == ["redelivery", "scheduled"]
    await client.patch(f"{API}/{endpoint['id']}", json={"enabled": False}, headers=owner.headers)
    refused = await client.post(redeliver, headers=owner.headers)
    assert refused.status_code == 409 and refused.json()["type"].endswith("webhook-endpoint-disabled")


async def test_rotated_secret_signs_alongside_the_old_one(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
) -> None:
    owner = await factory.actor()
    endpoint = await create_endpoint(client, owner, receiver.route(), ["*"])
    rotated = await client.post(f"{API}/{endpoint['id']}/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != endpoint["secret"] and rotated.json()["endpoint"]["previous_secret_expires_at"]
    emit(session, owner.organization.id, "demand.updated", 1)
    await session.flush()
    await run_once(sessionmaker)
    request = receiver.at(endpoint["url"])[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhook(new_secret, request.headers, request.body)
    assert verify_standard_webhook(endpoint["secret"], request.headers, request.body)


async def test_url_is_checked_again_at_delivery_time(
    client: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    receiver: Receiver,
    webhook_env: object,
) -> None:
    owner = await factory.actor()
    endpoint = await create_endpoint(client, owner, receiver.route(), ["*"])  # allowed when registered
    webhook_env(WEBHOOKS_ALLOW_PRIVATE_URLS="false")  # type: ignore[operator]  # then the operator closes it
    emit(session, owner.organization.id, "demand.updated", 1)
    await session.flush()
    await run_once(sessionmaker)
    assert receiver.at(endpoint["url"]) == []
    log = (await client.get(f"{API}/{endpoint['id']}/deliveries", headers=owner.headers)).json()["items"]
    attempt = log[0]["attempts"][0]
    assert attempt["status_code"] is None and "refused" in attempt["error"] and "loopback" in attempt["error"]
