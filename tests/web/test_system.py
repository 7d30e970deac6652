"""Health, readiness, metrics, request logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from marketplace.accounts.models import Role
from tests.factories import Factory


async def test_health(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_metrics_count_api_requests(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.viewer)
    await client.get("/api/v1/users/me", headers=actor.headers)
    body = (await client.get("/metrics")).text
    assert "marketplace_requests_total" in body
    assert 'path="/api/v1/users/me"' in body


async def test_access_log_has_request_id_and_no_secret(
    client: httpx.AsyncClient, factory: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    actor = await factory.actor(role=Role.viewer)
    with caplog.at_level(logging.INFO, logger="marketplace.access"):
        await client.get("/api/v1/users/me", headers={**actor.headers, "X-Request-ID": "log-check-1"})
    records = [r for r in caplog.records if r.name == "marketplace.access"]
    assert records, "an access line is logged"
    rendered = " ".join(json.dumps(r.msg, default=str) if isinstance(r.msg, dict) else str(r.msg) for r in records)
    assert "log-check-1" in rendered
    assert actor.key not in rendered
