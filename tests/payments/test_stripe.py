"""The Stripe provider against localstripe (a stateful fake Stripe server, started here on a free port):
PaymentIntents, refunds and signed webhooks (signed with the webhook secret exactly as Stripe signs them, and
verified by the route with stripe.Webhook.construct_event). localstripe has no Connect: Connect accounts,
onboarding links and transfers are tested against recorded Stripe responses (see RecordedStripe)."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import Role
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.payments.config import PaymentsSettings, use_payments_settings
from marketplace.payments.service import PaymentsService
from marketplace.payments.tasks import KINDS
from tests.deals.conftest import World, make_due
from tests.payments.conftest import API, balances, deal_money, ledger_is_sound, transfer

SECRET = "whsec_local_test_secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    """A localstripe server on a free port (skipped when it cannot start)."""
    binary = Path(sys.executable).parent / "localstripe"
    if not binary.exists():
        pytest.skip("localstripe is not installed in this environment")
    port = _free_port()
    proc = subprocess.Popen([str(binary), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.skip("localstripe exited at start-up")
            time.sleep(0.1)
    else:
        proc.terminate()
        pytest.skip("localstripe did not start listening within 15 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def stripe_on(localstripe: str) -> Iterator[str]:
    """The stripe provider configured against localstripe."""
    previous = stripe.api_base
    use_payments_settings(
        PaymentsSettings(stripe_api_key="sk_test_local", stripe_webhook_secret=SECRET, stripe_api_base=localstripe)
    )
    yield localstripe
    use_payments_settings(None)
    stripe.api_base = previous


def signed(event: dict[str, Any], *, at: int | None = None, secret: str = SECRET) -> tuple[bytes, str]:
    """A webhook body and its Stripe-Signature header, computed as Stripe does."""
    payload = json.dumps(event).encode()
    t = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return payload, f"t={t},v1={mac}"


async def deliver(client: httpx.AsyncClient, event: dict[str, Any], **kw: Any) -> httpx.Response:
    body, header = signed(event, **kw)
    return await client.post(
        f"{API}/money/stripe/webhook",
        content=body,
        headers={"Stripe-Signature": header, "Content-Type": "application/json"},
    )


def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "api_version": "2024-06-20",
        "data": {"object": obj},
    }


def pay_in_browser(intent_id: str) -> dict[str, Any]:
    """What the buyer's browser does: attach a test card and confirm; returns the PaymentIntent."""
    card = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}
    method = stripe.PaymentMethod.create(type="card", card=card, api_key="sk_test_local")
    stripe.PaymentIntent.modify(intent_id, payment_method=method.id, api_key="sk_test_local")
    confirmed = stripe.PaymentIntent.confirm(intent_id, api_key="sk_test_local")
    assert confirmed.status == "succeeded"
    return dict(confirmed.to_dict())


async def run_jobs(maker: async_sessionmaker[AsyncSession]) -> int:
    return await Worker(maker, WorkerConfig(kinds=KINDS, dispatch_outbox=False)).run_until_idle()


async def paid_by_card(world: World, maker: async_sessionmaker[AsyncSession]) -> tuple[dict[str, Any], dict[str, Any]]:
    deal = await world.performing(parts=(30_000_000,))
    (payable,) = (await deal_money(world, deal["id"]))["payables"]
    created = await world.client.post(
        f"{API}/money/stripe/payables/{payable['id']}/intent", headers=world.buyer.headers
    )
    assert created.status_code == 201, created.text
    assert created.json()["amount_fen"] == payable["due_fen"]
    again = await world.client.post(f"{API}/money/stripe/payables/{payable['id']}/intent", headers=world.buyer.headers)
    assert again.json()["payment_intent_id"] == created.json()["payment_intent_id"]  # keyed by our ids
    intent = pay_in_browser(created.json()["payment_intent_id"])
    return deal, intent


