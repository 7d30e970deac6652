"""The contract record both parties confirm, and its technology-contract registration (技术合同认定登记) export."""

from __future__ import annotations

import csv
import io

from tests.catalogue import API
from tests.deals.conftest import World, offer_body


async def test_the_contract_record_and_its_registration_data(world: World) -> None:
    deal = await world.negotiating()
    extras = [{"description": "中试设备一套", "amount_fen": 5_000_000}]
    licence = offer_body(
        40_000_000,
        mode="exclusive_licence",
        parts=(10_000_000, 30_000_000),
        territory="中国大陆",
        term_months=60,
        licence_scope="光伏组件的制造与销售，不得分许可",
        non_technology_items=extras,
    )
    deal = await world.ok(world.buyer, deal["id"], "make_offer", licence)
    deal = await world.ok(world.seller, deal["id"], "accept_offer", {"offer_id": deal["open_offer"]["id"]})
    contract = deal["contract"]
    assert contract["contract_type"] == "licence" and contract["contract_type_label"] == "技术许可"
    assert contract["amount_fen"] == 40_000_000 and contract["technology_fen"] == 35_000_000
    assert contract["term_months"] == 60 and contract["territory"] == "中国大陆"
    assert contract["buyer_credit_code"] == world.buyer.organization.credit_code
    assert contract["seller_credit_code"] == world.seller.organization.credit_code
    assert contract["buyer_confirmed_at"] is None and contract["seller_confirmed_at"] is None
    same = (await world.client.get(f"{API}/deals/{deal['id']}/contract", headers=world.seller.headers)).json()
    assert same == contract

    await world.ok(world.seller, deal["id"], "confirm_contract")
    twice = await world.fire(world.seller, deal["id"], "confirm_contract")
    assert twice.status_code == 409 and twice.json()["blocked_by"] == ["side_not_confirmed"]
    performing = await world.ok(world.buyer, deal["id"], "confirm_contract")
    assert performing["state"] == "performing"

    url = f"{API}/deals/{deal['id']}/contract/registration"
    data = (await world.client.get(url, headers=world.buyer.headers)).json()
    assert data["contract_type_label"] == "技术许可"
    assert data["amount_yuan"] == "400000.00" and data["technology_yuan"] == "350000.00"
    assert data["buyer_name"] == world.buyer.organization.name_zh and data["signed_on"]
    exported = await world.client.get(url, params={"format": "csv"}, headers=world.seller.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    text = exported.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 1
    assert rows[0]["technology_fen"] == "35000000" and rows[0]["contract_type"] == "licence"
    assert rows[0]["seller_credit_code"] == world.seller.organization.credit_code
    bad = await world.client.get(url, params={"format": "xml"}, headers=world.seller.headers)
    assert bad.status_code == 400
    assert (await world.client.get(url, headers=world.outsider.headers)).status_code == 404


async def test_contract_types_follow_the_trade_mode(world: World) -> None:
    listing_id = await world.listing(trade_modes=["co_development", "technical_service"])
    deal = await world.negotiating(listing_id)
    deal = await world.ok(world.buyer, deal["id"], "make_offer", offer_body(mode="co_development"))
    deal = await world.ok(world.seller, deal["id"], "accept_offer", {"offer_id": deal["open_offer"]["id"]})
    assert deal["contract"]["contract_type"] == "development"
    assert deal["contract"]["technology_fen"] == deal["contract"]["amount_fen"]


async def test_no_contract_before_contracting(world: World) -> None:
    deal = await world.negotiating()
    for path in ("contract", "contract/registration"):
        response = await world.client.get(f"{API}/deals/{deal['id']}/{path}", headers=world.buyer.headers)
        assert response.status_code == 404
