"""Who may call each listing route: owners' members and viewers, other organisations, anonymous callers, the platform.

Each case runs against fresh listings (a draft, a submitted and a published one of an institute), so
state-changing calls never depend on each other. Other organisations get 404 for what they may not see
and 403 for what they may see but not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, create_listing, listing_payload, published_listing, transition
from tests.factories import Actor, Factory

ACTORS = ("anonymous", "viewer", "member", "other", "platform", "platform_viewer")


@dataclass
class World:
    actors: dict[str, Actor]
    listings: dict[str, httpx.Response]


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    owner = await factory.actor(kind=OrganizationKind.institute, role=Role.owner)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    actors = {
        "viewer": await factory.actor(owner.organization, role=Role.viewer),
        "member": await factory.actor(owner.organization, role=Role.member),
        "other": await factory.actor(kind=OrganizationKind.enterprise, role=Role.owner),
        "platform": platform,
        "platform_viewer": await factory.actor(platform.organization, role=Role.viewer),
    }
    draft = await create_listing(client, owner)
    submitted_draft = await create_listing(client, owner)
    submitted = await transition(
        client, owner, f"/listings/{submitted_draft.json()['id']}/submit", etag=submitted_draft.headers["ETag"]
    )
    published = await published_listing(client, owner, platform)
    return World(actors, {"draft": draft, "submitted": submitted, "published": published})


# (method, path, listing the path and If-Match refer to, body) -> expected status per actor
CASES: list[tuple[str, str, str | None, Any, dict[str, int]]] = [
    ("GET", "/listings", None, None, dict.fromkeys(ACTORS, 200)),
    (
        "GET",
        "/listings/{id}",
        "draft",
        None,
        {"anonymous": 404, "viewer": 200, "member": 200, "other": 404, "platform": 200, "platform_viewer": 200},
    ),
    ("GET", "/listings/{id}", "published", None, dict.fromkeys(ACTORS, 200)),
    (
        "POST",
        "/listings",
        None,
        "listing",
        {"anonymous": 401, "viewer": 403, "member": 201, "other": 201, "platform": 403, "platform_viewer": 403},
    ),
    (
        "PATCH",
        "/listings/{id}",
        "draft",
        {"title_en": "changed"},
        {"anonymous": 401, "viewer": 403, "member": 200, "other": 404, "platform": 403, "platform_viewer": 403},
    ),
    (
        "PATCH",
        "/listings/{id}",
        "published",
        {"title_en": "changed"},
        {"anonymous": 401, "viewer": 403, "member": 200, "other": 403, "platform": 403, "platform_viewer": 403},
    ),
    (
        "POST",
        "/listings/{id}/submit",
        "draft",
        None,
        {"anonymous": 401, "viewer": 403, "member": 200, "other": 404, "platform": 403, "platform_viewer": 403},
    ),
    (
        "POST",
        "/listings/{id}/withdraw",
        "published",
        None,
        {"anonymous": 401, "viewer": 403, "member": 200, "other": 403, "platform": 403, "platform_viewer": 403},
    ),
    (
        "POST",
        "/listings/{id}/close",
        "draft",
        None,
        {"anonymous": 401, "viewer": 403, "member": 200, "other": 404, "platform": 403, "platform_viewer": 403},
    ),
    (
        "POST",
        "/platform/listings/{id}/approve",
        "submitted",
        None,
        {"anonymous": 401, "viewer": 403, "member": 403, "other": 403, "platform": 200, "platform_viewer": 403},
    ),
    (
        "POST",
        "/platform/listings/{id}/reject",
        "submitted",
        {"reason": "资料不全"},
        {"anonymous": 401, "viewer": 403, "member": 403, "other": 403, "platform": 200, "platform_viewer": 403},
    ),
    (
        "POST",
        "/platform/listings/{id}/revision/approve",
        "published",
        None,
        {"anonymous": 401, "viewer": 403, "member": 403, "other": 403, "platform": 409, "platform_viewer": 403},
    ),
    (
        "POST",
        "/platform/listings/{id}/revision/reject",
        "published",
        {"reason": "x"},
        {"anonymous": 401, "viewer": 403, "member": 403, "other": 403, "platform": 409, "platform_viewer": 403},
    ),
    (
        "GET",
        "/platform/listings",
        None,
        None,
        {"anonymous": 401, "viewer": 403, "member": 403, "other": 403, "platform": 200, "platform_viewer": 200},
    ),
    (
        "POST",
        "/listings/{id}/nda-acceptances",
        "published",
        {"nda_version": 1},
        {"anonymous": 401, "viewer": 403, "member": 409, "other": 201, "platform": 201, "platform_viewer": 403},
    ),
    (
        "POST",
        "/listings/{id}/nda-acceptances",
        "draft",
        {"nda_version": 1},
        {"anonymous": 401, "viewer": 403, "member": 409, "other": 404, "platform": 201, "platform_viewer": 403},
    ),
    (
        "GET",
        "/listings/{id}/nda-acceptances",
        "published",
        None,
        {"anonymous": 401, "viewer": 200, "member": 200, "other": 403, "platform": 200, "platform_viewer": 200},
    ),
    (
        "GET",
        "/listings/{id}/nda-acceptances",
        "draft",
        None,
        {"anonymous": 401, "viewer": 200, "member": 200, "other": 404, "platform": 200, "platform_viewer": 200},
    ),
    (
        "GET",
        "/listings/{id}/attachments",
        "draft",
        None,
        {"anonymous": 404, "viewer": 200, "member": 200, "other": 404, "platform": 200, "platform_viewer": 200},
    ),
    ("GET", "/listings/{id}/attachments", "published", None, dict.fromkeys(ACTORS, 200)),
    (
        "PUT",
        "/listings/{id}/watch",
        "draft",
        None,
        {"anonymous": 401, "viewer": 200, "member": 200, "other": 404, "platform": 200, "platform_viewer": 200},
    ),
    ("PUT", "/listings/{id}/watch", "published", None, {**dict.fromkeys(ACTORS, 200), "anonymous": 401}),
    ("DELETE", "/listings/{id}/watch", "published", None, {**dict.fromkeys(ACTORS, 200), "anonymous": 401}),
    ("GET", "/users/me/watchlist", None, None, {**dict.fromkeys(ACTORS, 200), "anonymous": 401}),
    ("GET", "/organizations/me/listings", None, None, {**dict.fromkeys(ACTORS, 200), "anonymous": 401}),
    (
        "GET",
        "/organizations/me/listings/export?format=csv",
        None,
        None,
        {**dict.fromkeys(ACTORS, 200), "anonymous": 401},
    ),
    (
        "POST",
        "/listings/import",
        None,
        "csv",
        {"anonymous": 401, "viewer": 403, "member": 201, "other": 201, "platform": 403, "platform_viewer": 403},
    ),
]

PARAMS = [
    pytest.param(case, actor, id=f"{case[0]} {case[1]} [{case[2] or '-'}] as {actor}")
    for case in CASES
    for actor in ACTORS
]

IMPORT_CSV = "成果名称,领域,成熟度,交易方式,定价方式,地区代码\n批量成果,1.5,4,transfer,negotiable,110000\n"


@pytest.mark.parametrize(("case", "actor"), PARAMS)
async def test_route_access(client: httpx.AsyncClient, world: World, case: tuple[Any, ...], actor: str) -> None:
    method, path, which, body, expected = case
    headers: dict[str, str] = {} if actor == "anonymous" else dict(world.actors[actor].headers)
    kwargs: dict[str, Any] = {}
    if which is not None:
        listing = world.listings[which]
        path = path.replace("{id}", listing.json()["id"])
        headers["If-Match"] = listing.headers["ETag"]
    if body == "listing":
        kwargs["json"] = listing_payload()
    elif body == "csv":
        kwargs["content"] = IMPORT_CSV.encode()
        headers["Content-Type"] = "text/csv"
    elif body is not None:
        kwargs["json"] = body
    response = await client.request(method, f"{API}{path}", headers=headers, **kwargs)
    assert response.status_code == expected[actor], response.text


async def test_read_only_keys_cannot_write(client: httpx.AsyncClient, factory: Factory) -> None:
    from marketplace.accounts.models import ApiKeyScope

    owner = await factory.actor(kind=OrganizationKind.institute)
    reader = await factory.actor(owner.organization, role=Role.owner, scopes=(ApiKeyScope.read,))
    created = await create_listing(client, owner)
    assert (await client.get(f"{API}/listings/{created.json()['id']}", headers=reader.headers)).status_code == 200
    response = await client.patch(
        f"{API}/listings/{created.json()['id']}",
        json={"title_en": "x"},
        headers={**reader.headers, "If-Match": created.headers["ETag"]},
    )
    assert response.status_code == 403
