"""A listing's life: draft, review, publication, revisions, withdrawal and closure, with ETags throughout."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, create_listing, transition
from tests.factories import Factory


async def test_create_returns_draft_with_etag_and_reference_names(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    response = await create_listing(client, owner)
    body = response.json()
    assert response.headers["ETag"] == 'W/"1"'
    assert body["status"] == "draft"
    assert body["version"] == 1
    assert body["trl_stage_zh"] == "以原理样机为载体通过相关环境验证"
    assert body["region_name"] == "湖北省武汉市"
    assert body["ip_assets"][0]["number"].startswith("ZL")
    assert body["pricing"] == {
        "kind": "fixed",
        "currency": "CNY",
        "price_fen": 50_000_000,
        "min_fen": None,
        "max_fen": None,
        "start_price_fen": None,
        "increment_fen": None,
        "deposit_fen": None,
        "reserve_fen": None,
    }
    assert body["nda_version"] == 1
    assert body["created_by_user_id"] == str(owner.user.id)


async def test_full_lifecycle_with_events_and_audit(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    created = await create_listing(client, owner)
    listing_id = created.json()["id"]

    # Drafts are private.
    assert (await client.get(f"{API}/listings/{listing_id}")).status_code == 404

    submitted = await transition(client, owner, f"/listings/{listing_id}/submit", etag=created.headers["ETag"])
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"
    assert submitted.headers["ETag"] == 'W/"2"'

    queue = await client.get(f"{API}/platform/listings", headers=platform.headers)
    assert listing_id in [item["id"] for item in queue.json()["items"]]

    rejected = await transition(
        client,
        platform,
        f"/platform/listings/{listing_id}/reject",
        etag=submitted.headers["ETag"],
        json={"reason": "请补充专利证书"},
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_note"] == "请补充专利证书"

    resubmitted = await transition(client, owner, f"/listings/{listing_id}/submit", etag=rejected.headers["ETag"])
    assert resubmitted.json()["status"] == "submitted"
    assert resubmitted.json()["review_note"] is None

    approved = await transition(
        client, platform, f"/platform/listings/{listing_id}/approve", etag=resubmitted.headers["ETag"]
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert approved.json()["published_at"] is not None

    public = await client.get(f"{API}/listings/{listing_id}")
    assert public.status_code == 200
    assert public.headers["ETag"] == approved.headers["ETag"]

    withdrawn = await transition(client, owner, f"/listings/{listing_id}/withdraw", etag=approved.headers["ETag"])
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.get(f"{API}/listings/{listing_id}")).status_code == 404

    closed = await transition(client, owner, f"/listings/{listing_id}/close", etag=withdrawn.headers["ETag"])
    assert closed.json()["status"] == "closed"
    again = await transition(client, owner, f"/listings/{listing_id}/close", etag=closed.headers["ETag"])
    assert again.status_code == 409

    types = (
        (
            await session.execute(
                sa.text("SELECT type FROM outbox_events WHERE subject_id = :s ORDER BY seq"), {"s": listing_id}
            )
        )
        .scalars()
        .all()
    )
    assert types == [
        "listing.created",
        "listing.submitted",
        "listing.rejected",
        "listing.submitted",
        "listing.published",
        "listing.withdrawn",
        "listing.closed",
    ]
    actions = (
        (
            await session.execute(
                sa.text("SELECT action FROM audit_events WHERE target_id = :s ORDER BY id"), {"s": listing_id}
            )
        )
        .scalars()
        .all()
    )
    assert actions == types
