"""The deal flow moves money through the ledger: fees fixed at confirmation, milestone payments through escrow
(partial, exact and over-payments), releases net of fees, disputes, cancellations, broker commissions, payouts."""

from __future__ import annotations

import csv
import io

from tests.deals.conftest import World
from tests.payments.conftest import API, balances, deal_money, ledger_is_sound, payout, transfer

PARTS = (10_000_000, 20_000_000)  # 300,000 yuan in two milestones
BUYER_FEE = 450_000  # 1.5 % of 300,000 yuan
SELLER_FEE = 200_000  # 0.5 % would be 1,500 yuan: the 2,000 yuan minimum applies


async def test_fees_are_fixed_at_confirmation_with_one_reference_per_milestone(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    money = await deal_money(world, deal["id"])
    assert money["schedule_version"] == 1
    assert (money["amount_fen"], money["buyer_fee_fen"], money["seller_fee_fen"]) == (30_000_000, BUYER_FEE, SELLER_FEE)
    first, second = money["payables"]
    assert (first["buyer_fee_fen"], second["buyer_fee_fen"]) == (150_000, 300_000)
    assert first["seller_fee_fen"] + second["seller_fee_fen"] == SELLER_FEE
    assert first["due_fen"] == 10_150_000 and first["reference"] != second["reference"]
    assert first["status"] == "open" and first["remaining_fen"] == 10_150_000
    listed = await world.client.get(f"{API}/money/payables", headers=world.buyer.headers)
    assert {p["reference"] for p in listed.json()["items"]} >= {first["reference"], second["reference"]}
    outsider = await world.client.get(f"{API}/deals/{deal['id']}/money", headers=world.outsider.headers)
    assert outsider.status_code == 404


async def test_partial_exact_and_over_payment_then_release_net_of_fees(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    first, second = (await deal_money(world, deal["id"]))["payables"]
    part = await transfer(world, first["reference"], 5_000_000, "BANK-1")
    assert part.status_code == 201, part.text
    assert part.json()["status"] == "partial" and part.json()["applied_fen"] == 5_000_000
    money = await deal_money(world, deal["id"])
    assert money["escrow_fen"] == 5_000_000 and money["payables"][0]["remaining_fen"] == 5_150_000
    over = await transfer(world, first["reference"], 5_151_000, "BANK-2")
    assert over.json()["status"] == "overpaid" and over.json()["excess_fen"] == 1_000
    assert (await balances(world, world.buyer))["available"] == 1_000  # excess credited, paid back by payout
    # the same bank record again records nothing new
    again = await transfer(world, first["reference"], 5_151_000, "BANK-2")
    assert again.status_code == 201 and again.json()["id"] == over.json()["id"]
    conflict = await transfer(world, first["reference"], 1, "BANK-2")
    assert conflict.status_code == 409
    unknown = await transfer(world, "ZFNOTAREFXX", 100, "BANK-3")
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/reference"

    first_id, second_id = (m["id"] for m in deal["milestones"])
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": first_id})
    await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": first_id})
    seller_fee_1 = first["seller_fee_fen"]
    assert (await balances(world, world.seller))["available"] == 10_000_000 - seller_fee_1
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0

    # The second milestone is accepted before it is paid: its money goes through as soon as it arrives.
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": second_id})
    done = await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": second_id})
    assert done["state"] == "completed"
    assert (await balances(world, world.seller))["available"] == 10_000_000 - seller_fee_1
    exact = await transfer(world, second["reference"], second["due_fen"], "BANK-4")
    assert exact.json()["status"] == "exact"
    assert (await balances(world, world.seller))["available"] == 30_000_000 - SELLER_FEE
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0
    report = await ledger_is_sound(world)
    assert report["clearing_fen"]["offline"] <= -(30_000_000 + BUYER_FEE)

    # Payouts: never more than held; seller's proceeds and the buyer's over-payment go out.
    too_much = await payout(world, world.seller, "proceeds", 30_000_000, "OUT-1")
    assert too_much.status_code == 409 and too_much.json()["errors"][0]["pointer"] == "/amount_fen"
    paid = await payout(world, world.seller, "proceeds", 30_000_000 - SELLER_FEE, "OUT-2")
    assert paid.status_code == 201, paid.text
    assert (await payout(world, world.buyer, "refund", 1_000, "OUT-3")).status_code == 201
    assert (await balances(world, world.seller))["available"] == 0
    assert (await balances(world, world.buyer))["available"] == 0


async def test_dispute_split_refunds_the_buyer_its_part_and_its_fee_share(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    await transfer(world, first["reference"], first["due_fen"], "BANK-S1")
    first_id = deal["milestones"][0]["id"]
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": first_id})
    await world.ok(world.buyer, deal["id"], "dispute_milestone", {"milestone_id": first_id, "reason": "未达标"})
    body = {"milestone_id": first_id, "release_fen": 4_000_000, "refund_fen": 6_000_000, "note": "部分"}
    await world.ok(world.platform, deal["id"], "resolve_dispute", body)
    buyer_fee_kept = 150_000 * 4 // 10
    seller_fee_kept = (first["seller_fee_fen"] * 4 + 5) // 10
    assert (await balances(world, world.buyer))["available"] == 6_000_000 + 150_000 - buyer_fee_kept
    assert (await balances(world, world.seller))["available"] == 4_000_000 - seller_fee_kept
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0
    await ledger_is_sound(world)


async def test_platform_cancel_refunds_what_escrow_holds(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    await transfer(world, first["reference"], 3_000_000, "BANK-C1")
    await world.ok(world.platform, deal["id"], "platform_cancel", {"reason": "投诉成立"})
    assert (await balances(world, world.buyer))["available"] == 3_000_000
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0
    # money arriving later for the cancelled deal goes straight back to the buyer's available balance
    await transfer(world, first["reference"], 1_000, "BANK-C2")
    assert (await balances(world, world.buyer))["available"] == 3_001_000
    await ledger_is_sound(world)


async def test_broker_commission_is_charged_to_the_party_that_appointed_it(world: World) -> None:
    deal = await world.performing(parts=(30_000_000,))
    await world.appoint(world.seller, deal["id"], world.seller_broker, ["deliver_milestone"])  # 300 bps
    payable = (await deal_money(world, deal["id"]))["payables"][0]
    await transfer(world, payable["reference"], payable["due_fen"], "BANK-B1")
    milestone = deal["milestones"][0]["id"]
    await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": milestone})
    await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": milestone})
    commission = 30_000_000 * 3 // 100
    assert (await balances(world, world.seller_broker))["commission"] == commission
    assert (await balances(world, world.seller))["available"] == 30_000_000 - SELLER_FEE - commission
    paid = await payout(world, world.seller_broker, "commission", commission, "OUT-B1")
    assert paid.status_code == 201, paid.text
    assert (await balances(world, world.seller_broker))["commission"] == 0


async def test_statements_are_per_organisation_in_json_and_csv(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    await transfer(world, first["reference"], first["due_fen"] + 500, "BANK-T1")
    await payout(world, world.buyer, "refund", 200, "OUT-T1")
    statement = await world.client.get(f"{API}/money/statement", headers=world.buyer.headers)
    assert statement.status_code == 200, statement.text
    body = statement.json()
    available = next(a for a in body["accounts"] if a["kind"] == "available")
    assert (available["opening_fen"], available["credits_fen"], available["debits_fen"]) == (0, 500, 200)
    assert available["closing_fen"] == 300
    assert [m["amount_fen"] for m in body["movements"]] == [500, -200]
    later = await world.client.get(
        f"{API}/money/statement", params={"start": body["movements"][-1]["posted_at"]}, headers=world.buyer.headers
    )
    assert next(a for a in later.json()["accounts"] if a["kind"] == "available")["opening_fen"] == 500
    as_csv = await world.client.get(f"{API}/money/statement", params={"format": "csv"}, headers=world.buyer.headers)
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert [r["kind"] for r in rows][:1] == ["opening"] and rows[-1]["kind"] == "closing"
    # another organisation's money is not there; the platform sees it
    other = await world.client.get(
        f"{API}/money/statement",
        params={"organization_id": str(world.buyer.organization.id)},
        headers=world.seller.headers,
    )
    assert other.status_code == 404
    assert (await balances(world, world.buyer, by=world.platform))["available"] == 300


async def test_money_posts_are_idempotent_with_a_key(world: World) -> None:
    deal = await world.performing(parts=PARTS)
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    one = await transfer(world, first["reference"], 1_000, "BANK-I1", key="k-transfer-1")
    two = await transfer(world, first["reference"], 1_000, "BANK-I1", key="k-transfer-1")
    assert one.status_code == two.status_code == 201 and one.json() == two.json()
    other_body = await transfer(world, first["reference"], 2_000, "BANK-I1", key="k-transfer-1")
    assert other_body.status_code == 422
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 1_000
