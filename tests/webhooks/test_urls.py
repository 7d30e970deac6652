"""URL safety: non-public addresses, other schemes and credentials are refused, at registration and when sending."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import httpx
import pytest

from marketplace.accounts.models import Role
from marketplace.webhooks.urls import UnsafeUrl, refusal, vet
from tests.factories import Factory

REFUSED = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.8.9.10:8080/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.254/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd00::1]/hook", "private"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://[64:ff9b::a9fe:a9fe]/hook", "link-local"),  # NAT64 of 169.254.169.254
    ("http://[2002:7f00:1::]/hook", "loopback"),  # 6to4 of 127.0.0.1
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://100.64.0.1/hook", "not publicly routable"),
    ("http://localhost:8000/hook", "loopback"),  # a name is checked by what it resolves to
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 written as one number
    ("file:///etc/passwd", "http and https"),
    ("ftp://93.184.216.34/hook", "http and https"),
    ("gopher://93.184.216.34/", "http and https"),
    ("http://user:pass@93.184.216.34/hook", "credentials"),
    ("https://token@93.184.216.34/hook", "credentials"),
    ("http:///nohost", "no host"),
    ("http://93.184.216.34/a b", "whitespace"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
async def test_refused(url: str, why: str) -> None:
    with pytest.raises(UnsafeUrl) as info:
        await vet(url, allow_private=False)
    assert why in str(info.value)


@pytest.mark.parametrize(
    "url",
    ["https://93.184.216.34/hooks/marketplace?x=1", "http://93.184.216.34:8443/", "https://[2606:4700::6810:84e5]/"],
)
async def test_public_addresses_are_accepted(url: str) -> None:
    vetted = await vet(url, allow_private=False)
    assert vetted.addresses and all(refusal(a) is None for a in vetted.addresses)


async def test_the_override_allows_private_addresses_but_not_other_schemes_or_credentials() -> None:
    vetted = await vet("http://127.0.0.1:9/hook?a=b", allow_private=True)
    assert vetted.url_for(vetted.addresses[0]) == "http://127.0.0.1:9/hook?a=b"
    assert vetted.host_header == "127.0.0.1:9"
    for url in ("file:///etc/passwd", "http://u:p@127.0.0.1/"):
        with pytest.raises(UnsafeUrl):
            await vet(url, allow_private=True)


def test_every_address_class_is_named() -> None:
    assert refusal(ipaddress.ip_address("93.184.216.34")) is None
    assert refusal(ipaddress.ip_address("2606:4700::6810:84e5")) is None
    assert refusal(ipaddress.ip_address("::ffff:93.184.216.34")) is not None  # mapped addresses: not as such


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://[::1]/hook",
        "http://10.0.0.8/hook",
        "http://172.16.5.4/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "file:///etc/passwd",
        "http://user:pass@93.184.216.34/hook",
    ],
)
async def test_registration_refuses_unsafe_urls_naming_the_field(
    client: httpx.AsyncClient, factory: Factory, webhook_env: Callable[..., None], url: str
) -> None:
    webhook_env(WEBHOOKS_ALLOW_PRIVATE_URLS="false")
    admin = await factory.actor(role=Role.admin)
    response = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": url, "event_types": ["*"]}, headers=admin.headers
    )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in problem["errors"]] == ["/url"]
    assert problem["type"].endswith("unsafe-webhook-url")


async def test_registration_accepts_a_public_address_and_the_override_a_private_one(
    client: httpx.AsyncClient, factory: Factory, webhook_env: Callable[..., None]
) -> None:
    webhook_env(WEBHOOKS_ALLOW_PRIVATE_URLS="false")
    admin = await factory.actor(role=Role.admin)
    post = {"headers": admin.headers}
    public = await client.post(
        "/api/v1/webhooks/endpoints", json={"url": "https://93.184.216.34/hook", "event_types": ["*"]}, **post
    )
    assert public.status_code == 201, public.text
    private = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    assert (await client.post("/api/v1/webhooks/endpoints", json=private, **post)).status_code == 422
    webhook_env(WEBHOOKS_ALLOW_PRIVATE_URLS="true")
    assert (await client.post("/api/v1/webhooks/endpoints", json=private, **post)).status_code == 201
    webhook_env(WEBHOOKS_ALLOW_PRIVATE_URLS="false")
    moved = await client.patch(
        f"/api/v1/webhooks/endpoints/{public.json()['id']}", json={"url": "http://10.0.0.1/hook"}, **post
    )
    assert moved.status_code == 422 and moved.json()["errors"][0]["pointer"] == "/url"
