"""Optimistic concurrency: ETag on every read, If-Match on every write, and a real race decided by the row lock."""

from __future__ import annotations

import asyncio

import httpx

from marketplace.accounts.models import OrganizationKind
from tests.catalogue import API, create_listing, if_match, listing_payload, patent_number
from tests.factories import Factory, unique_credit_code


async def test_writes_need_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    created = await create_listing(client, owner)
    listing_id = created.json()["id"]
    for method, path, body in (
        ("PATCH", f"/listings/{listing_id}", {"title_en": "x"}),
        ("POST", f"/listings/{listing_id}/submit", None),
        ("POST", f"/listings/{listing_id}/withdraw", None),
        ("POST", f"/listings/{listing_id}/close", None),
    ):
        response = await client.request(method, f"{API}{path}", json=body, headers=owner.headers)
        assert response.status_code == 428, (path, response.text)
        assert response.json()["errors"] == [{"detail": "required", "parameter": "If-Match", "in": "header"}]
        star = await client.request(method, f"{API}{path}", json=body, headers={**owner.headers, "If-Match": "*"})
        assert star.status_code == 428


async def test_stale_if_match_is_412_with_the_current_etag(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    created = await create_listing(client, owner)
    url = f"{API}/listings/{created.json()['id']}"
    first = await client.patch(url, json={"title_en": "first"}, headers={**owner.headers, **if_match(created)})
    assert first.status_code == 200
    assert first.headers["ETag"] == 'W/"2"'
    stale = await client.patch(url, json={"title_en": "second"}, headers={**owner.headers, **if_match(created)})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == 'W/"2"'
    assert stale.json()["current_version"] == 2
    # The strong and bare forms of the current tag, and a list holding it, are accepted too.
    for version, tag in ((2, '"2"'), (3, "3"), (4, 'W/"1", W/"4"')):
        ok = await client.patch(url, json={"summary": f"v{version}"}, headers={**owner.headers, "If-Match": tag})
        assert ok.status_code == 200, (tag, ok.text)
        assert ok.json()["version"] == version + 1
    garbage = await client.patch(url, json={"summary": "x"}, headers={**owner.headers, "If-Match": "abc"})
    assert garbage.status_code == 428


async def test_a_no_op_patch_keeps_the_version(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    created = await create_listing(client, owner)
    url = f"{API}/listings/{created.json()['id']}"
    same = await client.patch(
        url, json={"title_zh": created.json()["title_zh"]}, headers={**owner.headers, **if_match(created)}
    )
    assert same.status_code == 200
    assert same.json()["version"] == 1


async def _register_institute(client: httpx.AsyncClient) -> dict[str, str]:
    """A committed institute with its owner's key (registration needs no verification for drafts)."""
    code = unique_credit_code(OrganizationKind.institute)
    response = await client.post(
        f"{API}/organizations",
        json={
            "kind": "institute",
            "name_zh": f"并发测试研究院{code[-6:]}",
            "credit_code": code,
            "owner_email": f"race-{code.lower()}@example.edu.cn",
            "owner_name": "并发测试",
        },
    )
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['api_key']['key']}"}


async def test_two_concurrent_writers_with_the_same_etag_one_wins(committing_client: httpx.AsyncClient) -> None:
    headers = await _register_institute(committing_client)
    body = listing_payload(
        ip_assets=[{"type": "invention_patent", "number": patent_number(), "legal_status": "granted"}]
    )
    created = await committing_client.post(f"{API}/listings", json=body, headers=headers)
    assert created.status_code == 201, created.text
    url = f"{API}/listings/{created.json()['id']}"
    etag = created.headers["ETag"]

    async def write(title: str) -> httpx.Response:
        return await committing_client.patch(url, json={"title_en": title}, headers={**headers, "If-Match": etag})

    for round_ in range(3):
        results = await asyncio.gather(write(f"writer A{round_}"), write(f"writer B{round_}"))
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 412], [r.text for r in results]
        winner = next(r for r in results if r.status_code == 200)
        final = await committing_client.get(url, headers=headers)
        assert final.json()["title_en"] == winner.json()["title_en"]
        assert final.json()["version"] == int(etag.split('"')[1]) + 1
        etag = final.headers["ETag"]
