"""The search routes, end to end: catalogue changes reach the index through the outbox, bad input is a 422."""

from __future__ import annotations

import random
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.search_api import tasks
from marketplace.search_api.schemas import DemandSearchPage, ListingSearchPage
from search.engine import get_search_engine
from search.text import normalize
from tests.catalogue import API, create_demand, create_listing, published_listing, transition
from tests.factories import Actor, Factory

SEARCH_KINDS = frozenset({tasks.LISTING_KIND, tasks.DEMAND_KIND, tasks.ORGANIZATION_KIND})


async def index_pending(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Run the outbox and the search jobs, as the worker would."""
    return await Worker(sessionmaker, WorkerConfig(kinds=SEARCH_KINDS)).run_until_idle()


# Rare simplified characters that traditional-to-simplified conversion leaves alone; a random draw from the
# whole CJK block sometimes hit a traditional form (並 → 并) and moved the highlight's edge.
_RARE = "甪甬甭甯畀畈畋畎畛畦畲疃疋疍疒疔疖疠疝疬疰疳疴疸疽痂痃痄痍痖痦痧痨痫痼瘃瘅瘊瘌瘐瘕瘗瘘瘙瘛瘢瘥瘰瘳瘵瘼瘿癀癃癍"


def marker() -> str:
    """A word no other test's listing contains (three different characters: a doubled one, 瘼瘼, is one
    query term, and the tests compare the terms with the word)."""
    return "独" + "".join(random.SystemRandom().sample(_RARE, 3))


@pytest.fixture
async def people(factory: Factory) -> dict[str, Actor]:
    owner = await factory.actor(kind=OrganizationKind.institute)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    return {"owner": owner, "platform": platform, "enterprise": enterprise}


async def search(client: httpx.AsyncClient, what: str = "listings", **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/search/{what}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_published_listings_are_found_and_others_are_not(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    published = await published_listing(
        client, people["owner"], people["platform"], title_zh=f"{word}锂离子电池正极材料", keywords=["正极材料"]
    )
    await create_listing(client, people["owner"], title_zh=f"{word}锂离子电池草稿")
    assert await index_pending(sessionmaker) > 0
    found = await search(client, q=word, facets="all")
    assert [item["id"] for item in found["items"]] == [published.json()["id"]]
    hit = found["items"][0]
    assert hit["title_zh"].startswith(word)
    assert hit["highlights"]["title"].startswith(f"<mark>{word}")
    assert hit["holder"] == {"id": str(people["owner"].organization.id), "name": people["owner"].organization.name_zh}
    assert hit["price"] == {"min_fen": 50_000_000, "max_fen": 50_000_000, "currency": "CNY"}
    assert hit["ip_types"] == ["invention_patent"] and hit["holder_state_funded"] is True
    assert found["total"] == 1 and found["next_cursor"] is None
    assert found["facets"]["field_codes"] == [{"value": "6", "count": 1}, {"value": "6.3", "count": 1}]
    assert found["facets"]["price"] == {"min_fen": 50_000_000, "max_fen": 50_000_000}
    assert "".join(found["query"]["terms"]) == normalize(word)
    # traditional characters, and anonymous callers, find it too
    traditional = await search(client, q=f"{word}鋰離子電池")
    assert [item["id"] for item in traditional["items"]] == [published.json()["id"]]


async def test_confidential_text_and_contact_details_are_never_indexed(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word, secret = marker(), f"mimi{uuid.uuid4().hex[:12]}"
    await published_listing(
        client,
        people["owner"],
        people["platform"],
        title_zh=f"{word}钙钛矿电池",
        confidential_description=f"{secret}前驱体配比",
        nda_text=f"{secret}保密协议",
        contact_email="secret-contact@example.edu.cn",
    )
    await index_pending(sessionmaker)
    assert (await search(client, q=word))["total"] == 1
    assert (await search(client, q=secret))["total"] == 0
    assert (await search(client, q="secret-contact"))["total"] == 0


async def test_withdrawn_listings_leave_the_index(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    approved = await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}石墨烯导热膜")
    await index_pending(sessionmaker)
    assert (await search(client, q=word))["total"] == 1
    listing_id = approved.json()["id"]
    withdrawn = await transition(
        client, people["owner"], f"/listings/{listing_id}/withdraw", etag=approved.headers["ETag"]
    )
    assert withdrawn.status_code == 200, withdrawn.text
    await index_pending(sessionmaker)
    assert (await search(client, q=word))["total"] == 0


async def test_open_demands_are_searchable_until_closed(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    created = await create_demand(client, people["enterprise"], title=f"{word}寻求工业机器人视觉定位技术")
    await index_pending(sessionmaker)
    found = await search(client, "demands", q=f"{word} 機器人", facets="field_codes,trl")
    assert [item["id"] for item in found["items"]] == [created.json()["id"]]
    hit = found["items"][0]
    assert hit["enterprise"]["id"] == str(people["enterprise"].organization.id)
    assert hit["min_trl"] == 6 and hit["budget"]["max_fen"] == 50_000_000
    assert found["facets"]["trl"] == [{"value": "6", "count": 1}]
    demand_id = created.json()["id"]
    closed = await client.post(
        f"{API}/demands/{demand_id}/close",
        headers={**people["enterprise"].headers, "If-Match": created.headers["ETag"]},
    )
    assert closed.status_code == 200, closed.text
    await index_pending(sessionmaker)
    assert (await search(client, "demands", q=word))["total"] == 0


async def test_pages_follow_the_cursor(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    ids = set()
    for n in range(3):
        listing = await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}第{n}号成果")
        ids.add(listing.json()["id"])
    await index_pending(sessionmaker)
    first = await search(client, q=word, limit=2)
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_cursor"]
    second = await search(client, q=word, cursor=first["next_cursor"])
    assert second["page"] == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    assert {i["id"] for i in first["items"] + second["items"]} == ids
    other = await client.get(f"{API}/search/listings", params={"q": "别的", "cursor": first["next_cursor"]})
    assert other.status_code == 422 and other.json()["errors"][0]["parameter"] == "cursor"


async def test_suggestions(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    listing = await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}氢燃料电池电堆")
    await index_pending(sessionmaker)
    response = await client.get(f"{API}/search/suggest", params={"q": word})
    assert response.status_code == 200, response.text
    titles = [s for s in response.json()["items"] if s["kind"] == "title"]
    assert titles[0]["id"] == listing.json()["id"] and titles[0]["highlighted"].startswith("<mark>")
    assert (await client.get(f"{API}/search/suggest")).json() == {"items": []}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"q": "x" * 10_000}, "q"),
        ({"q": "锂电池" * 334}, "q"),
        ({"field": "99"}, "field"),
        ({"field": "1.5,7.x"}, "field"),
        ({"trade_mode": "barter"}, "trade_mode"),
        ({"ip_type": "trademark"}, "ip_type"),
        ({"region": "999999"}, "region"),
        ({"region": "4"}, "region"),
        ({"state_funded": "maybe"}, "state_funded"),
        ({"auction": "sometimes"}, "auction"),
        ({"facets": "colour"}, "facets"),
        ({"sort": "random"}, "sort"),
        ({"limit": "500"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"page": "0"}, "page"),
        ({"page": "101", "limit": "100"}, "page"),
        ({"trl_min": "12"}, "trl_min"),
        ({"trl_min": "7", "trl_max": "3"}, "trl_min"),
        ({"price_min": "-1"}, "price_min"),
        ({"price_min": "900", "price_max": "100"}, "price_min"),
        ({"holder": "not-an-id"}, "holder"),
        ({"cursor": "not a cursor"}, "cursor"),
        ({"highlight": "perhaps"}, "highlight"),
    ],
)
async def test_bad_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], parameter: str
) -> None:
    response = await client.get(f"{API}/search/listings", params=params)
    assert response.status_code == 422, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["errors"][0]["parameter"] == parameter and body["errors"][0]["in"] == "query"
    assert parameter in body["detail"]


async def test_demand_search_names_its_own_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/search/demands", params={"budget_min": "-5"})
    assert response.status_code == 422 and response.json()["errors"][0]["parameter"] == "budget_min"
    response = await client.get(f"{API}/search/demands", params={"facets": "ip_types"})
    assert response.status_code == 422 and response.json()["errors"][0]["parameter"] == "facets"
    response = await client.get(f"{API}/search/suggest", params={"q": "锂", "in": "patents"})
    assert response.status_code == 422 and response.json()["errors"][0]["parameter"] == "in"


@pytest.mark.parametrize(
    "q",
    [
        "' OR 1=1 --",
        "'; DROP TABLE listings; --",
        'trl > 3 AND (field_codes = "1" OR id IN [1, 2]) AND _geoRadius(1, 2, 3)',
        "title:锂电池 AND status != 'draft'",
        "😀🚀",
        "\u202e\u200f反转",
        "%_\\*?~^:[]{}()<>!&|",
        "",
        "   ",
    ],
)
async def test_hostile_or_odd_text_is_just_text(client: httpx.AsyncClient, q: str) -> None:
    response = await client.get(f"{API}/search/listings", params={"q": q, "facets": "all"})
    assert response.status_code == 200, response.text
    assert isinstance(response.json()["items"], list)


async def test_wrongly_typed_numbers_are_a_400_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/search/listings", params={"trl_min": "seven"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["parameter"] == "trl_min"


async def test_pages_have_the_shape_of_their_models(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """Pages are encoded straight from plain data: they must be exactly what their models would write."""
    word = marker()
    await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}钠离子电池", title_en=None)
    await create_demand(client, people["enterprise"], title=f"{word}寻求钠离子电池技术")
    await index_pending(sessionmaker)
    listings = await search(client, q=word, facets="all")
    demands = await search(client, "demands", q=word, facets="all")
    assert listings["total"] == 1 and demands["total"] == 1
    assert ListingSearchPage.model_validate(listings).model_dump(mode="json") == listings
    assert DemandSearchPage.model_validate(demands).model_dump(mode="json") == demands
    assert listings["items"][0]["published_at"].endswith("Z") or "+" in listings["items"][0]["published_at"]


async def test_a_repeated_search_is_answered_again_after_every_index_change(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    engine = get_search_engine()
    word = marker()
    first = await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}第一项成果")
    await index_pending(sessionmaker)
    assert (await search(client, q=word, facets="trl"))["total"] == 1
    hits = engine.results.hits
    assert (await search(client, q=word, facets="trl"))["total"] == 1
    assert engine.results.hits == hits + 1  # the same search, the same index: from the cache
    await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}第二项成果")
    await index_pending(sessionmaker)
    again = await search(client, q=word, facets="trl")
    assert again["total"] == 2 and first.json()["id"] in {i["id"] for i in again["items"]}
    assert again["facets"]["trl"][0]["count"] == 2


async def test_odd_text_at_the_edges_is_an_answer_not_a_500(
    client: httpx.AsyncClient, people: dict[str, Actor], sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    word = marker()
    listing = await published_listing(client, people["owner"], people["platform"], title_zh=f"{word}储能电池管理系统")
    await index_pending(sessionmaker)
    # the longest accepted query, mixed scripts, the listing's word inside
    longest = (f"{word} 储能电池 battery management 😀 " * 100)[:1000]
    found = await search(client, q=longest, facets="all")
    assert listing.json()["id"] in {i["id"] for i in found["items"]}
    # emoji next to words do not hide them
    assert [i["id"] for i in (await search(client, q=f"🔋{word}🚀"))["items"]] == [listing.json()["id"]]
    # control characters and filter syntax of both engines, on both routes: an answer
    for q in ("\x1b[31m", "\x07铃", 'field_codes = "1" OR 1=1', "_geoRadius(1,2,3) AND trl > 3"):
        for what in ("listings", "demands"):
            response = await client.get(f"{API}/search/{what}", params={"q": q, "facets": "all"})
            assert response.status_code == 200, (what, q, response.text)
        suggest = await client.get(f"{API}/search/suggest", params={"q": q})
        assert suggest.status_code == 200, (q, suggest.text)
    # NUL, which PostgreSQL cannot hold, is refused in any query string with a 400 naming it
    for q in ("\x00", f"{word}\x00储能"):
        for path in ("listings", "demands", "suggest"):
            response = await client.get(f"{API}/search/{path}", params={"q": q})
            assert response.status_code == 400, (path, q, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "NUL" in response.json()["errors"][0]["detail"]


@pytest.mark.parametrize(
    ("path", "params", "status", "parameter"),
    [
        ("demands", {"q": "x" * 10_000}, 422, "q"),
        ("suggest", {"q": "y" * 10_000}, 422, "q"),
        ("suggest", {"q": "锂", "limit": "500"}, 422, "limit"),
        ("listings", {"limit": "100000000000000000000000"}, 422, "limit"),
        ("listings", {"page": "99999999999999999999999999"}, 422, "page"),
        ("listings", {"page": "2000000000", "limit": "100"}, 422, "page"),
        ("listings", {"price_max": "ten"}, 400, "price_max"),
        ("demands", {"trade_mode": "' OR 1=1 --"}, 422, "trade_mode"),
        ("listings", {"field": "1' OR '1'='1"}, 422, "field"),
        ("listings", {"region": "44 OR 1=1"}, 422, "region"),
    ],
)
async def test_out_of_range_or_unknown_values_are_a_4xx_naming_the_parameter(
    client: httpx.AsyncClient, path: str, params: dict[str, str], status: int, parameter: str
) -> None:
    response = await client.get(f"{API}/search/{path}", params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["parameter"] == parameter
