"""Deal test helpers: parties, published listings, a driver that fires transitions, and timers made due now."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.ports import RecordingPorts, use_deposits, use_payments
from marketplace.deals.tasks import KINDS
from marketplace.events.models import Job
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.kit.time import utcnow
from tests.catalogue import API, published_listing
from tests.factories import Actor, Factory

# Committed tests leave their listings behind: neutral text keeps them out of other tests' search results.
NEUTRAL_TEXT: dict[str, Any] = {
    "title_zh": "交易流程样品成果",
    "title_en": "Deal flow sample",
    "summary": "交易流程测试样品。",
    "description": "交易流程测试样品的说明。",
    "keywords": ["流程样品"],
}


def plan(*amounts: int) -> list[dict[str, Any]]:
    """A payment plan with these milestone amounts."""
    return [
        {"title": f"第{i + 1}期", "amount_fen": a, "deliverable": f"交付物{i + 1}", "due_date": "2031-01-01"}
        for i, a in enumerate(amounts)
    ]


def offer_body(
    price: int = 30_000_000, *, mode: str = "transfer", parts: tuple[int, ...] | None = None, **extra: Any
) -> dict[str, Any]:
    """A valid offer body."""
    body: dict[str, Any] = {"price_fen": price, "trade_mode": mode, "payment_plan": plan(*(parts or (price,)))}
    body.update(extra)
    return body


@dataclass
class World:
    """The usual cast of a deal."""

    client: httpx.AsyncClient
    factory: Factory
    seller: Actor
    buyer: Actor
    platform: Actor
    broker: Actor
    seller_broker: Actor
    outsider: Actor
    listings: dict[str, str] = field(default_factory=dict)

    async def listing(self, kind: str = "negotiable", *, state_funded: bool = False, **overrides: Any) -> str:
        """A published listing of the seller priced `kind` (negotiable, fixed, auction)."""
        pricing: dict[str, Any] = {"kind": kind}
        if kind == "fixed":
            pricing["price_fen"] = 30_000_000
        if kind == "auction":
            pricing.update(start_price_fen=1_000_000, increment_fen=50_000, reserve_fen=1_200_000, deposit_fen=100_000)
        pricing.update(overrides.pop("pricing", {}))
        body = {**NEUTRAL_TEXT, "pricing": pricing, "holder_state_funded": state_funded, "ip_assets": [], **overrides}
        response = await published_listing(self.client, self.seller, self.platform, **body)
        return str(response.json()["id"])

    async def open(self, listing_id: str, *, by: Actor | None = None, **extra: Any) -> dict[str, Any]:
        """Open a deal as the buyer (or `by`)."""
        body = {"listing_id": listing_id, "message": "您好，我们对该成果很感兴趣。", **extra}
        response = await self.client.post(f"{API}/deals", json=body, headers=(by or self.buyer).headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def get(self, deal_id: str, *, by: Actor | None = None) -> dict[str, Any]:
        """Read a deal."""
        response = await self.client.get(f"{API}/deals/{deal_id}", headers=(by or self.buyer).headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def fire(
        self, actor: Actor, deal_id: str, name: str, body: dict[str, Any] | None = None, *, version: int | None = None
    ) -> httpx.Response:
        """Fire a deal transition with the current version (read as the platform) unless given."""
        if version is None:
            version = (await self.get(deal_id, by=self.platform))["version"]
        headers = {**actor.headers, "If-Match": f'W/"{version}"'}
        return await self.client.post(f"{API}/deals/{deal_id}/transitions/{name}", json=body or {}, headers=headers)

    async def ok(self, actor: Actor, deal_id: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Fire and insist it worked."""
        response = await self.fire(actor, deal_id, name, body)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def negotiating(self, listing_id: str | None = None, **open_extra: Any) -> dict[str, Any]:
        """A deal the seller answered."""
        deal = await self.open(listing_id or await self.listing(), **open_extra)
        return await self.ok(self.seller, deal["id"], "reply", {"body": "欢迎洽谈。"})

    async def offered(self, listing_id: str | None = None, **offer: Any) -> dict[str, Any]:
        """A negotiating deal with the buyer's open offer."""
        deal = await self.negotiating(listing_id)
        return await self.ok(self.buyer, deal["id"], "make_offer", offer_body(**offer))

    async def contracting(self, *, parts: tuple[int, ...] = (10_000_000, 20_000_000)) -> dict[str, Any]:
        """A deal in contracting (negotiated with a holder that is not state-funded)."""
        deal = await self.offered(parts=parts)
        return await self.ok(self.seller, deal["id"], "accept_offer", {"offer_id": deal["open_offer"]["id"]})

    async def performing(self, *, parts: tuple[int, ...] = (10_000_000, 20_000_000)) -> dict[str, Any]:
        """A deal both parties confirmed."""
        deal = await self.contracting(parts=parts)
        await self.ok(self.buyer, deal["id"], "confirm_contract")
        return await self.ok(self.seller, deal["id"], "confirm_contract")

    async def in_notice(self) -> dict[str, Any]:
        """A deal under public notice (state-funded holder, negotiated price)."""
        deal = await self.offered(await self.listing(state_funded=True))
        deal = await self.ok(self.seller, deal["id"], "accept_offer", {"offer_id": deal["open_offer"]["id"]})
        assert deal["state"] == "public_notice"
        return deal

    async def appoint(self, party: Actor, deal_id: str, broker: Actor, scope: list[str]) -> dict[str, Any]:
        """Appoint a broker for the party's side."""
        body = {"broker_user_id": str(broker.user.id), "scope": scope, "commission_bps": 300}
        return await self.ok(party, deal_id, "appoint_broker", body)


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    """A seller institute, a buyer enterprise, the platform, brokers and an outsider."""
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    return World(
        client=client,
        factory=factory,
        seller=await factory.actor(kind=OrganizationKind.institute, role=Role.member),
        buyer=await factory.actor(kind=OrganizationKind.enterprise, role=Role.member),
        platform=platform,
        broker=await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member),
        seller_broker=await factory.actor(kind=OrganizationKind.broker_agency, role=Role.member),
        outsider=await factory.actor(kind=OrganizationKind.enterprise, role=Role.member),
    )


