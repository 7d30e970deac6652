"""The operator dashboard: platform users see it (by header or session cookie), others are refused."""

from __future__ import annotations

import asyncio
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind
from marketplace.reports.dashboard import render_dashboard
from marketplace.reports.pages import COOKIE
from marketplace.reports.service import ReportsService, parse_period
from tests.factories import Factory
from tests.reports.conftest import PERIOD, Seeded


async def test_platform_user_sees_the_dashboard(client: httpx.AsyncClient, seeded: Seeded) -> None:
    response = await client.get("/dashboard", params=PERIOD, headers=seeded.platform.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert "运营数据看板" in html and html.count("<svg") >= 8 and 'class="bar"' in html
    assert "新能源产业" in html and "广东省" in html and "46,500.00" in html  # 成交额 of the period
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


async def test_others_are_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    assert (await client.get("/dashboard", headers=enterprise.headers)).status_code == 403
    assert (await client.get("/dashboard", headers={"Authorization": "Bearer nonsense"})).status_code == 401
    anonymous = await client.get("/dashboard")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/dashboard/login"
    assert (await client.get("/dashboard?key=whatever")).status_code == 303  # keys in URLs are not accepted
    client.cookies.set(COOKIE, "v1.forged.token.1.sig")
    assert (await client.get("/dashboard")).status_code == 303


async def test_login_sets_a_signed_session_cookie(client: httpx.AsyncClient, factory: Factory) -> None:
    form = await client.get("/dashboard/login")
    assert form.status_code == 200 and 'type="password" name="key"' in form.text
    platform = await factory.actor(kind=OrganizationKind.platform)
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)

    assert (await client.post("/dashboard/login", data={"key": "wrong"})).status_code == 401
    assert (await client.post("/dashboard/login", data={"key": enterprise.key})).status_code == 403

    response = await client.post("/dashboard/login", data={"key": platform.key})
    assert response.status_code == 303 and response.headers["location"] == "/dashboard"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=v1.")
    lowered = cookie.lower()
    assert "httponly" in lowered and "samesite=strict" in lowered and "path=/dashboard" in lowered
    assert "secure" not in lowered  # plain http here; https adds Secure
    assert platform.key not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    client.cookies.clear()

    client.cookies.set(COOKIE, token)
    assert (await client.get("/dashboard")).status_code == 200
    client.cookies.set(COOKIE, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert (await client.get("/dashboard")).status_code == 303

    out = await client.post("/dashboard/logout")
    assert out.status_code == 303 and "max-age=0" in out.headers["set-cookie"].lower()


async def test_https_login_cookie_is_secure(app: object, client: httpx.AsyncClient, factory: Factory) -> None:
    platform = await factory.actor(kind=OrganizationKind.platform)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as secure_client:
        response = await secure_client.post("/dashboard/login", data={"key": platform.key})
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def _distinct_colours(png: bytes) -> int:
    """Distinct RGB(A) values of an 8-bit truecolour PNG, decoded with the standard library."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    prev, colours = bytearray(stride), set[bytes]()
    for y in range(height):
        filt, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if filt == 1:
                line[i] = (line[i] + a) & 0xFF
            elif filt == 2:
                line[i] = (line[i] + b) & 0xFF
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 4))
        prev = line
    return len(colours)


async def test_dashboard_screenshot(seeded: Seeded, session: object) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): no headless screenshot")
    service = ReportsService(session)  # type: ignore[arg-type]
    period = parse_period(PERIOD["from"], PERIOD["to"])
    html = render_dashboard(
        await service.catalogue(period), await service.deals(period), await service.registrations(period)
    )
    with tempfile.TemporaryDirectory(prefix="dashboard-shot-") as tmp:
        page, png = Path(tmp) / "dashboard.html", Path(tmp) / "dashboard.png"
        page.write_text(html, encoding="utf-8")
        result = await asyncio.to_thread(
            subprocess.run,
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={Path(tmp) / 'profile'}", f"--screenshot={png}", "--window-size=1280,1600",
                page.as_uri(),
            ],
            capture_output=True, timeout=120, check=False,
        )  # fmt: skip
        assert png.exists(), result.stderr.decode(errors="replace")[-2000:]
        data = png.read_bytes()
    assert len(data) > 20_000
    assert _distinct_colours(data) > 50  # text, bars in several colours, table borders: not a blank page
