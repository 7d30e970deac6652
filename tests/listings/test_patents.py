"""A granted patent sits on at most one active listing: checked by the service, enforced by the database."""

from __future__ import annotations

import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, create_listing, patent_number, transition
from tests.factories import Factory


def granted(number: str) -> list[dict[str, str]]:
    return [{"type": "invention_patent", "number": number, "legal_status": "granted"}]


async def test_same_granted_patent_cannot_be_on_two_active_listings(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    number = patent_number()
    first_owner = await factory.actor(kind=OrganizationKind.institute)
    second_owner = await factory.actor(kind=OrganizationKind.enterprise)
    first = await create_listing(client, first_owner, ip_assets=granted(number))
    second = await create_listing(client, second_owner, ip_assets=granted(number))  # drafts may share it
    ok = await transition(client, first_owner, f"/listings/{first.json()['id']}/submit", etag=first.headers["ETag"])
    assert ok.status_code == 200
    clash = await transition(
        client, second_owner, f"/listings/{second.json()['id']}/submit", etag=second.headers["ETag"]
    )
    assert clash.status_code == 409, clash.text
    assert clash.json()["title"] == "Patent already on an active listing"
    assert clash.json()["errors"] == [{"detail": "already on another active listing", "pointer": "/ip_assets/0/number"}]
    # Once the first is withdrawn, the patent is free again.
    withdrawn = await transition(
        client, first_owner, f"/listings/{first.json()['id']}/withdraw", etag=ok.headers["ETag"]
    )
    assert withdrawn.status_code == 200
    retry = await transition(
        client, second_owner, f"/listings/{second.json()['id']}/submit", etag=second.headers["ETag"]
    )
    assert retry.status_code == 200, retry.text


async def test_pending_patents_and_other_rights_are_not_exclusive(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    number = patent_number()
    assets = [
        {"type": "invention_patent", "number": number, "legal_status": "pending"},
        {"type": "software_copyright", "number": "2020SR0999999", "legal_status": "granted"},
    ]
    for _ in range(2):
        created = await create_listing(client, owner, ip_assets=assets)
        submitted = await transition(
            client, owner, f"/listings/{created.json()['id']}/submit", etag=created.headers["ETag"]
        )
        assert submitted.status_code == 200, submitted.text


async def test_editing_a_submitted_listing_checks_its_patents(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    taken = patent_number()
    first = await create_listing(client, owner, ip_assets=granted(taken))
    await transition(client, owner, f"/listings/{first.json()['id']}/submit", etag=first.headers["ETag"])
    second = await create_listing(client, owner)
    submitted = await transition(client, owner, f"/listings/{second.json()['id']}/submit", etag=second.headers["ETag"])
    edit = await client.patch(
        f"{API}/listings/{second.json()['id']}",
        json={"ip_assets": granted(taken)},
        headers={**owner.headers, "If-Match": submitted.headers["ETag"]},
    )
    assert edit.status_code == 409


async def test_the_database_enforces_it(session: AsyncSession, factory: Factory) -> None:
    org = await factory.organization(OrganizationKind.institute)
    number = patent_number()
    listing_ids = [uuid.uuid4(), uuid.uuid4()]
    for listing_id in listing_ids:
        await session.execute(
            sa.text(
                "INSERT INTO listings (id, organization_id, status, title_zh, keywords, field_codes, trl, "
                "achievement_type, inventors, trade_modes, pricing_kind, region_code, holder_state_funded, "
                "nda_version, version, created_at, updated_at) VALUES (:id, :org, 'published', '测试', '{}', "
                "'{1}', 5, 'applied_technology', '{}', '{transfer}', 'negotiable', '110000', false, 0, 1, now(), now())"
            ),
            {"id": listing_id, "org": org.id},
        )
    insert = sa.text(
        "INSERT INTO listing_ip_assets (id, listing_id, position, type, number, legal_status, active) "
        "VALUES (:id, :listing, 0, 'invention_patent', :number, 'granted', true)"
    )
    await session.execute(insert, {"id": uuid.uuid4(), "listing": listing_ids[0], "number": number})
    with pytest.raises(IntegrityError, match="ux_listing_ip_assets_active_granted_patent"):
        async with session.begin_nested():
            await session.execute(insert, {"id": uuid.uuid4(), "listing": listing_ids[1], "number": number})


async def test_submitting_needs_a_verified_organisation(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.organization(OrganizationKind.institute, verified=False)
    owner = await factory.actor(org, role=Role.owner)
    created = await create_listing(client, owner)
    response = await transition(client, owner, f"/listings/{created.json()['id']}/submit", etag=created.headers["ETag"])
    assert response.status_code == 403
    assert response.json()["title"] == "Organisation not verified"
