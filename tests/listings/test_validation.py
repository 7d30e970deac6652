"""Every listing rule, each with a rejected and an accepted case, and errors naming the field by JSON pointer."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind
from tests.catalogue import API, create_listing, if_match, listing_payload, patent_number, wrong_check_digit
from tests.factories import Actor, Factory


@pytest.fixture
async def owner(factory: Factory) -> Actor:
    return await factory.actor(kind=OrganizationKind.institute)


async def post(client: httpx.AsyncClient, owner: Actor, **overrides: Any) -> httpx.Response:
    return await client.post(f"{API}/listings", json=listing_payload(**overrides), headers=owner.headers)


def pointers(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e.get("pointer") for e in response.json()["errors"]]


def detail_at(response: httpx.Response, pointer: str) -> str:
    return next(e["detail"] for e in response.json()["errors"] if e.get("pointer") == pointer)


async def test_field_codes_are_checked_against_the_classification(client: httpx.AsyncClient, owner: Actor) -> None:
    bad = await post(client, owner, field_codes=["6.3", "6.9"])
    assert pointers(bad) == ["/field_codes/1"]
    assert "unknown field code '6.9'" in detail_at(bad, "/field_codes/1")
    assert pointers(await post(client, owner, field_codes=[])) == ["/field_codes"]
    good = await post(client, owner, field_codes=["1", "1.5", "1.5"])
    assert good.status_code == 201
    assert good.json()["field_codes"] == ["1", "1.5"]  # repeats dropped


async def test_region_codes_are_checked(client: httpx.AsyncClient, owner: Actor) -> None:
    assert pointers(await post(client, owner, region_code="449900")) == ["/region_code"]
    assert pointers(await post(client, owner, region_code="abc")) == ["/region_code"]
    good = await post(client, owner, region_code="440305")  # a county-level code under Shenzhen
    assert good.status_code == 201
    assert good.json()["region_name"] == "广东省深圳市"


async def test_patent_check_digit_is_checked_and_names_the_expected_digit(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    number, right = wrong_check_digit(patent_number())
    assets = [
        {"type": "software_copyright", "number": "2019SR0123456"},
        {"type": "invention_patent", "number": number, "legal_status": "granted"},
    ]
    bad = await post(client, owner, ip_assets=assets)
    assert pointers(bad) == ["/ip_assets/1/number"]
    assert f"check digit should be {right}" in detail_at(bad, "/ip_assets/1/number")


async def test_patent_numbers_are_stored_normalised(client: httpx.AsyncClient, owner: Actor) -> None:
    number = patent_number()
    digits, check = number[2:].split(".")
    spaced = f"CN {digits[:4]} {digits[4]} {digits[5:]}.{check}"
    full_width = spaced.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    good = await post(client, owner, ip_assets=[{"type": "invention_patent", "number": full_width}])
    assert good.status_code == 201, good.text
    assert good.json()["ip_assets"][0]["number"] == number


async def test_patent_number_must_match_its_type(client: httpx.AsyncClient, owner: Actor) -> None:
    utility = patent_number(kind="2")
    bad = await post(client, owner, ip_assets=[{"type": "invention_patent", "number": utility}])
    assert pointers(bad) == ["/ip_assets/0/number"]
    assert "utility model" in detail_at(bad, "/ip_assets/0/number")
    good = await post(client, owner, ip_assets=[{"type": "utility_model", "number": utility}])
    assert good.status_code == 201


async def test_ip_asset_numbers_required_except_know_how(client: httpx.AsyncClient, owner: Actor) -> None:
    bad = await post(client, owner, ip_assets=[{"type": "software_copyright"}])
    assert pointers(bad) == ["/ip_assets/0/number"]
    good = await post(client, owner, ip_assets=[{"type": "know_how", "title": "工艺诀窍"}])
    assert good.status_code == 201


async def test_ip_asset_dates_are_in_order(client: httpx.AsyncClient, owner: Actor) -> None:
    asset = {"type": "know_how", "filing_date": "2020-01-01", "grant_date": "2019-01-01"}
    assert pointers(await post(client, owner, ip_assets=[asset])) == ["/ip_assets/0/grant_date"]
    asset = {**asset, "grant_date": "2021-01-01", "expiry_date": "2041-01-01"}
    assert (await post(client, owner, ip_assets=[asset])).status_code == 201


async def test_same_patent_twice_in_one_listing_is_rejected(client: httpx.AsyncClient, owner: Actor) -> None:
    number = patent_number()
    assets = [{"type": "invention_patent", "number": number}] * 2
    assert pointers(await post(client, owner, ip_assets=assets)) == ["/ip_assets"]


@pytest.mark.parametrize("trl", [0, 10, -1])
async def test_trl_outside_1_to_9_is_rejected(client: httpx.AsyncClient, owner: Actor, trl: int) -> None:
    assert pointers(await post(client, owner, trl=trl)) == ["/trl"]


@pytest.mark.parametrize("trl", [1, 9])
async def test_trl_bounds_are_accepted(client: httpx.AsyncClient, owner: Actor, trl: int) -> None:
    response = await post(client, owner, trl=trl)
    assert response.status_code == 201
    assert response.json()["trl"] == trl


@pytest.mark.parametrize(
    ("pricing", "pointer"),
    [
        ({"kind": "fixed"}, "/pricing/price_fen"),
        ({"kind": "fixed", "price_fen": 0}, "/pricing/price_fen"),
        ({"kind": "fixed", "price_fen": 100, "min_fen": 50}, "/pricing/min_fen"),
        ({"kind": "range", "min_fen": 500, "max_fen": 100}, "/pricing/max_fen"),
        ({"kind": "range", "min_fen": 500}, "/pricing/max_fen"),
        ({"kind": "negotiable", "price_fen": 100}, "/pricing/price_fen"),
        ({"kind": "auction", "start_price_fen": 1000, "increment_fen": 0}, "/pricing/increment_fen"),
        ({"kind": "auction", "start_price_fen": 1000, "increment_fen": 10, "reserve_fen": 999}, "/pricing/reserve_fen"),
        ({"kind": "auction", "start_price_fen": 1000, "increment_fen": 10, "deposit_fen": -1}, "/pricing/deposit_fen"),
        ({"kind": "auction", "increment_fen": 10}, "/pricing/start_price_fen"),
        ({"kind": "barter"}, "/pricing/kind"),
        ({"kind": "fixed", "price_fen": 1.5}, "/pricing/price_fen"),
    ],
)
async def test_inconsistent_pricing_is_rejected_with_a_pointer(
    client: httpx.AsyncClient, owner: Actor, pricing: dict[str, Any], pointer: str
) -> None:
    assert pointer in pointers(await post(client, owner, pricing=pricing))


@pytest.mark.parametrize(
    "pricing",
    [
        {"kind": "fixed", "price_fen": 1},
        {"kind": "range", "min_fen": 500, "max_fen": 500},
        {"kind": "range", "min_fen": 0, "max_fen": 100},
        {"kind": "negotiable"},
        {"kind": "auction", "start_price_fen": 1000, "increment_fen": 10, "reserve_fen": 1000, "deposit_fen": 0},
        {"kind": "auction", "start_price_fen": 1000, "increment_fen": 10},
    ],
)
async def test_consistent_pricing_is_accepted(client: httpx.AsyncClient, owner: Actor, pricing: dict[str, Any]) -> None:
    response = await post(client, owner, pricing=pricing)
    assert response.status_code == 201, response.text
    assert response.json()["pricing"]["kind"] == pricing["kind"]


async def test_auction_deposit_defaults_to_zero(client: httpx.AsyncClient, owner: Actor) -> None:
    response = await post(client, owner, pricing={"kind": "auction", "start_price_fen": 1000, "increment_fen": 10})
    assert response.json()["pricing"]["deposit_fen"] == 0


async def test_trade_modes_keywords_and_title(client: httpx.AsyncClient, owner: Actor) -> None:
    assert pointers(await post(client, owner, trade_modes=[])) == ["/trade_modes"]
    assert pointers(await post(client, owner, trade_modes=["gift"])) == ["/trade_modes/0"]
    assert pointers(await post(client, owner, keywords=[f"k{i}" for i in range(11)])) == ["/keywords"]
    assert (await post(client, owner, keywords=[f"k{i}" for i in range(10)])).status_code == 201
    assert pointers(await post(client, owner, title_zh="")) == ["/title_zh"]
    body = listing_payload()
    del body["title_zh"]
    missing = await client.post(f"{API}/listings", json=body, headers=owner.headers)
    assert pointers(missing) == ["/title_zh"]
    assert pointers(await post(client, owner, achievement_type="marketing")) == ["/achievement_type"]
    assert pointers(await post(client, owner, contact_email="not-mail")) == ["/contact_email"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("status", "published"),
        ("organization_id", "00000000-0000-7000-8000-000000000000"),
        ("version", 7),
        ("nda_version", 3),
        ("published_at", "2024-01-01T00:00:00Z"),
    ],
)
async def test_server_managed_fields_cannot_be_assigned(
    client: httpx.AsyncClient, owner: Actor, name: str, value: Any
) -> None:
    assert pointers(await post(client, owner, **{name: value})) == [f"/{name}"]


async def test_patch_validates_the_same_way_and_rejects_nulls_for_required_fields(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    created = await create_listing(client, owner)
    url = f"{API}/listings/{created.json()['id']}"
    headers = {**owner.headers, **if_match(created)}
    for body, pointer in (
        ({"title_zh": None}, "/title_zh"),
        ({"pricing": None}, "/pricing"),
        ({"trl": 12}, "/trl"),
        ({"pricing": {"kind": "range", "min_fen": 9, "max_fen": 1}}, "/pricing/max_fen"),
        ({"region_code": "000000"}, "/region_code"),
        ({"status": "published"}, "/status"),
    ):
        response = await client.patch(url, json=body, headers=headers)
        assert pointers(response) == [pointer], body
    ok = await client.patch(url, json={"pricing": {"kind": "negotiable"}, "title_en": None}, headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["pricing"]["kind"] == "negotiable"
    assert ok.json()["pricing"]["price_fen"] is None
    assert ok.json()["title_en"] is None
    assert ok.json()["version"] == 2


async def test_organisation_kinds_that_cannot_hold_listings(client: httpx.AsyncClient, factory: Factory) -> None:
    for kind in (OrganizationKind.broker_agency, OrganizationKind.platform):
        actor = await factory.actor(kind=kind)
        response = await client.post(f"{API}/listings", json=listing_payload(), headers=actor.headers)
        assert response.status_code == 403
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    assert (await client.post(f"{API}/listings", json=listing_payload(), headers=enterprise.headers)).status_code == 201