async def test_payment_intent_webhook_duplicates_and_any_order(
    world: World, stripe_on: str, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal, intent = await paid_by_card(world, maker_in_test)
    succeeded = event("payment_intent.succeeded", intent)
    created_late = event("payment_intent.created", {**intent, "status": "requires_payment_method"})
    first = await deliver(world.client, succeeded)
    assert first.status_code == 200 and first.json() == {"received": True, "duplicate": False}
    assert (await deliver(world.client, succeeded)).json()["duplicate"] is True  # stored once by its id
    assert (await deliver(world.client, created_late)).status_code == 200  # out of order: ignored
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0  # nothing before the job runs
    await run_jobs(maker_in_test)
    money = await deal_money(world, deal["id"])
    assert money["escrow_fen"] == money["payables"][0]["due_fen"] and money["payables"][0]["status"] == "paid"
    # the same payment seen again under another event id posts nothing more
    await deliver(world.client, event("payment_intent.succeeded", intent))
    await run_jobs(maker_in_test)
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == money["escrow_fen"]
    report = await ledger_is_sound(world)
    assert report["clearing_fen"]["stripe"] == -money["escrow_fen"]
    assert not [m for m in report["mismatches"] if m["provider"] == "stripe"]


async def test_webhook_signatures_are_verified_with_tolerance(world: World, stripe_on: str) -> None:
    body = event("payment_intent.succeeded", {"id": "pi_x", "metadata": {}})
    stale = await deliver(world.client, body, at=int(time.time()) - 3600)
    assert stale.status_code == 400 and stale.json()["type"].endswith("invalid-webhook")
    forged = await deliver(world.client, body, secret="whsec_someone_else")
    assert forged.status_code == 400
    unsigned = await world.client.post(f"{API}/money/stripe/webhook", content=b"{}")
    assert unsigned.status_code == 400


async def test_a_crash_between_confirmation_and_posting_is_survived(
    world: World, stripe_on: str, maker_in_test: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    deal, intent = await paid_by_card(world, maker_in_test)
    await deliver(world.client, event("payment_intent.succeeded", intent))
    real = PaymentsService.record_receipt
    crashes = {"left": 1}

    async def crashing(self: PaymentsService, *args: Any, **kwargs: Any) -> Any:
        receipt = await real(self, *args, **kwargs)  # posted ... and then the process dies before commit
        if crashes["left"]:
            crashes["left"] -= 1
            raise RuntimeError("worker killed after posting, before commit")
        return receipt

    monkeypatch.setattr(PaymentsService, "record_receipt", crashing)
    await run_jobs(maker_in_test)
    assert crashes["left"] == 0
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == 0  # the posting rolled back with the job
    async with maker_in_test() as s:
        assert await make_due(s, "payments.stripe_event") == 1  # the retry, brought forward
        await s.commit()
    await run_jobs(maker_in_test)
    money = await deal_money(world, deal["id"])
    assert money["escrow_fen"] == money["payables"][0]["due_fen"]  # posted once
    await run_jobs(maker_in_test)
    assert (await deal_money(world, deal["id"]))["escrow_fen"] == money["escrow_fen"]


async def test_refund_through_stripe_after_a_cancellation(
    world: World, stripe_on: str, maker_in_test: async_sessionmaker[AsyncSession]
) -> None:
    deal, intent = await paid_by_card(world, maker_in_test)
    await deliver(world.client, event("payment_intent.succeeded", intent))
    await run_jobs(maker_in_test)
    await world.ok(world.platform, deal["id"], "platform_cancel", {"reason": "投诉成立"})
    available = (await balances(world, world.buyer))["available"]
    assert available == intent["amount"]
    no_intent = await world.client.post(
        f"{API}/money/stripe/payouts",
        json={"organization_id": str(world.buyer.organization.id), "purpose": "refund", "amount_fen": available},
        headers=world.platform.headers,
    )
    assert no_intent.status_code == 422
    body = {
        "organization_id": str(world.buyer.organization.id),
        "purpose": "refund",
        "amount_fen": available,
        "payment_intent_id": intent["id"],
    }
    created = await world.client.post(f"{API}/money/stripe/payouts", json=body, headers=world.platform.headers)
    assert created.status_code == 201, created.text
    assert (await balances(world, world.buyer))["available"] == 0
    await run_jobs(maker_in_test)
    async with maker_in_test() as s:
        payout = await PaymentsService(s).repo.get_payout(uuid.UUID(created.json()["id"]))
        assert payout is not None and payout.provider_ref and payout.provider_ref.startswith("re_")
    refunds = stripe.Refund.list(payment_intent=intent["id"], api_key="sk_test_local")
    assert [r.amount for r in refunds.data] == [available]
    await ledger_is_sound(world)


class RecordedStripe(stripe.HTTPClient):
    """Answers Stripe API calls from recorded responses (Connect: localstripe does not implement it)."""

    name = "recorded"

    def __init__(self, responses: dict[tuple[str, str], dict[str, Any]]) -> None:
        super().__init__()
        self.responses = responses
        self.calls: list[tuple[str, str, dict[str, str]]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None, *, _usage: Any = None) -> Any:
        path = httpx.URL(url).path
        self.calls.append((method.upper(), path, dict(headers or {})))
        return json.dumps(self.responses[(method.upper(), path)]), 200, {}

    def close(self) -> None:
        """Nothing to close."""


# Recorded from Stripe's test mode (ids shortened); the shapes the provider reads: id, url.
RECORDED = {
    ("POST", "/v1/accounts"): {"id": "acct_1PtestSeller", "object": "account", "type": "express"},
    ("POST", "/v1/account_links"): {
        "object": "account_link",
        "created": 1732600000,
        "expires_at": 1732600300,
        "url": "https://connect.stripe.com/setup/e/acct_1PtestSeller/abc123",
    },
    ("POST", "/v1/transfers"): {
        "id": "tr_1PtestTransfer",
        "object": "transfer",
        "amount": 1,
        "currency": "cny",
        "destination": "acct_1PtestSeller",
    },
}


async def test_connect_onboarding_and_transfer_with_the_fee_kept(
    world: World, maker_in_test: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = RecordedStripe(RECORDED)
    monkeypatch.setattr(stripe, "default_http_client", recorded)
    use_payments_settings(PaymentsSettings(stripe_api_key="sk_test_recorded", stripe_webhook_secret=SECRET))
    try:
        admin = await world.factory.actor(world.seller.organization, role=Role.admin)
        link = await world.client.post(
            f"{API}/money/stripe/connect",
            json={"refresh_url": "https://example.com/r", "return_url": "https://example.com/done"},
            headers=admin.headers,
        )
        assert link.status_code == 201, link.text
        assert link.json()["account_id"] == "acct_1PtestSeller" and link.json()["url"].startswith("https://")
        # Seller proceeds from an offline-paid milestone go out by Connect transfer, net of the seller's fee.
        deal = await world.performing(parts=(30_000_000,))
        (payable,) = (await deal_money(world, deal["id"]))["payables"]
        await transfer(world, payable["reference"], payable["due_fen"], "BANK-CX")
        milestone = deal["milestones"][0]["id"]
        await world.ok(world.seller, deal["id"], "deliver_milestone", {"milestone_id": milestone})
        await world.ok(world.buyer, deal["id"], "accept_milestone", {"milestone_id": milestone})
        net = (await balances(world, world.seller))["available"]
        assert net == 30_000_000 - 200_000
        body = {"organization_id": str(world.seller.organization.id), "purpose": "proceeds", "amount_fen": net}
        created = await world.client.post(f"{API}/money/stripe/payouts", json=body, headers=world.platform.headers)
        assert created.status_code == 201, created.text
        await run_jobs(maker_in_test)
        transfers = [c for c in recorded.calls if c[1] == "/v1/transfers"]
        assert len(transfers) == 1
        assert transfers[0][2].get("Idempotency-Key") == f"payout:{created.json()['id']}"
        accounts = [c for c in recorded.calls if c[1] == "/v1/accounts"]
        assert accounts[0][2].get("Idempotency-Key") == f"account:{world.seller.organization.id}"
    finally:
        use_payments_settings(None)
