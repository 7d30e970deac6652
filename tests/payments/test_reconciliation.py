"""Reconciliation: provider records against the ledger, every mismatch listed (JSON and CSV)."""

from __future__ import annotations

import csv
import io
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.payments.config import PaymentsSettings, use_payments_settings
from tests.deals.conftest import World
from tests.payments.conftest import API, deal_money, transfer
from tests.payments.test_stripe import SECRET, deliver, event


async def test_report_lists_unposted_records_and_unprocessed_events(world: World, session: AsyncSession) -> None:
    deal = await world.performing(parts=(10_000_000, 20_000_000))
    first, _ = (await deal_money(world, deal["id"]))["payables"]
    assert (await transfer(world, first["reference"], 1_000, "BANK-R1")).status_code == 201
    # a bank record whose posting went missing (written behind the service's back)
    await session.execute(
        sa.text(
            "INSERT INTO provider_receipts (id, provider, external_id, reference, currency, amount_fen, applied_fen, "
            "excess_fen, status, received_at, created_at) "
            "VALUES (:id, 'offline', 'BANK-LOST', :ref, 'CNY', 700, 0, 0, 'partial', now(), now())"
        ),
        {"id": uuid.uuid4(), "ref": first["reference"]},
    )
    use_payments_settings(PaymentsSettings(stripe_webhook_secret=SECRET))
    try:
        stripe_event = event("payment_intent.succeeded", {"id": "pi_recon", "amount": 5, "metadata": {}})
        assert (await deliver(world.client, stripe_event)).status_code == 200
    finally:
        use_payments_settings(None)
    report = await world.client.get(f"{API}/money/reconciliation", headers=world.platform.headers)
    assert report.status_code == 200, report.text
    kinds = {(m["kind"], m["record_id"]) for m in report.json()["mismatches"]}
    assert ("receipt_not_posted", "BANK-LOST") in kinds
    assert ("event_unprocessed", stripe_event["id"]) in kinds
    assert not any(m["record_id"] == "BANK-R1" for m in report.json()["mismatches"])
    as_csv = await world.client.get(
        f"{API}/money/reconciliation", params={"format": "csv"}, headers=world.platform.headers
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text.lstrip("\ufeff"))))
    assert {"receipt_not_posted", "event_unprocessed"} <= {r["kind"] for r in rows}
    denied = await world.client.get(f"{API}/money/reconciliation", headers=world.buyer.headers)
    assert denied.status_code == 403
