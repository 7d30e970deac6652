"""Published listings change through reviewed revisions; the published version stays visible meanwhile."""

from __future__ import annotations

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, if_match, patent_number, published_listing, transition
from tests.factories import Actor, Factory


@pytest.fixture
async def actors(factory: Factory) -> tuple[Actor, Actor]:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    return owner, platform


async def test_public_fact_changes_wait_for_review(client: httpx.AsyncClient, actors: tuple[Actor, Actor]) -> None:
    owner, platform = actors
    published = await published_listing(client, owner, platform)
    listing_id = published.json()["id"]
    url = f"{API}/listings/{listing_id}"
    patched = await client.patch(
        url,
        json={"title_zh": "新标题：钙钛矿叠层电池", "trl": 7, "contact_name": "李老师"},
        headers={**owner.headers, **if_match(published)},
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["version"] == published.json()["version"] + 1
    assert body["title_zh"] == published.json()["title_zh"]  # still the published title
    assert body["contact"]["name"] == "李老师"  # contact details change at once
    revision = body["pending_revision"]
    assert revision["status"] == "pending"
    assert revision["changes"] == {"title_zh": "新标题：钙钛矿叠层电池", "trl": 7}

    public = await client.get(url)
    assert public.json()["title_zh"] == published.json()["title_zh"]
    assert "pending_revision" not in public.json()

    # A second change merges into the same revision.
    merged = await client.patch(url, json={"summary": "新摘要"}, headers={**owner.headers, **if_match(patched)})
    assert set(merged.json()["pending_revision"]["changes"]) == {"title_zh", "trl", "summary"}
    assert merged.json()["pending_revision"]["id"] == revision["id"]

    queue = await client.get(f"{API}/platform/listings?pending_revision=true", headers=platform.headers)
    assert listing_id in [i["id"] for i in queue.json()["items"]]

    stale = await transition(
        client, platform, f"/platform/listings/{listing_id}/revision/approve", etag=patched.headers["ETag"]
    )
    assert stale.status_code == 412
    approved = await transition(
        client, platform, f"/platform/listings/{listing_id}/revision/approve", etag=merged.headers["ETag"]
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["title_zh"] == "新标题：钙钛矿叠层电池"
    assert approved.json()["trl"] == 7
    assert approved.json()["summary"] == "新摘要"
    assert approved.json()["pending_revision"] is None
    assert approved.json()["status"] == "published"
    assert (await client.get(url)).json()["title_zh"] == "新标题：钙钛矿叠层电池"

    again = await transition(
        client, platform, f"/platform/listings/{listing_id}/revision/approve", etag=approved.headers["ETag"]
    )
    assert again.status_code == 409


async def test_rejected_revision_leaves_the_published_version(
    client: httpx.AsyncClient, actors: tuple[Actor, Actor]
) -> None:
    owner, platform = actors
    published = await published_listing(client, owner, platform)
    listing_id = published.json()["id"]
    patched = await client.patch(
        f"{API}/listings/{listing_id}",
        json={"pricing": {"kind": "negotiable"}},
        headers={**owner.headers, **if_match(published)},
    )
    missing_reason = await transition(
        client, platform, f"/platform/listings/{listing_id}/revision/reject", etag=patched.headers["ETag"], json={}
    )
    assert missing_reason.status_code == 422
    rejected = await transition(
        client,
        platform,
        f"/platform/listings/{listing_id}/revision/reject",
        etag=patched.headers["ETag"],
        json={"reason": "价格变更需附评估报告"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["pricing"]["kind"] == "fixed"
    assert rejected.json()["pending_revision"] is None


async def test_taking_every_change_back_cancels_the_revision(
    client: httpx.AsyncClient, actors: tuple[Actor, Actor]
) -> None:
    owner, platform = actors
    published = await published_listing(client, owner, platform)
    url = f"{API}/listings/{published.json()['id']}"
    original = published.json()["trl"]
    patched = await client.patch(url, json={"trl": 9}, headers={**owner.headers, **if_match(published)})
    assert patched.json()["pending_revision"]["changes"] == {"trl": 9}
    back = await client.patch(url, json={"trl": original}, headers={**owner.headers, **if_match(patched)})
    assert back.json()["pending_revision"] is None


async def test_withdrawing_discards_the_pending_revision(
    client: httpx.AsyncClient, actors: tuple[Actor, Actor]
) -> None:
    owner, platform = actors
    published = await published_listing(client, owner, platform)
    listing_id = published.json()["id"]
    patched = await client.patch(
        f"{API}/listings/{listing_id}", json={"trl": 9}, headers={**owner.headers, **if_match(published)}
    )
    withdrawn = await transition(client, owner, f"/listings/{listing_id}/withdraw", etag=patched.headers["ETag"])
    assert withdrawn.json()["pending_revision"] is None
    assert withdrawn.json()["trl"] == published.json()["trl"]
    edited = await client.patch(
        f"{API}/listings/{listing_id}", json={"trl": 9}, headers={**owner.headers, **if_match(withdrawn)}
    )
    assert edited.status_code == 409  # withdrawn listings are not edited; submit again first


async def test_revision_with_a_taken_patent_is_refused(client: httpx.AsyncClient, actors: tuple[Actor, Actor]) -> None:
    owner, platform = actors
    taken = patent_number()
    await published_listing(
        client, owner, platform, ip_assets=[{"type": "invention_patent", "number": taken, "legal_status": "granted"}]
    )
    other = await published_listing(client, owner, platform)
    response = await client.patch(
        f"{API}/listings/{other.json()['id']}",
        json={"ip_assets": [{"type": "invention_patent", "number": taken, "legal_status": "granted"}]},
        headers={**owner.headers, **if_match(other)},
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["pointer"] == "/ip_assets/0/number"
