"""Report figures against hand-computed values on the seeded data set, CSV shape, parameters and access."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind
from tests.factories import Factory
from tests.reports.conftest import PERIOD, Seeded

API = "/api/v1/reports"
ROUTES = ("catalogue", "deals", "contract-registrations")


async def _get(client: httpx.AsyncClient, seeded: Seeded, route: str, **params: str) -> httpx.Response:
    response = await client.get(f"{API}/{route}", params={**PERIOD, **params}, headers=seeded.platform.headers)
    assert response.status_code == 200, response.text
    return response


def _counts(items: list[dict[str, object]]) -> dict[object, tuple[object, object]]:
    return {i["code"]: (i["listings"], i["demands"]) for i in items}


async def test_catalogue_figures(client: httpx.AsyncClient, seeded: Seeded) -> None:
    body = (await _get(client, seeded, "catalogue")).json()
    assert body["period"] == {"from_date": "2019-03-01", "to_date": "2019-05-31"}
    assert (body["listings"], body["demands"]) == (4, 2)
    assert _counts(body["by_field"]) == {"1": (1, 0), "2": (1, 1), "4": (1, 0), "6": (2, 1)}
    assert {i["code"]: i["name_zh"] for i in body["by_field"]}["6"] == "新能源产业"
    assert _counts(body["by_region"]) == {"110000": (1, 0), "420000": (1, 0), "440000": (2, 1), "": (0, 1)}
    assert {i["code"]: i["name_zh"] for i in body["by_region"]}["440000"] == "广东省"
    assert [(i["code"], i["listings"], i["demands"]) for i in body["by_month"]] == [
        ("2019-03", 3, 1),
        ("2019-04", 1, 1),
        ("2019-05", 0, 0),
    ]


async def test_deals_figures(client: httpx.AsyncClient, seeded: Seeded) -> None:
    body = (await _get(client, seeded, "deals")).json()
    months = {m["month"]: m for m in body["by_month"]}
    keys = ("opened", "agreed", "completed", "cancelled", "contracts", "amount_fen", "technology_fen")
    assert [tuple(months[m][k] for k in keys) for m in ("2019-03", "2019-04", "2019-05")] == [
        (1, 1, 0, 0, 1, 1_000_000, 800_000),
        (2, 1, 1, 0, 1, 3_000_000, 3_000_000),
        (1, 1, 1, 1, 1, 650_000, 600_000),
    ]
    assert tuple(body["totals"][k] for k in keys) == (4, 3, 2, 1, 3, 4_650_000, 4_400_000)

    def rows(name: str) -> list[tuple[str, int, int, int]]:
        return [(v["code"], v["contracts"], v["amount_fen"], v["technology_fen"]) for v in body[name]]

    assert rows("value_by_field") == [
        ("2", 1, 3_000_000, 3_000_000),
        ("6", 1, 1_000_000, 800_000),
        ("1", 1, 650_000, 600_000),
    ]
    assert rows("value_by_region") == [("440000", 2, 3_650_000, 3_600_000), ("420000", 1, 1_000_000, 800_000)]
    assert rows("value_by_trade_mode") == [
        ("exclusive_licence", 1, 3_000_000, 3_000_000),
        ("transfer", 2, 1_650_000, 1_400_000),
    ]
    # Days from publication to agreement: 10, 22 and 35.
    assert (body["median_days_to_agreement"], body["agreements_measured"]) == (22.0, 3)
    assert [(i["organization_id"], i["deals"], i["amount_fen"]) for i in body["top_institutes"]] == [
        (str(seeded.institute_a.organization.id), 1, 1_000_000),
        (str(seeded.institute_b.organization.id), 1, 650_000),
    ]
    assert [
        (a["status"], a["start_price_fen"], a["final_price_fen"], a["bids"], a["premium_bps"]) for a in body["auctions"]
    ] == [
        ("closed", 500_000, 650_000, 2, 3000),
        ("unsold", 300_000, None, 0, None),
    ]
    assert body["auction_summary"] == {
        "ended": 2, "sold": 1, "unsold": 1, "start_price_fen": 500_000, "final_price_fen": 650_000
    }  # fmt: skip
    assert body["notes"]


async def test_contract_registrations(client: httpx.AsyncClient, seeded: Seeded) -> None:
    body = (await _get(client, seeded, "contract-registrations")).json()
    assert [i["deal_id"] for i in body["items"]] == [str(seeded.deals["X1"]), str(seeded.deals["X4"])]
    first = body["items"][0]
    assert first["contract_type"] == "transfer" and first["contract_type_zh"] == "技术转让"
    assert first["seller_credit_code"] == seeded.institute_a.organization.credit_code
    assert first["buyer_credit_code"] == seeded.enterprise.organization.credit_code
    assert (first["amount_fen"], first["technology_fen"], first["term_months"]) == (1_000_000, 800_000, 12)
    assert first["signed_at"].startswith("2019-03-26")
    assert (body["amount_fen"], body["technology_fen"]) == (1_650_000, 1_400_000)


def _parse_csv(response: httpx.Response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


async def test_csv_shapes(client: httpx.AsyncClient, seeded: Seeded) -> None:
    catalogue = _parse_csv(await _get(client, seeded, "catalogue", format="csv"))
    assert catalogue[0] == ["section", "code", "name_zh", "metric", "value"]
    assert ["total", "", "", "listings", "4"] in catalogue
    assert ["field", "6", "新能源产业", "listings", "2"] in catalogue
    assert all(len(r) == 5 for r in catalogue)

    deals = _parse_csv(await _get(client, seeded, "deals", format="csv"))
    assert ["month", "2019-04", "2019-04", "amount_fen", "3000000"] in deals
    assert ["agreement", "", "", "median_days", "22.0"] in deals
    assert all(len(r) == 5 for r in deals)

    registrations = _parse_csv(await _get(client, seeded, "contract-registrations", format="csv"))
    assert len(registrations) == 3 and {len(r) for r in registrations} == {17}
    header, first = registrations[0], dict(zip(registrations[0], registrations[1], strict=True))
    assert "技术交易额_分" in header
    assert (first["合同类型"], first["成交额_元"], first["技术交易额_元"]) == ("技术转让", "10000.00", "8000.00")
    assert first["卖方统一社会信用代码"] == seeded.institute_a.organization.credit_code


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"from": "2019-3-1"}, "from"),
        ({"to": "2019-02-30"}, "to"),
        ({"from": "2019-06-01", "to": "2019-05-31"}, "from"),
        ({"from": "1990-01-01", "to": "2019-05-31"}, "from"),
        ({"format": "xlsx"}, "format"),
    ],
)
async def test_bad_parameters_are_named(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, str], parameter: str
) -> None:
    platform = await factory.actor(kind=OrganizationKind.platform)
    for route in ROUTES:
        response = await client.get(f"{API}/{route}", params=params, headers=platform.headers)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["parameter"] == parameter


async def test_defaults_to_the_last_twelve_months(client: httpx.AsyncClient, factory: Factory) -> None:
    platform = await factory.actor(kind=OrganizationKind.platform)
    body = (await client.get(f"{API}/deals", headers=platform.headers)).json()
    assert len(body["by_month"]) == 12


async def test_only_the_platform_may_read_reports(client: httpx.AsyncClient, factory: Factory) -> None:
    institute = await factory.actor(kind=OrganizationKind.institute)
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    for route in ROUTES:
        assert (await client.get(f"{API}/{route}")).status_code == 401
        for actor in (institute, enterprise):
            assert (await client.get(f"{API}/{route}", headers=actor.headers)).status_code == 403
