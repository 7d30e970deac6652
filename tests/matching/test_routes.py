"""Matching routes: ranking with constraints and relax, authorisation, feedback, interest, saved searches,
broker mandates, pipeline and introductions."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.catalogue import API
from tests.matching.conftest import World, fixed, run_worker

DEMAND = {
    "title": "寻求固态电池电解质技术",
    "description": "用于动力电池中试线，希望获得可量产的固态电解质工艺。",
    "field_codes": ["5.2"],
    "budget_min_fen": None,
    "budget_max_fen": 100_000_000,
    "trade_modes": ["transfer"],
    "min_trl": 6,
    "region_code": "440300",
}


async def catalogue(world: World, sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, str]:
    ids = {
        "fits": await world.listing(
            title_zh="硫化物固态电池电解质量产工艺",
            keywords=["固态电池", "电解质"],
            field_codes=["5.2"],
            trl=7,
            trade_modes=["transfer"],
            pricing=fixed(30_000_000),
            region_code="440300",
        ),
        "too_dear": await world.listing(
            title_zh="固态电池电解质高通量制备技术",
            keywords=["固态电池", "电解质"],
            field_codes=["5.2"],
            trl=7,
            trade_modes=["transfer"],
            pricing=fixed(500_000_000),
        ),
        "too_early": await world.listing(
            title_zh="固态电池电解质薄膜",
            keywords=["固态电池"],
            field_codes=["5.2"],
            trl=4,
            trade_modes=["transfer"],
            pricing=fixed(20_000_000),
        ),
        "wrong_mode": await world.listing(
            title_zh="固态电池电解质界面改性",
            keywords=["固态电池"],
            field_codes=["5.2"],
            trl=7,
            trade_modes=["non_exclusive_licence"],
            pricing={"kind": "negotiable"},
        ),
        "other_field": await world.listing(
            title_zh="高盐工业废水零排放处理工艺",
            keywords=["废水"],
            field_codes=["7.2"],
            trl=8,
            trade_modes=["transfer"],
            pricing=fixed(30_000_000),
        ),
    }
    await run_worker(sessionmaker)
    return ids


async def test_matches_rank_the_fitting_listing_and_exclude_constraint_breakers(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    response = await world.matches(demand_id)
    assert response.status_code == 200, response.text
    body = response.json()
    found = [item["listing"]["id"] for item in body["items"]]
    assert found[0] == ids["fits"]
    assert not {ids["too_dear"], ids["too_early"], ids["wrong_mode"]} & set(found)
    top = body["items"][0]
    assert top["violations"] == [] and body["relaxed"] == []
    reasons = top["reasons"]
    assert "固态电池" in reasons["matched_terms"] or "电解质" in reasons["matched_terms"]
    assert reasons["field"] == "exact" and reasons["field_codes"] == ["5.2"]
    assert reasons["maturity"] == "meets" and reasons["trl"] == 7 and reasons["min_trl"] == 6
    assert reasons["price"] == "within" and reasons["price_floor_fen"] == 30_000_000
    assert reasons["trade_mode"] == "offered" and reasons["common_modes"] == ["transfer"]
    assert reasons["region"] == "same_city"
    assert abs(sum(top["parts"].values()) - top["score"]) < 0.05
    assert "成熟度TRL 7" in top["explanation"] and "\n" not in top["explanation"]
    assert top["listing"]["holder_name"] == world.institute.organization.name_zh


async def test_relaxed_constraints_let_breakers_in_flagged(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    budget = (await world.matches(demand_id, relax="budget")).json()
    by_id = {item["listing"]["id"]: item for item in budget["items"]}
    assert budget["relaxed"] == ["budget"]
    assert by_id[ids["too_dear"]]["violations"] == ["budget"]
    assert "超出预算上限" in by_id[ids["too_dear"]]["explanation"]
    assert ids["too_early"] not in by_id and ids["wrong_mode"] not in by_id
    everything = (await world.matches(demand_id, relax=["trl,trade_mode", "budget"])).json()
    flagged = {item["listing"]["id"]: item["violations"] for item in everything["items"]}
    assert flagged[ids["too_early"]] == ["trl"] and flagged[ids["wrong_mode"]] == ["trade_mode"]
    assert flagged[ids["fits"]] == []
    assert (await world.matches(demand_id, relax="all")).json()["relaxed"] == ["budget", "trade_mode", "trl"]
    bad = await world.matches(demand_id, relax="cheap")
    assert bad.status_code == 422 and bad.json()["errors"][0]["parameter"] == "relax"
    assert (await world.matches(demand_id, limit=0)).status_code == 400


async def test_who_sees_a_demands_matches(world: World, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    assert (await world.matches(demand_id, by=world.enterprise_viewer)).status_code == 200
    assert (await world.matches(demand_id, by=world.platform)).status_code == 200
    for outsider in (world.other_enterprise, world.institute, world.agency):
        assert (await world.matches(demand_id, by=outsider)).status_code == 404
    assert (await world.matches(str(uuid.uuid4()))).status_code == 404
    # Once the enterprise names the agency, its brokers see the matches; the other agency still does not.
    named = await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.agency.organization.id)},
        headers=world.enterprise.headers,
    )
    assert named.status_code == 201, named.text
    assert (await world.matches(demand_id, by=world.agency)).status_code == 200
    assert (await world.matches(demand_id, by=world.other_agency)).status_code == 404
    again = await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.agency.organization.id)},
        headers=world.enterprise.headers,
    )
    assert again.status_code == 409
    not_agency = await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.institute.organization.id)},
        headers=world.enterprise.headers,
    )
    assert not_agency.status_code == 422
    by_institute = await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.agency.organization.id)},
        headers=world.institute.headers,
    )
    assert by_institute.status_code == 403
    listed = await world.client.get(f"{API}/broker-clients", headers=world.agency.headers)
    assert [c["enterprise_organization_id"] for c in listed.json()["items"]] == [str(world.enterprise.organization.id)]
    client_id = named.json()["id"]
    gone = await world.client.delete(f"{API}/broker-clients/{client_id}", headers=world.other_agency.headers)
    assert gone.status_code == 404
    ended = await world.client.delete(f"{API}/broker-clients/{client_id}", headers=world.agency.headers)
    assert ended.status_code == 200
    assert (await world.matches(demand_id, by=world.agency)).status_code == 404


async def test_listing_holder_sees_fitting_demands_but_no_private_data(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    other_demand = await world.demand(
        by=world.other_enterprise, **{**DEMAND, "title": "寻求废水零排放技术", "field_codes": ["7.2"]}
    )
    await run_worker(sessionmaker)
    url = f"{API}/listings/{ids['fits']}/matching-demands"
    response = await world.client.get(url, headers=world.institute_member.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["demand"]["id"] for i in items][:1] == [demand_id]
    assert other_demand not in [i["demand"]["id"] for i in items[:1]]
    demand = items[0]["demand"]
    assert demand["organization_name"] == world.enterprise.organization.name_zh
    assert set(demand) == {
        "id",
        "organization_id",
        "organization_name",
        "title",
        "description",
        "field_codes",
        "budget_min_fen",
        "budget_max_fen",
        "trade_modes",
        "min_trl",
        "region_code",
        "deadline",
        "status",
    }
    assert world.enterprise.organization.credit_code not in response.text
    assert items[0]["violations"] == [] and items[0]["explanation"]
    # The too-dear listing does not fit the demand's budget: the demand is not offered, unless relaxed.
    dear = await world.client.get(f"{API}/listings/{ids['too_dear']}/matching-demands", headers=world.institute.headers)
    assert demand_id not in [i["demand"]["id"] for i in dear.json()["items"]]
    relaxed = await world.client.get(
        f"{API}/listings/{ids['too_dear']}/matching-demands",
        params={"relax": "budget"},
        headers=world.institute.headers,
    )
    flagged = {i["demand"]["id"]: i["violations"] for i in relaxed.json()["items"]}
    assert flagged[demand_id] == ["budget"]
    for outsider in (world.enterprise, world.other_enterprise, world.agency):
        assert (await world.client.get(url, headers=outsider.headers)).status_code == 404
    assert (await world.client.get(url, headers=world.platform.headers)).status_code == 200


async def test_feedback_dismisses_and_shows_interest(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    second = await world.listing(
        title_zh="氧化物固态电池电解质粉体",
        keywords=["固态电池", "电解质"],
        field_codes=["5.2"],
        trl=6,
        trade_modes=["transfer"],
        pricing=fixed(60_000_000),
    )
    await run_worker(sessionmaker)
    url = f"{API}/demands/{demand_id}/matches/{ids['fits']}/feedback"

    async def post(body: dict[str, object], by: object = None, target: str = url) -> int:
        actor = by or world.enterprise
        r = await world.client.post(target, json=body, headers=actor.headers)  # type: ignore[attr-defined]
        return r.status_code

    assert await post({"verdict": "not_relevant", "reason": "cheap"}) == 422
    assert await post({"verdict": "interested", "reason": "too_early"}) == 422
    assert await post({"verdict": "maybe"}) == 422
    assert await post({"verdict": "interested"}, by=world.enterprise_viewer) == 403
    assert await post({"verdict": "interested"}, by=world.other_enterprise) == 404
    assert await post({"verdict": "interested"}, by=world.institute) == 404
    missing = f"{API}/demands/{demand_id}/matches/{uuid.uuid4()}/feedback"
    assert await post({"verdict": "interested"}, target=missing) == 404

    # Interest: the listing holder sees the demand; the agency acting for the enterprise sees it in its pipeline.
    assert await post({"verdict": "interested"}) == 200
    interest = await world.client.get(f"{API}/listings/{ids['fits']}/interest", headers=world.institute.headers)
    assert interest.status_code == 200
    assert [i["demand"]["id"] for i in interest.json()["items"]] == [demand_id]
    assert (
        await world.client.get(f"{API}/listings/{ids['fits']}/interest", headers=world.other_enterprise.headers)
    ).status_code == 404
    matches = (await world.matches(demand_id)).json()["items"]
    assert {m["listing"]["id"]: m["feedback"] for m in matches}[ids["fits"]] == "interested"
    await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.agency.organization.id)},
        headers=world.enterprise.headers,
    )
    pipeline = await world.client.get(f"{API}/broker/pipeline", headers=world.agency.headers)
    assert pipeline.status_code == 200, pipeline.text
    item = next(i for i in pipeline.json()["items"] if i["demand"]["id"] == demand_id)
    assert item["interested_listing_ids"] == [ids["fits"]]
    assert item["matches"] and item["enterprise_organization_id"] == str(world.enterprise.organization.id)
    assert (await world.client.get(f"{API}/broker/pipeline", headers=world.enterprise.headers)).json() == {"items": []}
    assert (await world.client.get(f"{API}/broker/pipeline", headers=world.other_agency.headers)).json() == {
        "items": []
    }

    # Dismissed: the listing stops appearing; the other one stays.
    assert await post({"verdict": "not_relevant", "reason": "already_have", "note": "已有同类产线"}) == 200
    after = [m["listing"]["id"] for m in (await world.matches(demand_id)).json()["items"]]
    assert ids["fits"] not in after and second in after
    interest = await world.client.get(f"{API}/listings/{ids['fits']}/interest", headers=world.institute.headers)
    assert interest.json()["items"] == []
    # ...and the holder no longer sees the dismissing demand among those the listing fits.
    fitting = await world.client.get(f"{API}/listings/{ids['fits']}/matching-demands", headers=world.institute.headers)
    assert demand_id not in [i["demand"]["id"] for i in fitting.json()["items"]]


async def test_saved_searches_crud_and_scope(world: World) -> None:
    base = f"{API}/saved-searches"
    body = {"name": "固态电池", "q": "固態電池 电解质", "field_codes": ["5.2"], "trl_min": 5, "region": "440300"}
    created = await world.client.post(base, json=body, headers=world.enterprise.headers)
    assert created.status_code == 201, created.text
    saved = created.json()
    assert saved["q"] == "固態電池 电解质" and saved["region"] == "4403" and saved["notify"] is True
    search_id = saved["id"]
    assert (await world.client.post(base, json=body, headers=world.institute.headers)).status_code == 403
    assert (await world.client.post(base, json=body, headers=world.agency.headers)).status_code == 201
    assert (
        await world.client.post(base, json={**body, "trl_max": 3}, headers=world.enterprise.headers)
    ).status_code == 422
    assert (
        await world.client.post(base, json={**body, "colour": "red"}, headers=world.enterprise.headers)
    ).status_code == 422
    for bad in ({"price_min_fen": True}, {"trl_min": False}):  # JSON booleans are not amounts or levels
        refused = await world.client.post(base, json={**body, **bad}, headers=world.enterprise.headers)
        assert refused.status_code == 422 and next(iter(bad)) in refused.text, refused.text
    listed = await world.client.get(base, headers=world.enterprise_viewer.headers)
    assert [s["id"] for s in listed.json()["items"]] == [search_id]
    one = f"{base}/{search_id}"
    assert (await world.client.get(one, headers=world.other_enterprise.headers)).status_code == 404
    assert (
        await world.client.patch(one, json={"name": "x"}, headers=world.other_enterprise.headers)
    ).status_code == 404
    assert (await world.client.delete(one, headers=world.agency.headers)).status_code == 404
    changed = await world.client.patch(one, json={"q": "钠离子电池", "notify": False}, headers=world.enterprise.headers)
    assert changed.status_code == 200 and changed.json()["q"] == "钠离子电池" and changed.json()["notify"] is False
    assert (await world.client.patch(one, json={"name": None}, headers=world.enterprise.headers)).status_code == 422
    assert (await world.client.patch(one, json={"trl_max": 2}, headers=world.enterprise.headers)).status_code == 422
    assert (await world.client.delete(one, headers=world.enterprise.headers)).status_code == 200
    assert (await world.client.get(one, headers=world.enterprise.headers)).status_code == 404


async def test_broker_turns_a_match_into_an_introduction(
    world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    ids = await catalogue(world, sessionmaker)
    demand_id = await world.demand(**DEMAND)
    url = f"{API}/broker/introductions"
    body = {
        "demand_id": demand_id,
        "listing_id": ids["fits"],
        "message": "受贵司委托了解许可条件。",
        "commission_bps": 300,
    }
    # An agency not acting for the enterprise cannot.
    assert (await world.client.post(url, json=body, headers=world.agency.headers)).status_code == 404
    await world.client.post(
        f"{API}/broker-clients",
        json={"agency_organization_id": str(world.agency.organization.id)},
        headers=world.enterprise.headers,
    )
    assert (await world.client.post(url, json=body, headers=world.enterprise.headers)).status_code == 403
    missing = await world.client.post(url, json={**body, "listing_id": str(uuid.uuid4())}, headers=world.agency.headers)
    assert missing.status_code == 422
    opened = await world.client.post(url, json=body, headers=world.agency.headers)
    assert opened.status_code == 201, opened.text
    deal = opened.json()
    assert deal["state"] == "inquiry"
    assert deal["listing_id"] == ids["fits"]
    seen = await world.client.get(f"{API}/deals/{deal['id']}", headers=world.enterprise.headers)
    assert seen.status_code == 200
    twice = await world.client.post(url, json=body, headers=world.agency.headers)
    assert twice.status_code == 409
