"""The confidential part (and the auction reserve) never reaches anyone who should not see it, on any read route."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, published_listing
from tests.factories import Actor, Factory

SECRET = "SECRET-RECIPE"
RESERVE = 777_777_777
PDF = b"%PDF-1.7\n" + b"confidential drawing " * 20


@dataclass
class World:
    owner: Actor
    viewer: Actor
    platform: Actor
    outsider: Actor
    signer: Actor
    listing_id: str
    secret_file: str
    public_file: str


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    owner = await factory.actor(kind=OrganizationKind.institute)
    viewer = await factory.actor(owner.organization, role=Role.viewer)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    outsider = await factory.actor(kind=OrganizationKind.enterprise)
    signer = await factory.actor(kind=OrganizationKind.enterprise, role=Role.member)
    published = await published_listing(
        client,
        owner,
        platform,
        pricing={"kind": "auction", "start_price_fen": 100_000, "increment_fen": 1_000, "reserve_fen": RESERVE},
    )
    listing_id = published.json()["id"]
    files = {}
    for name, confidential in (("secret", True), ("public", False)):
        response = await client.post(
            f"{API}/listings/{listing_id}/attachments",
            files={"file": (f"{name}.pdf", PDF, "application/pdf")},
            data={"confidential": str(confidential).lower()},
            headers=owner.headers,
        )
        assert response.status_code == 201, response.text
        files[name] = response.json()["id"]
    accepted = await client.post(
        f"{API}/listings/{listing_id}/nda-acceptances", json={"nda_version": 1}, headers=signer.headers
    )
    assert accepted.status_code == 201, accepted.text
    for actor in (outsider, signer):
        assert (await client.put(f"{API}/listings/{listing_id}/watch", headers=actor.headers)).status_code == 200
    return World(owner, viewer, platform, outsider, signer, listing_id, files["secret"], files["public"])


async def read_routes(client: httpx.AsyncClient, world: World, headers: dict[str, str]) -> list[httpx.Response]:
    """Every route that returns listing data, as this caller."""
    lid = world.listing_id
    responses = [
        await client.get(f"{API}/listings/{lid}", headers=headers),
        await client.get(f"{API}/listings", headers=headers),
        await client.get(f"{API}/listings?field_code=6", headers=headers),
        await client.get(f"{API}/listings/{lid}/attachments", headers=headers),
        await client.get(f"{API}/listings/{lid}/attachments/{world.public_file}", headers=headers),
        await client.get(f"{API}/listings/{lid}/nda-acceptances", headers=headers),
    ]
    if headers:
        responses += [
            await client.get(f"{API}/users/me/watchlist", headers=headers),
            await client.get(f"{API}/organizations/me/listings", headers=headers),
            await client.get(f"{API}/organizations/me/listings/export?format=csv", headers=headers),
            await client.get(f"{API}/organizations/me/listings/export?format=jsonl", headers=headers),
            await client.get(f"{API}/audit-events?target_id={lid}", headers=headers),
        ]
    return responses


def leaks(responses: list[httpx.Response]) -> list[str]:
    found = []
    for response in responses:
        text = response.content.decode("utf-8", "replace")
        is_json = response.headers.get("content-type", "").startswith("application/json")
        # In JSON the keys themselves must be absent; CSV exports name every column in their header row.
        keys = is_json and ("confidential_description" in text or "reserve_fen" in text)
        if SECRET in text or str(RESERVE) in text or keys:
            found.append(f"{response.request.method} {response.request.url.path}?{response.request.url.query}")
    return found


async def test_anonymous_and_other_organisations_never_see_confidential_data(
    client: httpx.AsyncClient, world: World
) -> None:
    for headers in ({}, world.outsider.headers):
        responses = await read_routes(client, world, headers)
        assert all(r.status_code < 500 for r in responses)
        assert leaks(responses) == []
        detail = responses[0].json()
        assert detail["has_confidential"] is True
        assert detail["confidential_access"] is False
        assert detail["nda_text"]  # the NDA itself is public: it has to be read before it is accepted
        assert world.secret_file not in responses[3].text
        secret = await client.get(f"{API}/listings/{world.listing_id}/attachments/{world.secret_file}", headers=headers)
        assert secret.status_code == 404
        assert SECRET not in secret.text


async def test_events_and_audit_records_carry_no_confidential_values(
    client: httpx.AsyncClient, world: World, session: AsyncSession
) -> None:
    url = f"{API}/listings/{world.listing_id}"
    current = await client.get(url, headers=world.owner.headers)
    changed = await client.patch(
        url,
        json={"confidential_description": "SECRET-RECIPE v2", "title_en": "new"},
        headers={**world.owner.headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200
    payloads = (
        await session.execute(
            sa.text("SELECT type, payload::text FROM outbox_events WHERE subject_id = :s"), {"s": world.listing_id}
        )
    ).all()
    diffs = (
        await session.execute(
            sa.text("SELECT action, diff::text FROM audit_events WHERE target_id = :s"), {"s": world.listing_id}
        )
    ).all()
    assert {"listing.updated", "listing.revision_proposed"} <= {t for t, _ in payloads}
    assert "listing.updated" in {a for a, _ in diffs}
    for _kind, text in [*payloads, *diffs]:
        assert SECRET not in text
        assert str(RESERVE) not in text


async def test_an_accepted_nda_opens_the_confidential_part_but_not_the_reserve(
    client: httpx.AsyncClient, world: World
) -> None:
    responses = await read_routes(client, world, world.signer.headers)
    detail = responses[0].json()
    assert detail["confidential_access"] is True
    assert SECRET in detail["confidential_description"]
    assert "reserve_fen" not in detail["pricing"]
    assert world.secret_file in responses[3].text
    download = await client.get(
        f"{API}/listings/{world.listing_id}/attachments/{world.secret_file}", headers=world.signer.headers
    )
    assert download.status_code == 200
    assert download.content == PDF
    # Lists, the watchlist, exports (their own organisation's) and the NDA list stay clean.
    assert leaks(responses[1:]) == []


async def test_a_changed_nda_must_be_accepted_again(client: httpx.AsyncClient, world: World) -> None:
    url = f"{API}/listings/{world.listing_id}"
    current = await client.get(url, headers=world.owner.headers)
    changed = await client.patch(
        url,
        json={"nda_text": "新版保密协议：期限十年。"},
        headers={**world.owner.headers, "If-Match": current.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["nda_version"] == 2
    assert changed.json()["pending_revision"] is None  # the NDA is not a public fact under review
    responses = await read_routes(client, world, world.signer.headers)
    assert leaks(responses) == []
    assert responses[0].json()["confidential_access"] is False
    stale = await client.post(f"{url}/nda-acceptances", json={"nda_version": 1}, headers=world.signer.headers)
    assert stale.status_code == 409
    assert stale.json()["current_nda_version"] == 2
    again = await client.post(f"{url}/nda-acceptances", json={"nda_version": 2}, headers=world.signer.headers)
    assert again.status_code == 201
    assert (await client.get(url, headers=world.signer.headers)).json()["confidential_access"] is True


async def test_owner_viewer_and_platform_see_everything(client: httpx.AsyncClient, world: World) -> None:
    for actor in (world.owner, world.viewer, world.platform):
        detail = await client.get(f"{API}/listings/{world.listing_id}", headers=actor.headers)
        body = detail.json()
        assert SECRET in body["confidential_description"]
        assert body["pricing"]["reserve_fen"] == RESERVE
        files = await client.get(f"{API}/listings/{world.listing_id}/attachments", headers=actor.headers)
        assert {f["id"] for f in files.json()["items"]} == {world.secret_file, world.public_file}
    export = await client.get(f"{API}/organizations/me/listings/export?format=jsonl", headers=world.owner.headers)
    assert SECRET in export.text
    acceptances = await client.get(f"{API}/listings/{world.listing_id}/nda-acceptances", headers=world.viewer.headers)
    assert [a["organization_id"] for a in acceptances.json()["items"]] == [str(world.signer.organization.id)]


async def test_nda_acceptance_rules(client: httpx.AsyncClient, world: World, factory: Factory) -> None:
    url = f"{API}/listings/{world.listing_id}/nda-acceptances"
    own = await client.post(url, json={"nda_version": 1}, headers=world.owner.headers)
    assert own.status_code == 409
    again = await client.post(url, json={"nda_version": 1}, headers=world.signer.headers)
    assert again.status_code == 201  # idempotent: the same acceptance
    listed = await client.get(url, headers=world.owner.headers)
    assert len(listed.json()["items"]) == 1
    assert (await client.get(url, headers=world.outsider.headers)).status_code == 403
    enterprise_viewer = await factory.actor(world.outsider.organization, role=Role.viewer)
    assert (await client.post(url, json={"nda_version": 1}, headers=enterprise_viewer.headers)).status_code == 403
