"""Fee quote and schedule routes: the arithmetic shown, versions published by the platform only."""

from __future__ import annotations

import httpx

from marketplace.accounts.models import OrganizationKind, Role
from tests.factories import Factory

API = "/api/v1"


async def test_quote_shows_each_band_minimums_and_totals(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/fee-quote", params={"amount_fen": 500_000_001, "mode": "transfer"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schedule_version"] >= 1 and body["mode"] == "transfer"
    assert [b["portion_fen"] for b in body["seller"]["bands"]] == [500_000_000, 1]
    assert body["seller"]["bands"][1]["fee_exact_fen"] == "1/250"
    assert body["seller"]["banded_exact_fen"] == "625000001/250"
    assert body["seller"]["fee_fen"] == 2_500_000 and body["buyer"]["fee_fen"] == 7_500_000
    assert body["buyer_pays_fen"] == 500_000_001 + 7_500_000
    assert body["platform_earns_fen"] == 10_000_000
    assert body["broker_commission_fen"] == 5_000_000


async def test_quote_of_one_yuan_applies_minimums(client: httpx.AsyncClient) -> None:
    body = (await client.get(f"{API}/fee-quote", params={"amount_fen": 100, "version": 1})).json()
    assert body["seller"]["minimum_applied"] and body["buyer"]["minimum_applied"]
    assert body["seller"]["fee_fen"] == body["buyer"]["fee_fen"] == 200_000
    assert body["schedule_version"] == 1


async def test_quote_rejects_bad_input_by_field(client: httpx.AsyncClient) -> None:
    for params in ({"amount_fen": 0}, {"amount_fen": "x"}, {}):
        response = await client.get(f"{API}/fee-quote", params=params)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")
    missing = await client.get(f"{API}/fee-quote", params={"amount_fen": 100, "version": 9999})
    assert missing.status_code == 404
    # beyond the column's integer range: a 400 naming the parameter, not a driver overflow (found by fuzzing)
    huge = await client.get(f"{API}/fee-quote", params={"amount_fen": 100, "version": 57737006785281568})
    assert huge.status_code == 400, huge.text
    assert "version" in huge.text


async def test_platform_publishes_a_version_and_quotes_follow_it(client: httpx.AsyncClient, factory: Factory) -> None:
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    member = await factory.actor(kind=OrganizationKind.enterprise, role=Role.owner)
    body = {
        "bands": [
            {"up_to_fen": 100_000_000, "seller_rate": "1", "buyer_rate": "2"},
            {"up_to_fen": None, "seller_rate": "0.25", "buyer_rate": "0.5"},
        ],
        "seller_min_fen": 1_000,
        "buyer_min_fen": 1_000,
        "seller_cap_fen": 5_000_000,
        "deposit_forfeit_to": "platform",
    }
    denied = await client.post(f"{API}/fee-schedules", json=body, headers=member.headers)
    assert denied.status_code == 403
    created = await client.post(f"{API}/fee-schedules", json=body, headers=platform.headers)
    assert created.status_code == 201, created.text
    version = created.json()["version"]
    listed = (await client.get(f"{API}/fee-schedules")).json()["items"]
    assert listed[0]["version"] == version and listed[-1]["version"] == 1
    quote = (await client.get(f"{API}/fee-quote", params={"amount_fen": 200_000_000})).json()
    assert quote["schedule_version"] == version
    assert quote["seller"]["fee_fen"] == 1_000_000 + 250_000
    old = (await client.get(f"{API}/fee-quote", params={"amount_fen": 200_000_000, "version": 1})).json()
    assert old["seller"]["fee_fen"] == 1_000_000


async def test_invalid_schedules_name_the_field(client: httpx.AsyncClient, factory: Factory) -> None:
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.admin)
    open_ended_first = {
        "bands": [
            {"up_to_fen": None, "seller_rate": "1", "buyer_rate": "2"},
            {"up_to_fen": 10, "seller_rate": "1", "buyer_rate": "2"},
        ]
    }
    response = await client.post(f"{API}/fee-schedules", json=open_ended_first, headers=platform.headers)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["pointer"] == "/bands"
    cap_below_min = {
        "bands": [{"up_to_fen": None, "seller_rate": "1", "buyer_rate": "1"}],
        "seller_min_fen": 500,
        "seller_cap_fen": 100,
    }
    response = await client.post(f"{API}/fee-schedules", json=cap_below_min, headers=platform.headers)
    assert response.status_code == 422 and response.json()["errors"][0]["pointer"] == "/seller_cap_fen"
    bad_rate = {"bands": [{"up_to_fen": None, "seller_rate": "abc", "buyer_rate": "1"}]}
    response = await client.post(f"{API}/fee-schedules", json=bad_rate, headers=platform.headers)
    assert response.status_code in (400, 422)