@pytest.fixture
def ports() -> Iterator[RecordingPorts]:
    """Payments and deposits ports that record every call."""
    recorder = RecordingPorts()
    use_payments(recorder)
    use_deposits(recorder)
    yield recorder
    use_payments(None)
    use_deposits(None)


async def make_due(session: AsyncSession, kind: str, **payload: str) -> int:
    """Make the pending timers of `kind` whose payload matches due now; return how many."""
    stmt = sa.update(Job).where(Job.kind == kind, Job.status == "pending")  # type: ignore[arg-type]
    for key, value in payload.items():
        stmt = stmt.where(Job.payload[key].astext == value)  # type: ignore[index]
    result = await session.execute(stmt.values(run_at=utcnow() - timedelta(seconds=1)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def run_timers(maker: async_sessionmaker[AsyncSession]) -> int:
    """Run every due deal timer (the worker, restricted to the deal job kinds)."""
    return await Worker(maker, WorkerConfig(kinds=KINDS, dispatch_outbox=False)).run_until_idle()


async def shift(session: AsyncSession, table: str, column: str, row_id: str, delta: timedelta) -> None:
    """Move a timestamp of a row (a deadline) by delta."""
    await session.execute(
        sa.text(f"UPDATE {table} SET {column} = {column} + :delta WHERE id = :id"),
        {"delta": delta, "id": uuid.UUID(row_id)},
    )


@pytest.fixture
async def maker_in_test(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The test transaction's sessionmaker (workers run inside the rolled-back test)."""
    yield sessionmaker
