"""Read/write split: replica-marked reads go to DATABASE_READ_URL, everything else to the primary.

Two databases on one server stand in for the primary and its replica; a row that exists only in the
"replica" shows which connection served a request.
"""

from __future__ import annotations

import asyncio
import uuid

from litestar.testing import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from marketplace.accounts.keys import generate_key, hash_key
from marketplace.app import create_app
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.migrate import upgrade
from marketplace.kit.credit_code import make_credit_code
from marketplace.kit.ids import uuid7


def _run(url: str, *statements: tuple[str, dict[str, object]]) -> None:
    async def go() -> None:
        engine = create_async_engine(to_asyncpg_url(url))
        async with engine.begin() as conn:
            for sql, params in statements:
                await conn.execute(text(sql), params)
        await engine.dispose()

    asyncio.run(go())


def _org(org_id: uuid.UUID, name: str) -> tuple[str, dict[str, object]]:
    return (
        "INSERT INTO organizations (id, kind, name_zh, credit_code, verification_status, version, created_at, updated_at)"
        " VALUES (:id, 'enterprise', :name, :code, 'verified', 1, now(), now())",
        {"id": org_id, "name": name, "code": make_credit_code(f"91440300{uuid.uuid4().int % 10**9:09d}")},
    )


def test_replica_routes_read_the_replica_and_writes_go_to_the_primary(
    scratch_database: str, second_scratch_database: str
) -> None:
    primary, replica = scratch_database, second_scratch_database
    upgrade(primary)
    upgrade(replica)
    home, only_in_replica, user = uuid7(), uuid7(), uuid7()
    key = generate_key()
    _run(
        primary,
        _org(home, "主库企业"),
        (
            "INSERT INTO users (id, organization_id, email, display_name, role, is_active, created_at, updated_at)"
            " VALUES (:id, :org, 'replica-test@example.com', 'r', 'owner', true, now(), now())",
            {"id": user, "org": home},
        ),
        (
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at)"
            " VALUES (:id, :user, 'k', :prefix, :hash, ARRAY['read','write'], now())",
            {"id": uuid7(), "user": user, "prefix": key[:12], "hash": hash_key(key)},
        ),
    )
    _run(replica, _org(only_in_replica, "只在从库"))
    settings = Settings(database_url=primary, database_read_url=replica, log_level="CRITICAL")
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:
        # Marked for the replica: sees the replica's row, not the primary's.
        assert client.get(f"/api/v1/organizations/{only_in_replica}", headers=headers).json()["name_zh"] == "只在从库"
        assert client.get(f"/api/v1/organizations/{home}", headers=headers).status_code == 404
        # Not marked (it must read its own writes): the primary.
        assert client.get("/api/v1/organizations/me", headers=headers).json()["name_zh"] == "主库企业"
        changed = client.patch("/api/v1/organizations/me", json={"name_en": "Primary Co."}, headers=headers)
        assert changed.status_code == 200
        assert client.get("/api/v1/organizations/me", headers=headers).json()["name_en"] == "Primary Co."
