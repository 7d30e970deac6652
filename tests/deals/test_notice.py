"""Public notice (公示): posted publicly, contract blocked until it ends clean; objections upheld or dismissed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.config import DealsSettings, use_deals_settings
from marketplace.events.models import Job
from tests.catalogue import API
from tests.deals.conftest import World, make_due, offer_body, run_timers, shift
from tests.factories import Actor


async def object_to(world: World, deal: dict[str, Any], by: Actor | None = None) -> dict[str, Any]:
    objector = by or await world.factory.actor(kind=OrganizationKind.institute, role=Role.member)
    response = await world.client.post(
        f"{API}/public-notices/{deal['notice']['id']}/objections",
        json={"grounds": "该专利的权属存在争议，转让价格明显偏低。"},
        headers=objector.headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def end_period(world: World, session: AsyncSession, deal: dict[str, Any]) -> None:
    await shift(session, "deal_notices", "ends_at", deal["notice"]["id"], -timedelta(days=16))
    assert await make_due(session, "deals.notice_end", notice_id=deal["notice"]["id"]) == 1


async def test_a_negotiated_price_with_a_state_funded_holder_is_posted(world: World) -> None:
    deal = await world.in_notice()
    notice = deal["notice"]
    assert deal["notice_required"] is True and deal["price_basis"] == "negotiated"
    assert notice["status"] == "running" and notice["price_fen"] == 30_000_000
    assert notice["seller_name"] == world.seller.organization.name_zh
    assert notice["buyer_name"] == world.buyer.organization.name_zh
    ends = notice["ends_at"]
    assert any(d["name"] == "notice_end" and d["due_at"] == ends for d in deal["deadlines"])
    public = await world.client.get(f"{API}/public-notices")  # anonymous
    assert public.status_code == 200
    assert notice["id"] in [n["id"] for n in public.json()["items"]]
    one = (await world.client.get(f"{API}/public-notices/{notice['id']}")).json()
    assert one["result_name"] == deal["listing_title"] and one["objections_pending"] == 0
    assert "objections" not in one
    # The contract step is blocked while the notice runs: there is no contract record to confirm.
    blocked = await world.fire(world.buyer, deal["id"], "confirm_contract")
    assert blocked.status_code == 409 and blocked.json()["state"] == "public_notice"
    contract = await world.client.get(f"{API}/deals/{deal['id']}/contract", headers=world.buyer.headers)
    assert contract.status_code == 404


async def test_the_notice_ends_clean_and_the_deal_goes_to_contracting(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.in_notice()
    await end_period(world, session, deal)
    await run_timers(maker_in_test)
    after = await world.get(deal["id"])
    assert after["state"] == "contracting" and after["notice"]["status"] == "passed"
    assert after["contract"]["amount_fen"] == 30_000_000
    assert (await world.fire(world.buyer, deal["id"], "confirm_contract")).status_code == 200


async def test_who_may_object(world: World) -> None:
    deal = await world.in_notice()
    url = f"{API}/public-notices/{deal['notice']['id']}/objections"
    body = {"grounds": "价格明显低于资产评估值。"}
    for party in (world.buyer, world.seller, world.platform):
        assert (await world.client.post(url, json=body, headers=party.headers)).status_code == 403
    unverified = await world.factory.actor(
        await world.factory.organization(OrganizationKind.enterprise, verified=False), role=Role.member
    )
    assert (await world.client.post(url, json=body, headers=unverified.headers)).status_code == 404
    assert (await world.client.post(url, json=body)).status_code == 401
    short = await world.client.post(url, json={"grounds": "不同意"}, headers=world.outsider.headers)
    assert short.status_code == 422
    filed = await world.client.post(url, json=body, headers=world.outsider.headers)
    assert filed.status_code == 201 and filed.json()["organization_id"] == str(world.outsider.organization.id)
    # The objector is named to the platform, not to the parties; the public sees only counts.
    assert (await world.get(deal["id"], by=world.platform))["notice"]["objections"][0]["organization_id"]
    assert (await world.get(deal["id"], by=world.seller))["notice"]["objections"][0]["organization_id"] is None
    assert (await world.client.get(f"{API}/public-notices/{deal['notice']['id']}")).json()["objections_pending"] == 1
    # Via the deal's own route, objections are pointed at the notice.
    direct = await world.fire(world.outsider, deal["id"], "file_objection", body)
    assert direct.status_code == 404


async def test_an_upheld_objection_sends_the_deal_back_to_negotiation(world: World, session: AsyncSession) -> None:
    deal = await world.in_notice()
    objection = await object_to(world, deal)
    upheld = await world.ok(
        world.platform,
        deal["id"],
        "uphold_objection",
        {"objection_id": objection["id"], "outcome": "renegotiate", "note": "请按评估价重新议价"},
    )
    assert upheld["state"] == "negotiating"
    assert upheld["notice"]["status"] == "upheld" and upheld["price_fen"] is None
    assert upheld["notice"]["objections"][0]["status"] == "upheld"
    offers = (await world.client.get(f"{API}/deals/{deal['id']}/offers", headers=world.buyer.headers)).json()["items"]
    assert offers[-1]["status"] == "annulled"
    # The notice timer was cancelled with the notice.
    jobs = await session.execute(
        sa.select(Job).where(Job.dedupe_key == f"deals.notice_end:{deal['notice']['id']}")  # type: ignore[arg-type]
    )
    assert jobs.first() is None
    # A new agreement starts a new notice.
    again = await world.ok(world.buyer, deal["id"], "make_offer", offer_body(45_000_000))
    again = await world.ok(world.seller, deal["id"], "accept_offer", {"offer_id": again["open_offer"]["id"]})
    assert again["state"] == "public_notice" and again["notice"]["id"] != deal["notice"]["id"]
    assert again["notice"]["price_fen"] == 45_000_000


async def test_an_upheld_objection_can_end_the_deal(world: World) -> None:
    deal = await world.in_notice()
    objection = await object_to(world, deal)
    ended = await world.ok(
        world.platform, deal["id"], "uphold_objection", {"objection_id": objection["id"], "outcome": "end"}
    )
    assert ended["state"] == "cancelled" and ended["notice"]["status"] == "upheld"
    running = (await world.client.get(f"{API}/public-notices")).json()["items"]
    assert deal["notice"]["id"] not in [n["id"] for n in running]


async def test_a_dismissed_objection_does_not_revert(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.in_notice()
    objection = await object_to(world, deal)
    dismissed = await world.ok(world.platform, deal["id"], "dismiss_objection", {"objection_id": objection["id"]})
    assert dismissed["state"] == "public_notice"  # the period still runs
    assert dismissed["notice"]["objections"][0]["status"] == "dismissed"
    await end_period(world, session, deal)
    await run_timers(maker_in_test)
    after = await world.get(deal["id"])
    assert after["state"] == "contracting" and after["price_fen"] == deal["price_fen"]


async def test_a_pending_objection_holds_the_deal_past_the_period(
    world: World, session: AsyncSession, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal = await world.in_notice()
    objection = await object_to(world, deal)
    await end_period(world, session, deal)
    await run_timers(maker_in_test)
    held = await world.get(deal["id"])
    assert held["state"] == "public_notice"  # ended, but an objection waits for the platform
    late = await world.client.post(
        f"{API}/public-notices/{deal['notice']['id']}/objections",
        json={"grounds": "期满后才提出的异议，应不予受理。"},
        headers=world.outsider.headers,
    )
    assert late.status_code == 409 and late.json()["blocked_by"] == ["notice_period_open"]
    cleared = await world.ok(world.platform, deal["id"], "dismiss_objection", {"objection_id": objection["id"]})
    assert cleared["state"] == "contracting" and cleared["notice"]["status"] == "passed"


async def test_the_notice_period_is_configurable_but_at_least_15_days(world: World) -> None:
    with pytest.raises(ValidationError):
        DealsSettings(notice_days=10)
    use_deals_settings(DealsSettings(notice_days=20))
    try:
        deal = await world.in_notice()
    finally:
        use_deals_settings(None)
    notice = deal["notice"]
    length = datetime.fromisoformat(notice["ends_at"]) - datetime.fromisoformat(notice["starts_at"])
    assert length == timedelta(days=20)
