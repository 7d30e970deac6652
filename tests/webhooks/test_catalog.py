"""The event catalogue: real payloads match their documented models; the OpenAPI `webhooks` section renders."""

from __future__ import annotations

import json
import uuid

import httpx
import sqlalchemy as sa
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.app import openapi_config
from marketplace.events.models import OutboxEvent
from marketplace.webhooks.catalog import (
    covers_known_type,
    event_types,
    get_event_type,
    matches,
    openapi_webhooks,
)
from tests.factories import Factory, unique_credit_code


def test_subscription_patterns() -> None:
    assert matches(["*"], "listing.created")
    assert matches(["listing.*"], "listing.created") and not matches(["listing.*"], "demand.created")
    assert matches(["demand.closed"], "demand.closed") and not matches(["demand.closed"], "demand.closed.x")
    assert covers_known_type("listing.*") and covers_known_type("*") and covers_known_type("organization.verified")
    assert not covers_known_type("listing.teleported") and not covers_known_type("nothing.*")


async def test_account_events_match_their_documented_payloads(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    registered = await client.post(
        "/api/v1/organizations",
        json={
            "kind": "enterprise",
            "name_zh": "目录测试公司",
            "credit_code": unique_credit_code(),
            "owner_email": f"catalog-{uuid.uuid4().hex[:8]}@example.com",
            "owner_name": "测试",
        },
    )
    assert registered.status_code == 201, registered.text
    org_id = registered.json()["organization"]["id"]
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    for decision in ({"status": "rejected", "note": "营业执照不清晰"}, {"status": "verified"}):
        response = await client.post(
            f"/api/v1/platform/organizations/{org_id}/verification", json=decision, headers=platform.headers
        )
        assert response.status_code == 200, response.text
    rows = (
        (await session.execute(sa.select(OutboxEvent).where(OutboxEvent.subject_id == str(org_id))))  # type: ignore[arg-type]
        .scalars()
        .all()
    )
    seen = set()
    for row in rows:
        event_type = get_event_type(row.type)
        assert event_type is not None, f"{row.type} is not in the catalogue"
        event_type.data.model_validate(row.payload)
        seen.add(row.type)
    assert {"organization.registered", "organization.rejected", "organization.verified"} <= seen


def test_openapi_webhooks_section_renders_every_event_type() -> None:
    config = openapi_config()
    config.webhooks = openapi_webhooks()  # what app.openapi_config() does once it is plugged in
    app = Litestar(route_handlers=[], openapi_config=config)
    spec = json.loads(json.dumps(app.openapi_schema.to_schema()))
    assert spec["openapi"].startswith("3.1")
    hooks = spec["webhooks"]
    assert sorted(hooks) == sorted(e.name for e in event_types())
    post = hooks["organization.verified"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["type"]["const"] == "organization.verified"
    assert "verification_status" in body["properties"]["data"]["properties"]
    assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    ids = [h["post"]["operationId"] for h in hooks.values()]
    assert len(ids) == len(set(ids)) and all(i[0].islower() and "_" not in i for i in ids)
