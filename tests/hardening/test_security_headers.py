"""Security headers on every answer (successes, errors, middleware refusals, HTML); CORS closed unless configured."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from marketplace.config import Settings
from tests.catalogue import API
from tests.factories import Factory
from tests.hardening.conftest import app_with, attach, client_from
from tests.reports.conftest import PERIOD, Seeded

BASELINE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def assert_baseline(response: httpx.Response) -> None:
    for name, value in BASELINE.items():
        assert response.headers.get(name) == value, (response.request.url, name, response.headers)
    csp = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, (response.request.url, csp)
    assert "strict-transport-security" not in response.headers  # only when configured
    assert len(response.headers.get_list("x-request-id")) <= 1  # (none on unrouted 404/405: no middleware ran)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/health", 200),
        ("GET", f"{API}/listings", 200),
        ("GET", f"{API}/organizations/me", 401),  # no key
        ("GET", f"{API}/no-such-route", 404),
        ("DELETE", f"{API}/listings", 405),
        ("GET", f"{API}/listings?limit=100000", 400),
        ("POST", f"{API}/organizations", 422),  # empty body
        ("GET", "/schema/openapi.json", 200),
        ("GET", "/dashboard/login", 200),
    ],
)
async def test_every_kind_of_answer_carries_the_headers(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == status, response.text
    assert_baseline(response)
    if response.headers["content-type"].startswith("application/"):
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


async def test_malformed_key_refusal_carries_the_headers(client: httpx.AsyncClient) -> None:
    for header in ("Basic abc", "Bearer mkt_" + "x" * 43):
        response = await client.get(f"{API}/organizations/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert_baseline(response)
        # Refused by the authentication middleware, answered by the outermost error handler: still one id.
        assert response.headers.get_list("x-request-id") == [response.json()["request_id"]]


async def test_dashboard_csp_allows_what_the_page_uses_and_nothing_else(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    response = await client.get("/dashboard", params=PERIOD, headers=seeded.platform.headers)
    assert response.status_code == 200
    assert_baseline(response)
    csp = dict(
        ([*part.strip().split(" ", 1), ""])[:2] for part in response.headers["content-security-policy"].split(";")
    )
    assert csp["default-src"] == "'none'" and csp["frame-ancestors"] == "'none'"
    html = response.text
    # The charts are inline SVG styled by an inline <style>: allowed by style-src 'unsafe-inline'; nothing else
    # needs a source (no scripts, no external styles, images or fonts, no inline event handlers).
    assert "<svg" in html and "<style>" in html and "'unsafe-inline'" in csp["style-src"]
    assert "<script" not in html and not re.search(r"\son[a-z]+=", html)
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert "script-src" not in csp and "unsafe-eval" not in response.headers["content-security-policy"]


async def test_hsts_only_when_configured(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    app = attach(app_with(settings, hsts_seconds=31_536_000), settings, engine, sessionmaker)
    async with client_from(app) as c:
        for path in ("/health", f"{API}/organizations/me"):
            response = await c.get(path)
            assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_cors_is_closed_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        f"{API}/listings",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = await client.get(f"{API}/listings", headers={"Origin": "https://evil.example"})
    assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


async def test_cors_allows_only_configured_origins(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], factory: Factory
) -> None:
    app = attach(app_with(settings, cors_origins=["https://app.example"]), settings, engine, sessionmaker)
    actor = await factory.actor()
    async with client_from(app) as c:
        ok = await c.options(
            f"{API}/organizations/me",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert ok.status_code in (200, 204)
        assert ok.headers["access-control-allow-origin"] == "https://app.example"
        got = await c.get(f"{API}/organizations/me", headers={"Origin": "https://app.example", **actor.headers})
        assert got.status_code == 200 and got.headers["access-control-allow-origin"] == "https://app.example"

        refused = await c.options(
            f"{API}/organizations/me",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert refused.headers.get("access-control-allow-origin") != "https://evil.example"
        other = await c.get(f"{API}/listings", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cors_origins_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", '["https://a.example","https://b.example"]')
    assert Settings(database_url="postgresql://x@localhost/x").cors_origins == [
        "https://a.example",
        "https://b.example",
    ]
    monkeypatch.delenv("CORS_ORIGINS")
    assert Settings(database_url="postgresql://x@localhost/x").cors_origins == []
