"""Public browsing with filters and paging, the organisation's own list, and watchlists."""

from __future__ import annotations

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from tests.catalogue import API, create_listing, published_listing, transition
from tests.factories import Actor, Factory


@pytest.fixture
async def market(client: httpx.AsyncClient, factory: Factory) -> dict[str, str]:
    """Three published listings (and a draft) with different facts; name -> id."""
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    specs = {
        "ai": {
            "field_codes": ["1.5"],
            "trl": 3,
            "trade_modes": ["transfer"],
            "region_code": "110108",
            "pricing": {"kind": "negotiable"},
        },
        "robot": {
            "field_codes": ["2.1"],
            "trl": 7,
            "trade_modes": ["exclusive_licence", "co_development"],
            "region_code": "440305",
            "pricing": {"kind": "fixed", "price_fen": 1000},
        },
        "solar": {
            "field_codes": ["6.3"],
            "trl": 9,
            "trade_modes": ["equity_investment"],
            "region_code": "440100",
            "pricing": {"kind": "range", "min_fen": 10, "max_fen": 20},
        },
    }
    ids = {}
    for name, spec in specs.items():
        ids[name] = (await published_listing(client, owner, platform, title_zh=f"{name}成果", **spec)).json()["id"]
    ids["draft"] = (await create_listing(client, owner, field_codes=["1.5"])).json()["id"]
    ids["owner"] = owner.key
    return ids


async def names(client: httpx.AsyncClient, query: str, market: dict[str, str]) -> set[str]:
    response = await client.get(f"{API}/listings?{query}&limit=100")
    assert response.status_code == 200, response.text
    found = {item["id"] for item in response.json()["items"]}
    return {name for name, listing_id in market.items() if listing_id in found}


async def test_filters(client: httpx.AsyncClient, market: dict[str, str]) -> None:
    assert await names(client, "", market) == {"ai", "robot", "solar"}
    assert await names(client, "field_code=1", market) == {"ai"}  # top-level includes its children
    assert await names(client, "field_code=2.1", market) == {"robot"}
    assert await names(client, "trl_min=7", market) == {"robot", "solar"}
    assert await names(client, "trade_mode=co_development", market) == {"robot"}
    assert await names(client, "region=44", market) == {"robot", "solar"}
    assert await names(client, "region=4403", market) == {"robot"}
    assert await names(client, "pricing_kind=range", market) == {"solar"}
    assert await names(client, "region=44&trl_min=8", market) == {"solar"}


@pytest.mark.parametrize(
    "query", ["field_code=9.9", "trl_min=0", "trl_min=10", "trade_mode=gift", "region=4x", "cursor=%%%"]
)
async def test_bad_filters_are_400(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{API}/listings?{query}")
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_paging_follows_next_cursor(client: httpx.AsyncClient, market: dict[str, str]) -> None:
    seen: list[str] = []
    url = f"{API}/listings?limit=1&region=44"
    while True:
        page = (await client.get(url)).json()
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"{API}/listings?limit=1&region=44&cursor={page['next_cursor']}"
    assert seen == [market["solar"], market["robot"]]  # newest published first


async def test_own_list_shows_every_state(client: httpx.AsyncClient, market: dict[str, str], factory: Factory) -> None:
    headers = {"Authorization": f"Bearer {market['owner']}"}
    mine = await client.get(f"{API}/organizations/me/listings?limit=100", headers=headers)
    assert {i["id"] for i in mine.json()["items"]} == {market[n] for n in ("ai", "robot", "solar", "draft")}
    drafts = await client.get(f"{API}/organizations/me/listings?status=draft", headers=headers)
    assert [i["id"] for i in drafts.json()["items"]] == [market["draft"]]
    other = await factory.actor(kind=OrganizationKind.enterprise)
    theirs = await client.get(f"{API}/organizations/me/listings", headers=other.headers)
    assert theirs.json()["items"] == []


async def test_watchlist(client: httpx.AsyncClient, market: dict[str, str], factory: Factory) -> None:
    buyer: Actor = await factory.actor(kind=OrganizationKind.enterprise, role=Role.viewer)
    for name in ("ai", "robot"):
        response = await client.put(f"{API}/listings/{market[name]}/watch", headers=buyer.headers)
        assert response.status_code == 200
        assert response.json()["listing_id"] == market[name]
    again = await client.put(f"{API}/listings/{market['ai']}/watch", headers=buyer.headers)
    assert again.status_code == 200  # idempotent
    assert (await client.put(f"{API}/listings/{market['draft']}/watch", headers=buyer.headers)).status_code == 404
    assert (await client.put(f"{API}/listings/{market['ai']}/watch")).status_code == 401

    listed = await client.get(f"{API}/users/me/watchlist", headers=buyer.headers)
    assert [i["listing"]["id"] for i in listed.json()["items"]] == [market["robot"], market["ai"]]

    # A withdrawn listing drops out of other people's watchlists.
    owner_headers = {"Authorization": f"Bearer {market['owner']}"}
    current = await client.get(f"{API}/listings/{market['robot']}", headers=owner_headers)
    await client.post(
        f"{API}/listings/{market['robot']}/withdraw", headers={**owner_headers, "If-Match": current.headers["ETag"]}
    )
    listed = await client.get(f"{API}/users/me/watchlist", headers=buyer.headers)
    assert [i["listing"]["id"] for i in listed.json()["items"]] == [market["ai"]]

    removed = await client.delete(f"{API}/listings/{market['ai']}/watch", headers=buyer.headers)
    assert removed.status_code == 200
    assert removed.json() == {"listing_id": market["ai"], "watching": False}
    assert (await client.delete(f"{API}/listings/{market['ai']}/watch", headers=buyer.headers)).status_code == 200
    assert (await client.get(f"{API}/users/me/watchlist", headers=buyer.headers)).json()["items"] == []


async def test_platform_queue(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    created = await create_listing(client, owner)
    await transition(client, owner, f"/listings/{created.json()['id']}/submit", etag=created.headers["ETag"])
    queue = await client.get(f"{API}/platform/listings?limit=100", headers=platform.headers)
    assert created.json()["id"] in [i["id"] for i in queue.json()["items"]]
    drafts = await client.get(f"{API}/platform/listings?status=draft&limit=100", headers=platform.headers)
    assert created.json()["id"] not in [i["id"] for i in drafts.json()["items"]]
    assert (await client.get(f"{API}/platform/listings", headers=owner.headers)).status_code == 403
