"""Accounts flows through the API: registration, verification, members, keys."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import ApiKeyScope, OrganizationKind, Role
from tests.factories import Factory, unique_credit_code


def registration(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "institute",
        "name_zh": "东湖理工大学测试院",
        "name_en": "Test Institute",
        "credit_code": unique_credit_code(OrganizationKind.institute),
        "region_code": "420100",
        "owner_email": f"owner-{unique_credit_code()[-8:]}@example.edu.cn",
        "owner_name": "张老师",
    }
    body.update(overrides)
    return body


async def test_register_creates_pending_org_owner_and_working_key(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/api/v1/organizations", json=registration())
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["organization"]["verification_status"] == "pending"
    assert data["user"]["role"] == "owner"
    secret = data["api_key"]["key"]
    assert secret.startswith("mkt_") and data["api_key"]["prefix"] == secret[:12]
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["organization"]["id"] == data["organization"]["id"]
    # The secret is stored only as a hash.
    stored = await session.execute(sa.text("SELECT key_hash FROM api_keys WHERE prefix = :p"), {"p": secret[:12]})
    assert stored.scalar_one() != secret
    events = await session.execute(
        sa.text("SELECT type FROM outbox_events WHERE subject_id = :s"), {"s": data["organization"]["id"]}
    )
    assert events.scalars().all() == ["organization.registered"]


async def test_register_twice_is_409_naming_the_field(client: httpx.AsyncClient) -> None:
    body = registration()
    assert (await client.post("/api/v1/organizations", json=body)).status_code == 201
    again = await client.post("/api/v1/organizations", json={**body, "owner_email": "other@example.com"})
    assert again.status_code == 409
    assert again.json()["errors"] == [{"detail": "already registered", "pointer": "/credit_code"}]
    same_email = await client.post(
        "/api/v1/organizations",
        json=registration(owner_email=str(body["owner_email"]).upper()),
    )
    assert same_email.status_code == 409
    assert same_email.json()["errors"][0]["pointer"] == "/owner_email"


async def test_platform_verifies_and_rejects(client: httpx.AsyncClient, factory: Factory) -> None:
    org = await factory.organization(OrganizationKind.enterprise, verified=False)
    admin = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    url = f"/api/v1/platform/organizations/{org.id}/verification"
    no_note = await client.post(url, json={"status": "rejected"}, headers=admin.headers)
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["pointer"] == "/note"
    pending = await client.post(url, json={"status": "pending"}, headers=admin.headers)
    assert pending.status_code == 422
    ok = await client.post(url, json={"status": "verified"}, headers=admin.headers)
    assert ok.status_code == 200
    assert ok.json()["verification_status"] == "verified" and ok.json()["verified_at"]
    listed = await client.get(
        "/api/v1/platform/organizations?verification_status=verified&kind=enterprise&limit=100", headers=admin.headers
    )
    assert str(org.id) in {o["id"] for o in listed.json()["items"]}
    missing = await client.post(
        "/api/v1/platform/organizations/01900000-0000-7000-8000-000000000000/verification",
        json={"status": "verified"},
        headers=admin.headers,
    )
    assert missing.status_code == 404


async def test_public_profile_hides_private_fields_and_rejected_orgs(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await factory.actor(role=Role.viewer)
    other = await factory.organization(OrganizationKind.institute)
    profile = await client.get(f"/api/v1/organizations/{other.id}", headers=me.headers)
    assert profile.status_code == 200
    assert "credit_code" not in profile.json() and "verification_note" not in profile.json()
    admin = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    await client.post(
        f"/api/v1/platform/organizations/{other.id}/verification",
        json={"status": "rejected", "note": "营业执照与信用代码不符"},
        headers=admin.headers,
    )
    assert (await client.get(f"/api/v1/organizations/{other.id}", headers=me.headers)).status_code == 404
    assert (await client.get(f"/api/v1/platform/organizations/{other.id}", headers=admin.headers)).status_code == 200


async def test_verified_credit_code_is_locked(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(role=Role.owner)
    response = await client.patch(
        "/api/v1/organizations/me", json={"credit_code": unique_credit_code()}, headers=owner.headers
    )
    assert response.status_code == 409
    assert response.json()["type"].endswith("/credit-code-locked")


async def test_members_roles_and_last_owner(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(role=Role.owner)
    admin = await factory.actor(owner.organization, role=Role.admin)
    # An admin may add members but not owners.
    added = await client.post(
        "/api/v1/organizations/me/members",
        json={"email": "new.member@example.com", "display_name": "新成员", "role": "member"},
        headers=admin.headers,
    )
    assert added.status_code == 201
    new_key = added.json()["api_key"]["key"]
    assert (await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new_key}"})).status_code == 200
    too_high = await client.post(
        "/api/v1/organizations/me/members",
        json={"email": "boss@example.com", "display_name": "老板", "role": "owner"},
        headers=admin.headers,
    )
    assert too_high.status_code == 403 and too_high.json()["type"].endswith("/role-too-high")
    # The only owner cannot step down or be removed.
    demote = await client.patch(
        f"/api/v1/organizations/me/members/{owner.user.id}", json={"role": "admin"}, headers=owner.headers
    )
    assert demote.status_code == 409 and demote.json()["type"].endswith("/last-owner")
    # Deactivating a member revokes their keys at once.
    member_id = added.json()["user"]["id"]
    gone = await client.delete(f"/api/v1/organizations/me/members/{member_id}", headers=admin.headers)
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    assert (await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new_key}"})).status_code == 401
    members = await client.get("/api/v1/organizations/me/members?limit=1", headers=owner.headers)
    page1 = members.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    page2 = await client.get(
        f"/api/v1/organizations/me/members?limit=1&cursor={page1['next_cursor']}", headers=owner.headers
    )
    assert page2.json()["items"][0]["id"] != page1["items"][0]["id"]


async def test_api_keys_lifecycle(client: httpx.AsyncClient, factory: Factory, session: AsyncSession) -> None:
    actor = await factory.actor(role=Role.member)
    created = await client.post(
        "/api/v1/users/me/api-keys", json={"name": "nightly sync", "scopes": ["read"]}, headers=actor.headers
    )
    assert created.status_code == 201
    secret = created.json()["key"]
    read_only = {"Authorization": f"Bearer {secret}"}
    assert (await client.get("/api/v1/users/me", headers=read_only)).json()["scopes"] == ["read"]
    listed = (await client.get("/api/v1/users/me/api-keys", headers=actor.headers)).json()["items"]
    assert {k["name"] for k in listed} == {"test", "nightly sync"}
    assert all("key" not in k for k in listed)
    used = next(k for k in listed if k["name"] == "nightly sync")
    assert used["last_used_at"] is not None
    # A read-only key cannot mint a write key (nor write at all).
    escalate = await client.post(
        "/api/v1/users/me/api-keys", json={"name": "x", "scopes": ["write"]}, headers=read_only
    )
    assert escalate.status_code == 403
    revoked = await client.delete(f"/api/v1/users/me/api-keys/{created.json()['id']}", headers=actor.headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert (await client.get("/api/v1/users/me", headers=read_only)).status_code == 401
    again = await client.delete(f"/api/v1/users/me/api-keys/{created.json()['id']}", headers=actor.headers)
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked.json()["revoked_at"]


async def test_expired_key_is_refused(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.member)
    past = await client.post(
        "/api/v1/users/me/api-keys",
        json={"name": "old", "expires_at": "2020-01-01T00:00:00Z"},
        headers=actor.headers,
    )
    assert past.status_code == 422 and past.json()["errors"][0]["pointer"] == "/expires_at"
    naive = await client.post(
        "/api/v1/users/me/api-keys", json={"name": "naive", "expires_at": "2099-01-01T00:00:00"}, headers=actor.headers
    )
    assert naive.status_code == 422


async def test_read_only_scope_blocks_every_write_route(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner, scopes=(ApiKeyScope.read,))
    for method, path in (("PATCH", "/api/v1/organizations/me"), ("POST", "/api/v1/organizations/me/members")):
        response = await client.request(method, path, json={}, headers=actor.headers)
        assert response.status_code == 403, (method, path)
