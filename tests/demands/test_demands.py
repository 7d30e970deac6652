"""Demands: posting, validation, visibility, changes under If-Match, closing, fulfilment and expiry by deadline."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.config import to_asyncpg_url
from marketplace.demands.service import expire_due_demands, today_at
from marketplace.kit.time import utcnow
from tests.catalogue import API, create_demand, demand_payload, if_match
from tests.factories import Actor, Factory, unique_credit_code

ACTORS = ("anonymous", "viewer", "member", "other", "platform")


@pytest.fixture
async def owner(factory: Factory) -> Actor:
    return await factory.actor(kind=OrganizationKind.enterprise, role=Role.member)


def pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return [e.get("pointer") for e in response.json()["errors"]]


async def post(client: httpx.AsyncClient, owner: Actor, **overrides: Any) -> httpx.Response:
    return await client.post(f"{API}/demands", json=demand_payload(**overrides), headers=owner.headers)


async def test_post_and_read(client: httpx.AsyncClient, owner: Actor, session: AsyncSession) -> None:
    created = await create_demand(client, owner)
    body = created.json()
    assert created.headers["ETag"] == 'W/"1"'
    assert body["status"] == "open"
    assert body["region_name"] == "广东省深圳市"
    assert body["min_trl_stage_zh"] == "以演示样机为载体通过模拟使用环境验证"
    public = await client.get(f"{API}/demands/{body['id']}")
    assert public.status_code == 200
    assert public.headers["ETag"] == 'W/"1"'
    listed = await client.get(f"{API}/demands?limit=100")
    assert body["id"] in [d["id"] for d in listed.json()["items"]]
    events = await session.execute(sa.text("SELECT type FROM outbox_events WHERE subject_id = :s"), {"s": body["id"]})
    assert events.scalars().all() == ["demand.created"]


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"budget_min_fen": 500, "budget_max_fen": 100}, "/budget_max_fen"),
        ({"budget_min_fen": -1}, "/budget_min_fen"),
        ({"field_codes": ["10.1"]}, "/field_codes/0"),
        ({"field_codes": []}, "/field_codes"),
        ({"region_code": "990000"}, "/region_code"),
        ({"min_trl": 0}, "/min_trl"),
        ({"min_trl": 10}, "/min_trl"),
        ({"deadline": today_at(utcnow()).isoformat()}, "/deadline"),  # today in China
        ({"deadline": "2020-01-01"}, "/deadline"),
        ({"trade_modes": ["gift"]}, "/trade_modes/0"),
        ({"title": "x"}, "/title"),
        ({"status": "fulfilled"}, "/status"),
        ({"organization_id": "01a216b0-d945-73c5-80ce-7e0c0a7e7891"}, "/organization_id"),
    ],
)
async def test_rejected(client: httpx.AsyncClient, owner: Actor, overrides: dict[str, Any], pointer: str) -> None:
    assert pointer in pointers(await post(client, owner, **overrides))


@pytest.mark.parametrize(
    "overrides",
    [
        {"budget_min_fen": 100, "budget_max_fen": 100},
        {"budget_min_fen": None, "budget_max_fen": 100},
        {"budget_min_fen": None, "budget_max_fen": None},
        {"field_codes": ["1", "1.5"]},
        {"region_code": None},
        {"min_trl": 1},
        {"min_trl": 9},
        {"min_trl": None},
        {"deadline": (date.today() + timedelta(days=2)).isoformat()},
        {"deadline": None},
        {"trade_modes": []},
    ],
)
async def test_accepted(client: httpx.AsyncClient, owner: Actor, overrides: dict[str, Any]) -> None:
    response = await post(client, owner, **overrides)
    assert response.status_code == 201, response.text


async def test_only_verified_enterprises_post(client: httpx.AsyncClient, factory: Factory) -> None:
    for kind in (OrganizationKind.institute, OrganizationKind.broker_agency, OrganizationKind.platform):
        actor = await factory.actor(kind=kind)
        assert (await post(client, actor)).status_code == 403
    unverified = await factory.organization(OrganizationKind.enterprise, verified=False)
    actor = await factory.actor(unverified)
    response = await post(client, actor)
    assert response.status_code == 403
    assert response.json()["title"] == "Organisation not verified"


async def test_changes_need_if_match_and_check_the_budget_against_stored_values(
    client: httpx.AsyncClient, owner: Actor, session: AsyncSession
) -> None:
    created = await create_demand(client, owner, budget_min_fen=1000, budget_max_fen=2000)
    url = f"{API}/demands/{created.json()['id']}"
    assert (await client.patch(url, json={"title": "新标题需求"}, headers=owner.headers)).status_code == 428
    headers = {**owner.headers, **if_match(created)}
    assert pointers(await client.patch(url, json={"budget_max_fen": 999}, headers=headers)) == ["/budget_max_fen"]
    assert pointers(await client.patch(url, json={"title": None}, headers=headers)) == ["/title"]
    changed = await client.patch(url, json={"title": "新标题需求", "budget_max_fen": 5000}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2
    assert changed.headers["ETag"] == 'W/"2"'
    stale = await client.patch(url, json={"title": "再改"}, headers=headers)
    assert stale.status_code == 412
    audit = await session.execute(
        sa.text("SELECT action, diff FROM audit_events WHERE target_id = :s ORDER BY id"), {"s": created.json()["id"]}
    )
    rows = audit.all()
    assert [r[0] for r in rows] == ["demand.created", "demand.updated"]
    assert rows[1][1] == {"budget_max_fen": [2000, 5000], "title": ["寻求工业机器人视觉定位技术", "新标题需求"]}


@pytest.mark.parametrize(("action", "status"), [("close", "closed"), ("fulfil", "fulfilled")])
async def test_close_and_fulfil(
    client: httpx.AsyncClient, owner: Actor, factory: Factory, session: AsyncSession, action: str, status: str
) -> None:
    created = await create_demand(client, owner)
    demand_id = created.json()["id"]
    done = await client.post(f"{API}/demands/{demand_id}/{action}", headers={**owner.headers, **if_match(created)})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == status
    again = await client.post(f"{API}/demands/{demand_id}/{action}", headers={**owner.headers, **if_match(done)})
    assert again.status_code == 409
    edit = await client.patch(
        f"{API}/demands/{demand_id}", json={"title": "改不了"}, headers={**owner.headers, **if_match(done)}
    )
    assert edit.status_code == 409
    # No longer public, still the owner's.
    assert (await client.get(f"{API}/demands/{demand_id}")).status_code == 404
    mine = await client.get(f"{API}/organizations/me/demands?status={status}", headers=owner.headers)
    assert [d["id"] for d in mine.json()["items"]] == [demand_id]
    events = await session.execute(
        sa.text("SELECT type FROM outbox_events WHERE subject_id = :s ORDER BY seq"), {"s": demand_id}
    )
    assert events.scalars().all() == ["demand.created", f"demand.{'closed' if action == 'close' else 'fulfilled'}"]


async def test_access_by_actor(client: httpx.AsyncClient, owner: Actor, factory: Factory) -> None:
    viewer = await factory.actor(owner.organization, role=Role.viewer)
    other = await factory.actor(kind=OrganizationKind.enterprise)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    actors: dict[str, dict[str, str]] = {
        "anonymous": {},
        "viewer": viewer.headers,
        "member": owner.headers,
        "other": other.headers,
        "platform": platform.headers,
    }
    open_demand = await create_demand(client, owner)
    closed = await create_demand(client, owner)
    closed = await client.post(
        f"{API}/demands/{closed.json()['id']}/close", headers={**owner.headers, **if_match(closed)}
    )
    expected_reads = {
        "open": dict.fromkeys(ACTORS, 200),
        "closed": {"anonymous": 404, "viewer": 200, "member": 200, "other": 404, "platform": 200},
    }
    for name, response in (("open", open_demand), ("closed", closed)):
        for actor, headers in actors.items():
            got = await client.get(f"{API}/demands/{response.json()['id']}", headers=headers)
            assert got.status_code == expected_reads[name][actor], (name, actor)
    expected_patch = {"anonymous": 401, "viewer": 403, "other": 403, "platform": 403}
    for actor, status in expected_patch.items():
        got = await client.patch(
            f"{API}/demands/{open_demand.json()['id']}",
            json={"title": "别人改"},
            headers={**actors[actor], **if_match(open_demand)},
        )
        assert got.status_code == status, actor
    hidden = await client.post(
        f"{API}/demands/{closed.json()['id']}/fulfil", headers={**other.headers, **if_match(closed)}
    )
    assert hidden.status_code == 404  # another organisation's closed demand does not exist for them
    assert (await client.get(f"{API}/organizations/me/demands")).status_code == 401
    theirs = await client.get(f"{API}/organizations/me/demands", headers=other.headers)
    assert theirs.json()["items"] == []


async def test_filters(client: httpx.AsyncClient, owner: Actor) -> None:
    robot = await create_demand(client, owner, field_codes=["2.1"], region_code="440300", trade_modes=["transfer"])
    any_mode = await create_demand(client, owner, field_codes=["1.5"], region_code="110000", trade_modes=[])

    async def ids(query: str) -> set[str]:
        response = await client.get(f"{API}/demands?{query}&limit=100")
        assert response.status_code == 200, response.text
        return {d["id"] for d in response.json()["items"]} & {robot.json()["id"], any_mode.json()["id"]}

    assert await ids("field_code=2") == {robot.json()["id"]}
    assert await ids("region=11") == {any_mode.json()["id"]}
    assert await ids("trade_mode=transfer") == {robot.json()["id"], any_mode.json()["id"]}
    assert await ids("trade_mode=equity_investment") == {any_mode.json()["id"]}
    assert (await client.get(f"{API}/demands?field_code=77")).status_code == 400


async def test_past_deadline_reads_as_expired_before_and_after_the_worker(
    client: httpx.AsyncClient, owner: Actor, session: AsyncSession
) -> None:
    created = await create_demand(client, owner)
    demand_id = created.json()["id"]
    # Time passes: the deadline is now yesterday (China time), the worker has not run yet.
    yesterday = today_at(utcnow()) - timedelta(days=1)
    await session.execute(sa.text("UPDATE demands SET deadline = :d WHERE id = :i"), {"d": yesterday, "i": demand_id})
    mine = await client.get(f"{API}/demands/{demand_id}", headers=owner.headers)
    assert mine.json()["status"] == "expired"
    assert (await client.get(f"{API}/demands/{demand_id}")).status_code == 404
    public = await client.get(f"{API}/demands?limit=100")
    assert demand_id not in [d["id"] for d in public.json()["items"]]
    expired = await client.get(f"{API}/organizations/me/demands?status=expired", headers=owner.headers)
    assert [d["id"] for d in expired.json()["items"]] == [demand_id]
    still_open = await client.get(f"{API}/organizations/me/demands?status=open", headers=owner.headers)
    assert demand_id not in [d["id"] for d in still_open.json()["items"]]
    closing = await client.post(f"{API}/demands/{demand_id}/close", headers={**owner.headers, **if_match(mine)})
    assert closing.status_code == 409

    assert await expire_due_demands(session, utcnow()) >= 1
    stored = await session.execute(sa.text("SELECT status, version FROM demands WHERE id = :i"), {"i": demand_id})
    assert tuple(stored.one()) == ("expired", 2)
    assert await expire_due_demands(session, utcnow()) == 0
    after = await client.get(f"{API}/demands/{demand_id}", headers=owner.headers)
    assert after.json()["status"] == "expired"
    assert after.json()["expired_at"] is not None
    events = await session.execute(
        sa.text("SELECT type FROM outbox_events WHERE subject_id = :s ORDER BY seq"), {"s": demand_id}
    )
    assert events.scalars().all() == ["demand.created", "demand.expired"]


async def test_expire_due_demands_uses_the_given_clock(
    client: httpx.AsyncClient, owner: Actor, session: AsyncSession
) -> None:
    soon = await create_demand(client, owner, deadline=(date.today() + timedelta(days=3)).isoformat())
    later = await create_demand(client, owner, deadline=(date.today() + timedelta(days=60)).isoformat())
    never = await create_demand(client, owner, deadline=None)
    await expire_due_demands(session, utcnow() + timedelta(days=10))
    statuses = dict(
        (
            await session.execute(
                sa.text("SELECT id::text, status FROM demands WHERE id IN (:a, :b, :c)"),
                {"a": soon.json()["id"], "b": later.json()["id"], "c": never.json()["id"]},
            )
        ).all()
    )
    assert statuses == {soon.json()["id"]: "expired", later.json()["id"]: "open", never.json()["id"]: "open"}


async def _register_verified_enterprise(client: httpx.AsyncClient, database_url: str) -> dict[str, str]:
    """A committed enterprise (registered through the API, then verified) and its owner's key."""
    code = unique_credit_code(OrganizationKind.enterprise)
    response = await client.post(
        f"{API}/organizations",
        json={
            "kind": "enterprise",
            "name_zh": f"需求并发测试公司{code[-6:]}",
            "credit_code": code,
            "owner_email": f"demand-race-{code.lower()}@example.com",
            "owner_name": "并发",
        },
    )
    assert response.status_code == 201, response.text
    engine = create_async_engine(to_asyncpg_url(database_url))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE organizations SET verification_status = 'verified' WHERE id = :i"),
                {"i": response.json()["organization"]["id"]},
            )
    finally:
        await engine.dispose()
    return {"Authorization": f"Bearer {response.json()['api_key']['key']}"}


async def test_concurrent_writers_one_wins(committing_client: httpx.AsyncClient, database_url: str) -> None:
    headers = await _register_verified_enterprise(committing_client, database_url)
    created = await committing_client.post(f"{API}/demands", json=demand_payload(), headers=headers)
    assert created.status_code == 201, created.text
    url = f"{API}/demands/{created.json()['id']}"
    results = await asyncio.gather(
        committing_client.patch(url, json={"title": "并发写入甲"}, headers={**headers, **if_match(created)}),
        committing_client.post(f"{url}/close", headers={**headers, **if_match(created)}),
    )
    assert sorted(r.status_code for r in results) == [200, 412], [r.text for r in results]
