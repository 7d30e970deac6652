"""Money test helpers: the deal world (from the deal tests) and small readers of balances and payables."""

from __future__ import annotations

from typing import Any

import httpx

from tests.deals import conftest as deals_conftest
from tests.deals.conftest import World
from tests.factories import Actor

API = "/api/v1"

# The deal tests' fixtures, shared.
world = deals_conftest.world
maker_in_test = deals_conftest.maker_in_test


async def balances(world: World, of: Actor, *, by: Actor | None = None) -> dict[str, int]:
    """An organisation's balances by account kind (read by itself, or by `by`)."""
    params = {"organization_id": str(of.organization.id)}
    response = await world.client.get(f"{API}/money/balances", params=params, headers=(by or of).headers)
    assert response.status_code == 200, response.text
    return {a["kind"]: a["balance_fen"] for a in response.json()["accounts"]}


async def deal_money(world: World, deal_id: str, *, by: Actor | None = None) -> dict[str, Any]:
    """A deal's fee terms, payables and escrow."""
    response = await world.client.get(f"{API}/deals/{deal_id}/money", headers=(by or world.buyer).headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def transfer(
    world: World, reference: str, amount: int, external_id: str, *, key: str | None = None
) -> httpx.Response:
    """The platform records a bank transfer received."""
    headers = {**world.platform.headers, **({"Idempotency-Key": key} if key else {})}
    body = {"reference": reference, "amount_fen": amount, "external_id": external_id}
    return await world.client.post(f"{API}/money/transfers", json=body, headers=headers)


async def payout(world: World, to: Actor, purpose: str, amount: int, external_id: str) -> httpx.Response:
    """The platform records a payout made."""
    body = {
        "organization_id": str(to.organization.id),
        "purpose": purpose,
        "amount_fen": amount,
        "external_id": external_id,
    }
    return await world.client.post(f"{API}/money/payouts", json=body, headers=world.platform.headers)


async def ledger_is_sound(world: World) -> dict[str, Any]:
    """The reconciliation report shows no unbalanced transaction and no drifted balance."""
    response = await world.client.get(f"{API}/money/reconciliation", headers=world.platform.headers)
    assert response.status_code == 200, response.text
    report = dict(response.json())
    bad = [m for m in report["mismatches"] if m["kind"] in ("unbalanced_transaction", "balance_drift")]
    assert bad == []
    return report
