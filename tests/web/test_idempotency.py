"""Idempotency-Key: replay, mismatch, expiry, and a concurrent retry that creates nothing twice."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from marketplace.accounts.models import Role
from marketplace.web.models import IdempotencyRecord
from marketplace.web.sealing import lookup_id
from tests.factories import Factory


def key_body(name: str = "sync script") -> dict[str, object]:
    return {"name": name, "scopes": ["read"]}


async def count_keys(session: AsyncSession, name: str) -> int:
    return int(
        (await session.execute(sa.text("SELECT count(*) FROM api_keys WHERE name = :n"), {"n": name})).scalar_one()
    )


async def test_same_key_same_body_replays_first_answer(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    actor = await factory.actor(role=Role.member)
    headers = {**actor.headers, "Idempotency-Key": "create-key-1"}
    first = await client.post("/api/v1/users/me/api-keys", json=key_body("replayed"), headers=headers)
    second = await client.post("/api/v1/users/me/api-keys", json=key_body("replayed"), headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()  # the same key id and secret, not a second key
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await count_keys(session, "replayed") == 1


async def test_the_stored_answer_reveals_neither_the_secret_nor_the_key(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    actor = await factory.actor(role=Role.member)
    idempotency_key = f"sealed-{uuid.uuid4()}"
    headers = {**actor.headers, "Idempotency-Key": idempotency_key}
    first = await client.post("/api/v1/users/me/api-keys", json=key_body("sealed"), headers=headers)
    assert first.status_code == 201
    secret = first.json()["key"]
    rows = (
        (
            await session.execute(sa.select(IdempotencyRecord).where(IdempotencyRecord.principal == str(actor.user.id)))  # type: ignore[arg-type]
        )
        .scalars()
        .all()
    )
    (record,) = [r for r in rows if r.status_code == 201]
    assert record.key == lookup_id(str(actor.user.id), idempotency_key) and idempotency_key not in record.key
    assert record.response_body is not None and secret.encode() not in record.response_body
    assert b'"key"' not in record.response_body  # not even the JSON structure is readable
    replay = await client.post("/api/v1/users/me/api-keys", json=key_body("sealed"), headers=headers)
    assert replay.json()["key"] == secret and replay.headers["idempotent-replayed"] == "true"
    # Another caller with the same Idempotency-Key neither finds nor can open this record.
    other = await factory.actor(role=Role.member)
    theirs = await client.post(
        "/api/v1/users/me/api-keys",
        json=key_body("sealed"),
        headers={**other.headers, "Idempotency-Key": idempotency_key},
    )
    assert theirs.status_code == 201 and theirs.json()["key"] != secret


async def test_same_key_other_body_is_422(client: httpx.AsyncClient, factory: Factory, session: AsyncSession) -> None:
    actor = await factory.actor(role=Role.member)
    headers = {**actor.headers, "Idempotency-Key": "create-key-2"}
    assert (await client.post("/api/v1/users/me/api-keys", json=key_body("a"), headers=headers)).status_code == 201
    response = await client.post("/api/v1/users/me/api-keys", json=key_body("b"), headers=headers)
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("/idempotency-key-reused")
    assert body["idempotency_key"] == "create-key-2"
    assert await count_keys(session, "b") == 0


async def test_keys_are_per_caller(client: httpx.AsyncClient, factory: Factory, session: AsyncSession) -> None:
    one = await factory.actor(role=Role.member)
    two = await factory.actor(role=Role.member)
    for actor in (one, two):
        response = await client.post(
            "/api/v1/users/me/api-keys",
            json=key_body("per-caller"),
            headers={**actor.headers, "Idempotency-Key": "shared-key"},
        )
        assert response.status_code == 201
        assert "idempotent-replayed" not in response.headers
    assert await count_keys(session, "per-caller") == 2


async def test_expired_key_runs_again(client: httpx.AsyncClient, factory: Factory, session: AsyncSession) -> None:
    actor = await factory.actor(role=Role.member)
    headers = {**actor.headers, "Idempotency-Key": "old-key"}
    first = await client.post("/api/v1/users/me/api-keys", json=key_body("expiring"), headers=headers)
    assert first.status_code == 201
    await session.execute(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.key == lookup_id(str(actor.user.id), "old-key"))  # type: ignore[arg-type]
        .values(created_at=sa.func.now() - sa.text("interval '25 hours'"))
    )
    await session.flush()
    again = await client.post("/api/v1/users/me/api-keys", json=key_body("expiring"), headers=headers)
    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    assert await count_keys(session, "expiring") == 2
    # ... and after expiry the key may even carry a different body.
    await session.execute(
        sa.update(IdempotencyRecord)
        .where(IdempotencyRecord.key == lookup_id(str(actor.user.id), "old-key"))  # type: ignore[arg-type]
        .values(created_at=sa.func.now() - sa.text("interval '25 hours'"))
    )
    assert (await client.post("/api/v1/users/me/api-keys", json=key_body("other"), headers=headers)).status_code == 201


async def test_failed_request_is_not_stored(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.member)
    headers = {**actor.headers, "Idempotency-Key": "fails-first"}
    bad = await client.post("/api/v1/users/me/api-keys", json={"name": ""}, headers=headers)
    assert bad.status_code == 422
    good = await client.post("/api/v1/users/me/api-keys", json={"name": ""}, headers=headers)
    assert good.status_code == 422  # evaluated again, not replayed
    assert "idempotent-replayed" not in good.headers


async def test_malformed_key_is_400(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.member)
    response = await client.post(
        "/api/v1/users/me/api-keys", json=key_body(), headers={**actor.headers, "Idempotency-Key": "x" * 300}
    )
    assert response.status_code == 400
    assert response.json()["type"].endswith("/idempotency-key-invalid")


async def test_concurrent_retries_create_once(committing_client: httpx.AsyncClient, engine: AsyncEngine) -> None:
    """Eight simultaneous retries on separate connections: one registration, eight identical answers."""
    from tests.factories import unique_credit_code

    tag = uuid.uuid4().hex[:10]
    body = {
        "kind": "enterprise",
        "name_zh": f"并发测试{tag}",
        "credit_code": unique_credit_code(),
        "owner_email": f"race-{tag}@example.com",
        "owner_name": "并发",
    }
    headers = {"Idempotency-Key": f"race-{tag}"}
    responses = await asyncio.gather(
        *(committing_client.post("/api/v1/organizations", json=body, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["organization"]["id"] for r in responses}) == 1
    assert sum(1 for r in responses if r.headers.get("idempotent-replayed") == "true") == 7
    async with engine.connect() as conn:
        count = (
            await conn.execute(sa.text("SELECT count(*) FROM organizations WHERE name_zh = :n"), {"n": body["name_zh"]})
        ).scalar_one()
    assert count == 1
