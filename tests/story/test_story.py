"""The whole story, driven only through a client generated from the published OpenAPI spec.

An institute publishes a result with two patents; the platform approves it; an enterprise finds it with a
traditional-character query and as a match for its demand, accepts the NDA, appoints a broker, negotiates and agrees; the holder is
state-funded, so a public notice runs (the test moves the notice's clock); both sign; the enterprise pays two
milestones by bank transfer (offline provider), the seller delivers and the buyer accepts; the seller is paid
out net of its fee, the broker gets its commission, every statement balances, and the reports and the
registration export show the deal. A second story runs an auction to its end with three bidders who pay their
deposits by transfer and a last-minute extension; the losers' deposits are released.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.tasks import KINDS as DEAL_KINDS
from marketplace.demands.service import today_at
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.time import utcnow
from marketplace.matching.tasks import FAN_OUT_KIND, PROFILE_KIND
from marketplace.search_api.tasks import DEMAND_KIND, LISTING_KIND
from tests.catalogue import listing_payload, patent_number
from tests.deals.conftest import make_due, offer_body, shift
from tests.factories import Actor, Factory
from tests.story.conftest import Api

WORK_KINDS = DEAL_KINDS | {LISTING_KIND, DEMAND_KIND, FAN_OUT_KIND, PROFILE_KIND}


async def work(maker: async_sessionmaker[AsyncSession]) -> None:
    """What the worker would do by now: index, fire due timers."""
    await Worker(maker, WorkerConfig(kinds=WORK_KINDS)).run_until_idle()


async def cast(factory: Factory) -> dict[str, Actor]:
    return {
        "institute": await factory.actor(kind=OrganizationKind.institute, role=Role.admin),
        "enterprise": await factory.actor(kind=OrganizationKind.enterprise, role=Role.admin),
        "broker": await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member),
        "platform": await factory.actor(kind=OrganizationKind.platform, role=Role.admin),
    }


def etag(response: Any) -> str:
    return str(response.headers["etag"])


async def publish(api: Api, owner: Actor, platform: Actor, body: dict[str, Any]) -> dict[str, Any]:
    created = await api.call("listings.create_listing", owner, expect=201, body=api.model("ListingCreate", body))
    listing_id = uuid.UUID(created.parsed.to_dict()["id"])
    submitted = await api.call("listings.submit_listing", owner, listing_id=listing_id, if_match=etag(created))
    approved = await api.call(
        "platform.platform_approve_listing", platform, listing_id=listing_id, if_match=etag(submitted)
    )
    listing: dict[str, Any] = approved.parsed.to_dict()
    assert listing["status"] == "published"
    return listing


async def balance(api: Api, actor: Actor, kind: str) -> int:
    """The actor's organisation's balance of one account kind (0 when it has none yet)."""
    balances = await api.parsed("payments.get_balances", actor)
    return sum(b["balance_fen"] for b in balances["accounts"] if b["kind"] == kind)


async def fire(api: Api, actor: Actor, deal: dict[str, Any], name: str, body: dict[str, Any] | None = None) -> Any:
    deal_id = uuid.UUID(deal["id"])
    current = await api.parsed("deals.get_deal", actor, deal_id=deal_id)
    return await api.parsed(
        "deals.fire_deal_transition",
        actor,
        deal_id=deal_id,
        transition=name,
        body=api.model("FireDealTransitionBodyType0", body or {}),
        if_match=f'W/"{current["version"]}"',
    )


async def test_a_state_funded_result_from_search_to_completed_contract(
    api: Api, factory: Factory, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    people = await cast(factory)
    institute, enterprise, broker, platform = (
        people["institute"],
        people["enterprise"],
        people["broker"],
        people["platform"],
    )
    marker = f"故事{uuid.uuid4().hex[:6]}"
    body = listing_payload(
        title_zh=f"高功率光纤激光器热管理技术（{marker}）",
        summary="面向工业切割的高功率光纤激光器散热与热透镜抑制方案。",
        description="采用微通道液冷与梯度掺杂光纤，万瓦级激光器连续运行温升低于十度。",
        keywords=["光纤激光器", "热管理"],
        trade_modes=["transfer", "exclusive_licence"],
        pricing={"kind": "negotiable"},
        holder_state_funded=True,
        ip_assets=[
            {
                "type": "invention_patent",
                "number": patent_number(),
                "title": "一种光纤激光器微通道冷却装置",
                "holder": institute.organization.name_zh,
                "filing_date": "2020-05-01",
                "grant_date": "2022-08-09",
                "legal_status": "granted",
            },
            {
                "type": "invention_patent",
                "number": patent_number(year=2021),
                "title": "一种梯度掺杂增益光纤及其制备方法",
                "holder": institute.organization.name_zh,
                "filing_date": "2021-02-01",
                "grant_date": "2023-03-10",
                "legal_status": "granted",
            },
        ],
    )
    listing = await publish(api, institute, platform, body)
    assert len(listing["ip_assets"]) == 2
    await work(sessionmaker)

    # The enterprise searches in traditional characters (Taiwan vocabulary: 雷射 for 激光, 光纖 for 光纤).
    found = await api.parsed("search.search_listings", enterprise, q="光纖雷射器 熱管理")
    assert listing["id"] in [hit["id"] for hit in found["items"]]

    # It publishes what it needs (a demand the result fits).
    demand = await api.parsed(
        "demands.create_demand",
        enterprise,
        expect=201,
        body=api.model(
            "DemandCreate",
            {
                "title": "寻求万瓦级光纤激光器散热方案",
                "description": "激光切割设备需要解决高功率光纤激光器的热管理问题。",
                "field_codes": listing["field_codes"],
                "budget_min_fen": 10_000_000,
                "budget_max_fen": 50_000_000,
                "trade_modes": ["transfer"],
                "min_trl": 4,
                "region_code": "420100",
                "deadline": (today_at(utcnow()) + timedelta(days=60)).isoformat(),
            },
        ),
    )
    assert demand["title"].startswith("寻求")
    await work(sessionmaker)  # the demand's match profile

    # The result comes back as a match for the demand, with its reasons.
    matches = await api.parsed("matching.match_listings_for_demand", enterprise, demand_id=uuid.UUID(demand["id"]))
    (match,) = [m for m in matches["items"] if m["listing"]["id"] == listing["id"]]
    assert match["reasons"]["field"] == "exact" and match["reasons"]["trade_mode"] == "offered"
    assert match["violations"] == [] and match["explanation"]
    await api.call(
        "matching.give_match_feedback",
        enterprise,
        demand_id=uuid.UUID(demand["id"]),
        listing_id=uuid.UUID(listing["id"]),
        body=api.model("FeedbackInput", {"verdict": "interested"}),
    )
    interest = await api.parsed("matching.list_listing_interest", institute, listing_id=uuid.UUID(listing["id"]))
    assert demand["id"] in str(interest)  # the holder sees the interest

    # The NDA opens the confidential part.
    listing_id = uuid.UUID(listing["id"])
    before = await api.parsed("listings.get_listing", enterprise, listing_id=listing_id)
    assert "confidential_description" not in before or before["confidential_description"] in (None, "")
    await api.call(
        "listings.accept_listing_nda",
        enterprise,
        expect=201,
        listing_id=listing_id,
        body=api.model("NdaAcceptanceCreate", {"nda_version": before["nda_version"]}),
    )
    after = await api.parsed("listings.get_listing", enterprise, listing_id=listing_id)
    assert after["confidential_description"] == body["confidential_description"]

    # Inquiry, a broker for the buyer, offer and counter-offer.
    deal = await api.parsed(
        "deals.open_deal",
        enterprise,
        expect=201,
        body=api.model("OpenDealInput", {"listing_id": listing["id"], "message": "希望洽谈独占许可或转让。"}),
    )
    deal = await fire(
        api,
        enterprise,
        deal,
        "appoint_broker",
        {"broker_user_id": str(broker.user.id), "scope": ["make_offer", "message"], "commission_bps": 100},
    )
    deal = await fire(api, institute, deal, "reply", {"body": "欢迎，请出价。"})
    deal = await fire(api, broker, deal, "make_offer", offer_body(24_000_000, parts=(8_000_000, 16_000_000)))
    deal = await fire(api, institute, deal, "make_offer", offer_body(30_000_000, parts=(10_000_000, 20_000_000)))
    deal = await fire(api, enterprise, deal, "accept_offer", {"offer_id": deal["open_offer"]["id"]})
    assert deal["state"] == "public_notice"  # state-funded holder, negotiated price

    # The notice is public; nobody objects; the clock moves past its end.
    notices = await api.parsed("deals.list_public_notices", None)
    assert deal["notice"]["id"] in [n["id"] for n in notices["items"]]
    await shift(session, "deal_notices", "ends_at", deal["notice"]["id"], -timedelta(days=16))
    assert await make_due(session, "deals.notice_end", notice_id=deal["notice"]["id"]) == 1
    await work(sessionmaker)
    deal = await api.parsed("deals.get_deal", enterprise, deal_id=uuid.UUID(deal["id"]))
    assert deal["state"] == "contracting"

    # Both sign: the fee terms are fixed under the schedule in force, one payable per milestone.
    await fire(api, enterprise, deal, "confirm_contract")
    deal = await fire(api, institute, deal, "confirm_contract")
    assert deal["state"] == "performing"
    deal_id = uuid.UUID(deal["id"])
    money = await api.parsed("payments.get_deal_money", enterprise, deal_id=deal_id)
    # 300,000 CNY: seller 0.5 % = 1,500 CNY, raised to the 2,000 CNY minimum; buyer 1.5 % = 4,500 CNY.
    assert (money["amount_fen"], money["seller_fee_fen"], money["buyer_fee_fen"]) == (30_000_000, 200_000, 450_000)
    payables = sorted(money["payables"], key=lambda p: p["principal_fen"])
    assert [(p["principal_fen"], p["buyer_fee_fen"]) for p in payables] == [
        (10_000_000, 150_000),
        (20_000_000, 300_000),
    ]

    # The enterprise pays both milestones by bank transfer quoting the references; the platform records them
    # (the first in two parts). Each milestone is then delivered and accepted.
    transfers = [
        (payables[0]["reference"], 4_000_000),
        (payables[0]["reference"], payables[0]["due_fen"] - 4_000_000),
        (payables[1]["reference"], payables[1]["due_fen"]),
    ]
    for n, (reference, amount) in enumerate(transfers):
        await api.call(
            "payments.record_transfer",
            platform,
            expect=201,
            body=api.model(
                "TransferInput", {"reference": reference, "amount_fen": amount, "external_id": f"{marker}-in-{n}"}
            ),
        )
    money = await api.parsed("payments.get_deal_money", enterprise, deal_id=deal_id)
    assert money["escrow_fen"] == 30_000_000 + 450_000 and all(p["remaining_fen"] == 0 for p in money["payables"])
    for milestone in deal["milestones"]:
        deal = await fire(api, institute, deal, "deliver_milestone", {"milestone_id": milestone["id"]})
        deal = await fire(api, enterprise, deal, "accept_milestone", {"milestone_id": milestone["id"]})
    assert deal["state"] == "completed"
    assert [m["status"] for m in deal["milestones"]] == ["released", "released"]
    assert {b["commission_bps"] for b in deal["brokers"]} == {100}

    # The seller's proceeds net of its fee; the broker's 1 % commission falls due from the enterprise.
    assert await balance(api, institute, "available") == 30_000_000 - 200_000
    assert (await api.parsed("payments.get_deal_money", platform, deal_id=deal_id))["escrow_fen"] == 0
    (commission,) = [
        p for p in (await api.parsed("payments.list_payables", enterprise))["items"] if p["kind"] == "commission"
    ]
    assert commission["due_fen"] == 300_000 and commission["deal_id"] == deal["id"]
    await api.call(
        "payments.record_transfer",
        platform,
        expect=201,
        body=api.model(
            "TransferInput",
            {"reference": commission["reference"], "amount_fen": 300_000, "external_id": f"{marker}-commission"},
        ),
    )
    assert await balance(api, broker, "commission") == 300_000

    # The platform pays the seller and the broker out.
    for org, purpose, amount in ((institute, "proceeds", 29_800_000), (broker, "commission", 300_000)):
        await api.call(
            "payments.record_payout",
            platform,
            expect=201,
            body=api.model(
                "PayoutInput",
                {
                    "organization_id": str(org.organization.id),
                    "purpose": purpose,
                    "amount_fen": amount,
                    "external_id": f"{marker}-out-{purpose}",
                },
            ),
        )
    assert await balance(api, institute, "available") == 0
    assert await balance(api, broker, "commission") == 0

    # Every organisation's statement balances: opening + credits - debits = closing = its balance now, and
    # the movements add up to the change. The reconciliation finds nothing about this deal.
    for actor in (institute, enterprise, broker):
        statement = await api.parsed("payments.get_statement", actor)
        balances = await api.parsed("payments.get_balances", actor)
        now = {(b["account"], b["kind"]): b["balance_fen"] for b in balances["accounts"]}
        for account in statement["accounts"]:
            assert account["opening_fen"] + account["credits_fen"] - account["debits_fen"] == account["closing_fen"]
            moved = sum(m["amount_fen"] for m in statement["movements"] if m["account"] == account["account"])
            assert account["closing_fen"] - account["opening_fen"] == moved
            assert now[(account["account"], account["kind"])] == account["closing_fen"]
    reconciliation = await api.parsed("payments.get_reconciliation", platform)
    assert not [m for m in reconciliation["mismatches"] if deal["id"] in str(m) or marker in str(m)]

    # The city's reports and the registration export show it.
    today = today_at(utcnow()).isoformat()  # reports count days in China (UTC+8), not the test machine's
    export = await api.parsed("reports.report_contract_registrations", platform, from_=today, to=today)
    mine = [c for c in export["items"] if c["deal_id"] == deal["id"]]
    assert len(mine) == 1 and mine[0]["amount_fen"] == 30_000_000
    report = await api.parsed("reports.report_deals", platform, from_=today, to=today)
    assert report["totals"]["completed"] >= 1
    registration = await api.call("deals.export_deal_contract_registration", enterprise, deal_id=uuid.UUID(deal["id"]))
    assert registration.status_code == 200 and deal["id"] in registration.content.decode()


async def test_an_auction_with_three_bidders_and_a_last_minute_extension(
    api: Api, factory: Factory, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    people = await cast(factory)
    institute, platform = people["institute"], people["platform"]
    bidders = [await factory.actor(kind=OrganizationKind.enterprise, role=Role.member) for _ in range(3)]
    start, step, reserve, deposit = 1_000_000, 50_000, 1_100_000, 100_000
    listing = await publish(
        api,
        institute,
        platform,
        listing_payload(
            title_zh=f"竞价成果（{uuid.uuid4().hex[:6]}）",
            pricing={
                "kind": "auction",
                "start_price_fen": start,
                "increment_fen": step,
                "reserve_fen": reserve,
                "deposit_fen": deposit,
            },
            holder_state_funded=False,
        ),
    )
    auction = await api.parsed(
        "auctions.open_auction",
        institute,
        expect=201,
        body=api.model(
            "OpenAuctionInput",
            {"listing_id": listing["id"], "ends_at": (utcnow() + timedelta(hours=2)).isoformat()},
        ),
    )
    auction_id = uuid.UUID(auction["id"])
    for bidder in bidders:
        registration = await api.parsed(
            "auctions.register_for_auction", bidder, expect=201, auction_id=auction_id, body=None
        )
        # The deposit is paid by bank transfer quoting its reference; recording it confirms the deposit.
        (payable,) = [
            p
            for p in (await api.parsed("payments.list_payables", bidder))["items"]
            if p["kind"] == "deposit" and p["subject_id"] == registration["id"]
        ]
        assert payable["due_fen"] == deposit
        await api.call(
            "payments.record_transfer",
            platform,
            expect=201,
            body=api.model(
                "TransferInput",
                {"reference": payable["reference"], "amount_fen": deposit, "external_id": f"dep-{registration['id']}"},
            ),
        )
        assert await balance(api, bidder, "held") == deposit
    registrations = await api.parsed("auctions.list_auction_registrations", platform, auction_id=auction_id)
    assert {r["deposit_status"] for r in registrations["items"]} == {"held"}

    async def bid(bidder: Actor, amount: int) -> dict[str, Any]:
        result: dict[str, Any] = await api.parsed(
            "auctions.place_bid",
            bidder,
            expect=201,
            auction_id=auction_id,
            body=api.model("BidInput", {"amount_fen": amount}),
        )
        return result

    await bid(bidders[0], start)
    await bid(bidders[1], start + step)
    await bid(bidders[2], start + 2 * step)
    # One minute before the end, bidder 1 comes back: the end moves to five minutes after that bid.
    await session.execute(
        sa.text("UPDATE auctions SET ends_at = :e WHERE id = :id"),
        {"e": utcnow() + timedelta(minutes=1), "id": auction_id},
    )
    last = await bid(bidders[0], start + 4 * step)
    assert last["bid"]["extended_to"] is not None
    extended = await api.parsed("auctions.get_auction", None, auction_id=auction_id)
    assert extended["ends_at"] == last["ends_at"]

    # The clock passes the (moved) end: the close awards the highest bid, over the reserve, once.
    await session.execute(
        sa.text("UPDATE auctions SET starts_at = :s, ends_at = :e WHERE id = :id"),
        {"s": utcnow() - timedelta(hours=3), "e": utcnow() - timedelta(seconds=1), "id": auction_id},
    )
    await make_due(session, "deals.auction_close", auction_id=str(auction_id))
    await work(sessionmaker)
    closed = await api.parsed("auctions.get_auction", institute, auction_id=auction_id)
    assert closed["status"] == "closed" and closed["high_bid_fen"] == start + 4 * step
    history = await api.parsed("auctions.list_auction_bids", None, auction_id=auction_id)
    assert [b["amount_fen"] for b in history["items"]] == [start, start + step, start + 2 * step, start + 4 * step]
    deals = await api.parsed("deals.list_deals", bidders[0])
    (won,) = [d for d in deals["items"] if d["listing_id"] == listing["id"]]
    assert won["state"] == "contracting" and won["price_fen"] == start + 4 * step
    for loser in bidders[1:]:
        theirs = await api.parsed("deals.list_deals", loser)
        assert all(d["listing_id"] != listing["id"] for d in theirs["items"])
        # The losers' deposits are released to their available balance, to be paid back.
        assert (await balance(api, loser, "held"), await balance(api, loser, "available")) == (0, deposit)
    assert await balance(api, bidders[0], "held") == deposit  # the winner's stays held until it confirms
