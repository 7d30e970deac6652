"""Every deal route for every kind of caller: the parties, brokers in and out of scope, the platform, others."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace.accounts.models import Role
from tests.catalogue import API
from tests.deals.conftest import World, offer_body
from tests.factories import Actor

READS = ["", "/offers", "/messages", "/contract", "/contract/registration", "/contract/registration?format=csv"]


async def cast(world: World) -> tuple[dict[str, Any], dict[str, Actor | None]]:
    deal = await world.contracting()
    await world.appoint(world.buyer, deal["id"], world.broker, ["message", "confirm_contract"])
    callers: dict[str, Actor | None] = {
        "buyer": world.buyer,
        "seller": world.seller,
        "buyer_viewer": await world.factory.actor(world.buyer.organization, role=Role.viewer),
        "broker": world.broker,
        "agency_colleague": await world.factory.actor(world.broker.organization, role=Role.member),
        "platform": world.platform,
        "other_org": world.outsider,
        "other_broker": world.seller_broker,
        "anonymous": None,
    }
    return deal, callers


READ_EXPECTED = {
    "buyer": 200,
    "seller": 200,
    "buyer_viewer": 200,
    "broker": 200,
    "agency_colleague": 200,
    "platform": 200,
    "other_org": 404,
    "other_broker": 404,
    "anonymous": 401,
}
# POST /messages and POST /offers (make_offer does not fire in contracting, so parties get 409 there).
WRITE_EXPECTED = {
    "buyer": (201, 409),
    "seller": (201, 409),
    "buyer_viewer": (403, 403),
    "broker": (201, 403),  # message is in the broker's scope, make_offer is not
    "agency_colleague": (403, 403),
    "platform": (403, 403),
    "other_org": (404, 404),
    "other_broker": (404, 404),
    "anonymous": (401, 401),
}


@pytest.mark.parametrize("who", list(READ_EXPECTED))
async def test_deal_routes_by_caller(world: World, who: str) -> None:
    deal, callers = await cast(world)
    caller = callers[who]
    headers = caller.headers if caller else {}
    for path in READS:
        response = await world.client.get(f"{API}/deals/{deal['id']}{path}", headers=headers)
        assert response.status_code == READ_EXPECTED[who], (path, response.text)
    message = await world.client.post(f"{API}/deals/{deal['id']}/messages", json={"body": "您好"}, headers=headers)
    offer = await world.client.post(
        f"{API}/deals/{deal['id']}/offers", json={**offer_body(), "version": 99}, headers=headers
    )
    assert (message.status_code, offer.status_code) == WRITE_EXPECTED[who], (message.text, offer.text)
    fire = await world.client.post(
        f"{API}/deals/{deal['id']}/transitions/confirm_contract", json={"version": 99}, headers=headers
    )
    expected_fire = {"buyer": 409, "seller": 409, "broker": 409, "platform": 403, "agency_colleague": 403}
    assert fire.status_code == expected_fire.get(who, WRITE_EXPECTED[who][1]), fire.text
    listed = await world.client.get(f"{API}/deals", headers=headers)
    if caller is None:
        assert listed.status_code == 401
    else:
        ids = [d["id"] for d in listed.json()["items"]]
        assert (deal["id"] in ids) == (READ_EXPECTED[who] == 200)


async def test_public_routes(world: World) -> None:
    deal = await world.in_notice()
    notice_id = deal["notice"]["id"]
    for path in ("/public-notices", f"/public-notices/{notice_id}", "/auctions", "/deal-process"):
        assert (await world.client.get(f"{API}{path}")).status_code == 200, path
    assert (await world.client.get(f"{API}/public-notices/{deal['id']}")).status_code == 404
    assert (await world.client.get(f"{API}/auctions/{deal['id']}")).status_code == 404
    assert (await world.client.get(f"{API}/deals/{deal['id']}")).status_code == 401
    by_state = await world.client.get(f"{API}/deals", params={"state": "public_notice"}, headers=world.buyer.headers)
    assert [d["id"] for d in by_state.json()["items"]] == [deal["id"]]
    none = await world.client.get(f"{API}/deals", params={"state": "completed"}, headers=world.buyer.headers)
    assert none.json()["items"] == []
    bad = await world.client.get(f"{API}/deals", params={"state": "nonsense"}, headers=world.buyer.headers)
    assert bad.status_code == 400


async def test_list_paging(world: World) -> None:
    ids = [(await world.open(await world.listing()))["id"] for _ in range(3)]
    first = (await world.client.get(f"{API}/deals", params={"limit": 2}, headers=world.buyer.headers)).json()
    second = (
        await world.client.get(
            f"{API}/deals", params={"limit": 2, "cursor": first["next_cursor"]}, headers=world.buyer.headers
        )
    ).json()
    assert [d["id"] for d in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
