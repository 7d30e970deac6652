"""No API key, webhook secret, dashboard session or bearer credential reaches the logs, whatever the request does."""

from __future__ import annotations

import io
import logging
import secrets
from collections.abc import Iterator

import httpx
import pytest
import structlog

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.engine import make_engine
from marketplace.kit.logging import REDACTED, redact_secrets
from marketplace.reports.pages import COOKIE
from marketplace.webhooks.config import get_webhook_settings
from tests.catalogue import API
from tests.factories import Factory


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything logged while the test runs, at DEBUG, rendered by the service's own formatter;
    SQL statements logged too (the most a misconfigured deployment could log)."""
    stream = io.StringIO()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    handler.setLevel(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in ("", "sqlalchemy.engine", "uvicorn.access")}
    root.addHandler(handler)
    for name in levels:
        logging.getLogger(name).setLevel(logging.DEBUG)
    monkeypatch.setenv("WEBHOOKS_ALLOW_PRIVATE_URLS", "true")
    get_webhook_settings.cache_clear()
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        get_webhook_settings.cache_clear()


async def test_no_secret_reaches_the_logs(client: httpx.AsyncClient, factory: Factory, captured: io.StringIO) -> None:
    platform_org = await factory.organization(OrganizationKind.platform)
    platform = await factory.actor(platform_org, role=Role.admin)
    admin = await factory.actor(role=Role.owner)
    leaked: list[str] = [platform.key, admin.key]

    # Authenticated requests, reads and writes.
    assert (await client.get(f"{API}/organizations/me", headers=admin.headers)).status_code == 200
    created = await client.post(f"{API}/users/me/api-keys", json={"name": "sync"}, headers=admin.headers)
    assert created.status_code == 201, created.text
    leaked.append(created.json()["key"])
    revoked = await client.delete(f"{API}/users/me/api-keys/{created.json()['id']}", headers=admin.headers)
    assert revoked.status_code == 200
    # The revoked key, unknown keys, malformed headers: failed authentication of every kind.
    unknown = "mkt_" + secrets.token_urlsafe(32)
    leaked += [unknown, "not-a-key-" + secrets.token_hex(8), "dXNlcjpodW50ZXIy" + secrets.token_hex(4)]
    for header in (
        f"Bearer {leaked[2]}",
        f"Bearer {unknown}",
        f"Bearer {leaked[-2]}",
        f"Basic {leaked[-1]}",
        f"{unknown}",
    ):
        response = await client.get(f"{API}/organizations/me", headers={"Authorization": header})
        assert response.status_code == 401
    # A key in the query string (where it does not belong) and in an Idempotency-Key.
    assert (await client.get(f"{API}/listings", params={"api_key": admin.key, "token": unknown})).status_code in (
        200,
        400,
    )

    # Webhook secrets: creation and rotation.
    endpoint = await client.post(
        f"{API}/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["*"]},
        headers={**admin.headers, "Idempotency-Key": "hook-" + secrets.token_hex(4)},
    )
    assert endpoint.status_code == 201, endpoint.text
    leaked.append(endpoint.json()["secret"])
    rotated = await client.post(
        f"{API}/webhooks/endpoints/{endpoint.json()['id']}/rotate-secret", headers=admin.headers
    )
    assert rotated.status_code == 200, rotated.text
    leaked.append(rotated.json()["secret"])

    # The dashboard: sign-in with a key in a form (good and bad), then the session cookie.
    bad = await client.post("/dashboard/login", data={"key": unknown})
    assert bad.status_code == 401
    good = await client.post("/dashboard/login", data={"key": platform.key})
    assert good.status_code == 303
    cookie = good.cookies.get(COOKIE)
    assert cookie
    leaked.append(cookie)
    client.cookies.set(COOKIE, cookie, path="/dashboard")
    assert (await client.get("/dashboard")).status_code == 200
    client.cookies.clear()

    # A failing write with a key in its body (a validation error echoing input).
    rejected = await client.post(f"{API}/users/me/api-keys", json={"name": admin.key * 3}, headers=admin.headers)
    assert rejected.status_code == 422

    structlog.get_logger("test").warning("probe", note="capture works")
    output = captured.getvalue()
    assert "capture works" in output and '"marketplace.access"' in output  # we did capture the service's logs
    found = [s for s in leaked if s in output or s[:20] in output]
    assert found == [], f"secrets in the logs: {[s[:8] + '…' for s in found]}"


def test_redaction_processor_blanks_secret_fields_and_shapes() -> None:
    event = redact_secrets(
        None,
        "info",
        {
            "event": "calling with Bearer mkt_abcdefghijklmnopqrstuvwxyz and whsec_QUJDREVGR0hJSktMTU5PUA==",
            "authorization": "Bearer x",
            "webhook_secret": "whsec_x",
            "api_key_id": "0192-id-stays",
            "extra": {"nested": "mkt_abcdefghijklmnopqrstuvwxyz"},
            "status": 200,
        },
    )
    assert event["event"] == f"calling with Bearer {REDACTED} and whsec_{REDACTED}"
    assert event["authorization"] == REDACTED and event["webhook_secret"] == REDACTED
    assert event["api_key_id"] == "0192-id-stays" and event["status"] == 200
    assert "abcdefghijklmnop" not in str(event["extra"])


async def test_unhandled_error_tracebacks_are_scrubbed(captured: io.StringIO) -> None:
    key = "mkt_" + secrets.token_urlsafe(32)
    try:
        raise RuntimeError(f"upstream refused Authorization: Bearer {key}")
    except RuntimeError:
        structlog.get_logger("marketplace.errors").exception("unhandled error")
    output = captured.getvalue()
    assert "unhandled error" in output and "RuntimeError" in output
    assert key not in output and key[4:] not in output


def test_sql_errors_and_statement_logs_hide_parameters(settings: Settings) -> None:
    engine = make_engine(settings, url=to_asyncpg_url(settings.database_url or ""))
    assert engine.sync_engine.hide_parameters is True
