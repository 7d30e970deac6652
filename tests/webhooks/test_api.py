"""Endpoint management, secrets, authorisation, the event-type catalogue and the events feed over HTTP."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import Role
from marketplace.webhooks.service import MAX_ENDPOINTS_PER_ORGANIZATION
from tests.factories import Factory
from tests.webhooks.conftest import emit

API = "/api/v1/webhooks/endpoints"
HOOK = "https://93.184.216.34/hooks/marketplace"


async def test_admin_registers_an_endpoint_and_sees_the_secret_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.actor(role=Role.admin)
    created = await client.post(
        API,
        json={"url": HOOK, "event_types": ["listing.*", "demand.closed", "listing.*"], "description": "ERP sync"},
        headers=admin.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    secret = body["secret"]
    assert secret.startswith("whsec_") and 24 <= len(base64.b64decode(secret[6:])) <= 32
    assert body["event_types"] == ["listing.*", "demand.closed"] and body["enabled"] is True
    assert body["organization_id"] == str(admin.organization.id)
    one = await client.get(f"{API}/{body['id']}", headers=admin.headers)
    listed = await client.get(API, headers=admin.headers)
    assert one.status_code == 200 and "secret" not in one.json() and secret not in one.text
    assert [e["id"] for e in listed.json()["items"]] == [body["id"]] and secret not in listed.text
    changed = await client.patch(
        f"{API}/{body['id']}", json={"description": "ERP", "event_types": ["*"]}, headers=admin.headers
    )
    assert changed.status_code == 200 and changed.json()["event_types"] == ["*"] and changed.json()["version"] == 2
    audit = (await client.get("/api/v1/audit-events?target_type=webhook_endpoint", headers=admin.headers)).json()
    assert {a["action"] for a in audit["items"]} == {"webhook_endpoint.created", "webhook_endpoint.updated"}
    assert secret not in str(audit)
    deleted = await client.delete(f"{API}/{body['id']}", headers=admin.headers)
    assert deleted.status_code == 200 and deleted.json()["id"] == body["id"]
    assert (await client.get(f"{API}/{body['id']}", headers=admin.headers)).status_code == 404


async def test_rotating_shows_a_new_secret_once(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor()
    created = (await client.post(API, json={"url": HOOK, "event_types": ["*"]}, headers=owner.headers)).json()
    rotated = await client.post(f"{API}/{created['id']}/rotate-secret", headers=owner.headers)
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != created["secret"]
    again = (await client.get(f"{API}/{created['id']}", headers=owner.headers)).text
    assert rotated.json()["secret"] not in again and created["secret"] not in again


async def test_roles_and_organisations(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor()
    org = owner.organization
    viewer = await factory.actor(org, role=Role.viewer)
    member = await factory.actor(org, role=Role.member)
    stranger = await factory.actor()
    payload = {"url": HOOK, "event_types": ["*"]}
    assert (await client.post(API, json=payload)).status_code == 401
    assert (await client.get(API)).status_code == 401
    assert (await client.post(API, json=payload, headers=viewer.headers)).status_code == 403
    assert (await client.post(API, json=payload, headers=member.headers)).status_code == 403
    assert (await client.get(API, headers=viewer.headers)).status_code == 403
    endpoint = (await client.post(API, json=payload, headers=owner.headers)).json()
    assert (await client.get(API, headers=member.headers)).json()["items"][0]["id"] == endpoint["id"]
    assert (
        await client.patch(f"{API}/{endpoint['id']}", json={"enabled": False}, headers=member.headers)
    ).status_code == 403
    assert (await client.get(API, headers=stranger.headers)).json()["items"] == []
    base = f"{API}/{endpoint['id']}"
    delivery = f"{base}/deliveries/{uuid.uuid4()}"
    for method, url in (
        ("GET", base),
        ("PATCH", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("GET", f"{base}/deliveries"),
        ("GET", delivery),
        ("POST", f"{delivery}/redeliver"),
    ):
        kwargs = {"json": {"enabled": False}} if method == "PATCH" else {}
        response = await client.request(method, url, headers=stranger.headers, **kwargs)  # type: ignore[arg-type]
        assert response.status_code == 404, f"{method} {url}: {response.text}"
    assert (await client.get(f"{API}/{uuid.uuid4()}", headers=owner.headers)).status_code == 404
    assert (await client.get(delivery, headers=owner.headers)).status_code == 404


async def test_subscriptions_must_name_known_event_types(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor()
    bad = await client.post(
        API, json={"url": HOOK, "event_types": ["listing.*", "listing.teleported", "nothing.*"]}, headers=owner.headers
    )
    assert bad.status_code == 422
    assert [e["pointer"] for e in bad.json()["errors"]] == ["/event_types/1", "/event_types/2"]
    malformed = await client.post(API, json={"url": HOOK, "event_types": ["Listing Created"]}, headers=owner.headers)
    assert malformed.status_code == 422
    empty = await client.post(API, json={"url": HOOK, "event_types": []}, headers=owner.headers)
    assert empty.status_code == 422
    extra = await client.post(API, json={"url": HOOK, "event_types": ["*"], "secret": "mine"}, headers=owner.headers)
    assert extra.status_code in (400, 422)  # no mass assignment of the secret


async def test_an_organisation_has_a_bounded_number_of_endpoints(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor()
    for n in range(MAX_ENDPOINTS_PER_ORGANIZATION):
        response = await client.post(API, json={"url": f"{HOOK}/{n}", "event_types": ["*"]}, headers=owner.headers)
        assert response.status_code == 201
    over = await client.post(API, json={"url": HOOK, "event_types": ["*"]}, headers=owner.headers)
    assert over.status_code == 409


async def test_event_type_catalogue_is_public_with_schemas(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/webhooks/event-types")
    assert response.status_code == 200
    types = {t["type"]: t for t in response.json()["items"]}
    for name in (
        "organization.registered",
        "organization.verified",
        "organization.rejected",
        "webhook_endpoint.disabled",
        "listing.published",
        "listing.rejected",
        "demand.created",
        "demand.expired",
    ):
        assert name in types, name
    verified = types["organization.verified"]["data_schema"]
    assert verified["type"] == "object" and {"id", "verification_status"} <= set(verified["required"])
    assert "$ref" not in response.text  # self-contained schemas
    assert types["webhook_endpoint.disabled"]["data_schema"]["properties"]["reason"]["enum"]


async def test_feed_shows_only_events_for_the_callers_organisation(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    a = await factory.actor(role=Role.viewer)
    b = await factory.actor()
    c = await factory.actor()
    own = [emit(session, a.organization.id, "listing.updated", n) for n in range(3)]
    shared = emit(session, b.organization.id, "demand.closed", 10, audience=(a.organization.id,))
    emit(session, c.organization.id, "listing.updated", 20)  # not for a
    await session.flush()
    page = (await client.get("/api/v1/events?limit=100", headers=a.headers)).json()
    mine = [item for item in page["items"] if item["id"] in {str(e.id) for e in [*own, shared]}]
    assert [i["id"] for i in page["items"]] == [str(e.id) for e in [*own, shared]]
    assert mine[-1] == {
        "id": str(shared.id),
        "seq": shared.seq,
        "type": "demand.closed",
        "timestamp": mine[-1]["timestamp"],
        "data": {"n": 10},
    }
    assert page["next_cursor"] is None and page["poll_cursor"]
    for_b = (await client.get("/api/v1/events", headers=b.headers)).json()["items"]
    assert [i["id"] for i in for_b] == [str(shared.id)]
    for_c = (await client.get("/api/v1/events", headers=c.headers)).json()["items"]
    assert str(shared.id) not in {i["id"] for i in for_c} and len(for_c) == 1
    assert (await client.get("/api/v1/events")).status_code == 401

    first = (await client.get("/api/v1/events?limit=2", headers=a.headers)).json()
    assert [i["id"] for i in first["items"]] == [str(own[0].id), str(own[1].id)] and first["next_cursor"]
    rest = (await client.get(f"/api/v1/events?limit=2&cursor={first['next_cursor']}", headers=a.headers)).json()
    assert [i["id"] for i in rest["items"]] == [str(own[2].id), str(shared.id)]
    later = emit(session, a.organization.id, "listing.closed", 4)
    await session.flush()
    polled = (await client.get(f"/api/v1/events?cursor={rest['poll_cursor']}", headers=a.headers)).json()
    assert [i["id"] for i in polled["items"]] == [str(later.id)]
    quiet = (await client.get(f"/api/v1/events?cursor={polled['poll_cursor']}", headers=a.headers)).json()
    assert quiet["items"] == [] and quiet["poll_cursor"] == polled["poll_cursor"]

    demands = (await client.get("/api/v1/events?type=demand.*", headers=a.headers)).json()["items"]
    assert [i["id"] for i in demands] == [str(shared.id)]
    exact = (await client.get("/api/v1/events?type=listing.closed&type=demand.closed", headers=a.headers)).json()
    assert [i["type"] for i in exact["items"]] == ["demand.closed", "listing.closed"]
    assert (await client.get("/api/v1/events?type=DROP TABLE", headers=a.headers)).status_code == 422
    assert (await client.get("/api/v1/events?cursor=bm9wZQ", headers=a.headers)).status_code == 400


async def test_feed_waits_for_events_to_settle(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession, webhook_env: Callable[..., None]
) -> None:
    webhook_env(WEBHOOKS_FEED_SETTLE_SECONDS="30")
    a = await factory.actor()
    emit(session, a.organization.id, "listing.updated", 1)
    await session.flush()
    page = (await client.get("/api/v1/events", headers=a.headers)).json()
    assert page["items"] == [] and page["poll_cursor"] is None
