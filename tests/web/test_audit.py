"""The audit trail: written with the change, gone with a rollback, append-only in the database."""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from tests.factories import Factory


async def audit_rows(session: AsyncSession, target_id: str) -> list[sa.Row[tuple[object, ...]]]:
    result = await session.execute(
        sa.text(
            "SELECT action, actor_user_id, organization_id, diff, request_id FROM audit_events WHERE target_id = :t"
        ),
        {"t": target_id},
    )
    return list(result.all())


async def test_change_writes_audit_record_with_request_id(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    actor = await factory.actor(role=Role.admin)
    response = await client.patch(
        "/api/v1/organizations/me",
        json={"name_en": "Renamed Ltd."},
        headers={**actor.headers, "X-Request-ID": "req-audit-1"},
    )
    assert response.status_code == 200
    rows = await audit_rows(session, str(actor.organization.id))
    assert len(rows) == 1
    action, actor_user_id, org_id, diff, request_id = rows[0]
    assert action == "organization.updated"
    assert actor_user_id == actor.user.id
    assert org_id == actor.organization.id
    assert diff == {"name_en": [None, "Renamed Ltd."]}
    assert request_id == "req-audit-1"


async def test_failed_request_leaves_no_audit_record(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    actor = await factory.actor(role=Role.admin)
    other = await factory.organization(OrganizationKind.enterprise)
    # Valid field change plus a credit code that another organisation holds: the whole change rolls back.
    response = await client.patch(
        "/api/v1/organizations/me",
        json={"name_en": "Never", "credit_code": other.credit_code},
        headers=actor.headers,
    )
    assert response.status_code == 409
    assert await audit_rows(session, str(actor.organization.id)) == []
    await session.refresh(actor.organization)
    assert actor.organization.name_en is None


async def test_unchanged_update_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    actor = await factory.actor(role=Role.admin)
    response = await client.patch(
        "/api/v1/organizations/me", json={"region_code": actor.organization.region_code}, headers=actor.headers
    )
    assert response.status_code == 200
    assert await audit_rows(session, str(actor.organization.id)) == []


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events", "TRUNCATE audit_events"]
)
async def test_audit_trail_is_append_only_in_the_database(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession, statement: str
) -> None:
    actor = await factory.actor(role=Role.admin)
    await client.patch("/api/v1/organizations/me", json={"name_en": "Audited"}, headers=actor.headers)
    assert await audit_rows(session, str(actor.organization.id))
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(sa.text(statement))


async def test_audit_visibility(client: httpx.AsyncClient, factory: Factory) -> None:
    mine = await factory.actor(role=Role.admin)
    theirs = await factory.actor(role=Role.admin)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    for actor, name in ((mine, "Mine"), (theirs, "Theirs")):
        assert (
            await client.patch("/api/v1/organizations/me", json={"name_en": name}, headers=actor.headers)
        ).status_code == 200
    seen_by_mine = (await client.get("/api/v1/audit-events", headers=mine.headers)).json()["items"]
    assert {e["target_id"] for e in seen_by_mine} == {str(mine.organization.id)}
    seen_by_platform = (await client.get("/api/v1/audit-events?limit=100", headers=platform.headers)).json()["items"]
    assert {str(mine.organization.id), str(theirs.organization.id)} <= {e["target_id"] for e in seen_by_platform}
