"""A seeded data set for the reports, dated in 2019 so other tests' rows fall outside the reported period."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.models import (
    Auction,
    AuctionBid,
    AuctionRegistration,
    ContractType,
    Deal,
    DealContract,
    DealOffer,
    DealOrigin,
    OfferStatus,
    PriceBasis,
)
from marketplace.deals.process import AuctionState, Side, State
from marketplace.demands.models import Demand
from marketplace.listings.models import Listing
from tests.catalogue import create_demand, published_listing
from tests.factories import Actor, Factory

PERIOD = {"from": "2019-03-01", "to": "2019-05-31"}


def at(day: str, hour: int = 12, minute: int = 0) -> datetime:
    """An instant in UTC."""
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


@dataclass
class Seeded:
    """The cast and the rows the expected figures were worked out from."""

    platform: Actor
    enterprise: Actor
    institute_a: Actor
    institute_b: Actor
    listings: dict[str, uuid.UUID] = field(default_factory=dict)
    deals: dict[str, uuid.UUID] = field(default_factory=dict)


async def _listing(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor, platform: Actor, published: datetime, **body: Any
) -> uuid.UUID:
    response = await published_listing(client, owner, platform, ip_assets=[], holder_state_funded=False, **body)
    listing_id = uuid.UUID(response.json()["id"])
    await session.execute(sa.update(Listing).where(Listing.id == listing_id).values(published_at=published))  # type: ignore[arg-type]
    return listing_id


async def _demand(
    client: httpx.AsyncClient, session: AsyncSession, owner: Actor, created: datetime, **body: Any
) -> uuid.UUID:
    demand_id = uuid.UUID((await create_demand(client, owner, **body)).json()["id"])
    await session.execute(sa.update(Demand).where(Demand.id == demand_id).values(created_at=created))  # type: ignore[arg-type]
    return demand_id


def _contract(deal: Deal, seller: Actor, buyer: Actor, **values: Any) -> DealContract:
    return DealContract(
        deal_id=deal.id,
        subject_name="样品成果",
        seller_name=seller.organization.name_zh,
        seller_credit_code=seller.organization.credit_code,
        buyer_name=buyer.organization.name_zh,
        buyer_credit_code=buyer.organization.credit_code,
        **values,
    )


@pytest.fixture
async def seeded(client: httpx.AsyncClient, session: AsyncSession, factory: Factory) -> Seeded:
    """Four listings and two demands in the period (one more just after it), four deals and two auctions."""
    s = Seeded(
        platform=await factory.actor(kind=OrganizationKind.platform, role=Role.member),
        enterprise=await factory.actor(kind=OrganizationKind.enterprise, role=Role.member),
        institute_a=await factory.actor(kind=OrganizationKind.institute, role=Role.member),
        institute_b=await factory.actor(kind=OrganizationKind.institute, role=Role.member),
    )
    a, b, e, p = s.institute_a, s.institute_b, s.enterprise, s.platform
    s.listings["L1"] = await _listing(
        client, session, a, p, at("2019-03-10"), field_codes=["6.3"], region_code="420100"
    )
    s.listings["L2"] = await _listing(
        client, session, b, p, at("2019-03-20"), field_codes=["2.1", "6.1"], region_code="440300"
    )
    s.listings["L3"] = await _listing(
        client, session, b, p, at("2019-04-05"), field_codes=["1.1"], region_code="440100"
    )
    # 2019-03-01 01:00 in Beijing: inside the period and in March, though still February in UTC.
    s.listings["L4"] = await _listing(
        client, session, a, p, at("2019-02-28", 17), field_codes=["4.1"], region_code="110101"
    )
    # 2019-06-01 00:30 in Beijing: just after the period.
    s.listings["L5"] = await _listing(
        client, session, a, p, at("2019-05-31", 16, 30), field_codes=["4.1"], region_code="110101"
    )
    await _demand(client, session, e, at("2019-03-15"), field_codes=["2.1"], region_code="440300")
    await _demand(client, session, e, at("2019-04-20"), field_codes=["6.1", "6.2"], region_code=None)

    async def deal(key: str, listing: str, seller: Actor, **values: Any) -> Deal:
        row = Deal(
            listing_id=s.listings[listing],
            buyer_organization_id=e.organization.id,
            seller_organization_id=seller.organization.id,
            **values,
        )
        session.add(row)
        await session.flush()
        s.deals[key] = row.id
        return row

    async def accepted(row: Deal, price: int, mode: str, decided: datetime) -> None:
        offer = DealOffer(
            deal_id=row.id,
            side=Side.buyer,
            status=OfferStatus.accepted,
            price_fen=price,
            trade_mode=mode,
            expires_at=at("2019-12-31"),
            decided_at=decided,
            created_at=decided,
        )
        session.add(offer)
        await session.flush()
        row.agreed_offer_id = offer.id

    # X1: agreed 2019-03-20 (10 days after L1), signed 03-26, completed 04-10.
    x1 = await deal(
        "X1", "L1", a, origin=DealOrigin.inquiry, state=State.completed, price_basis=PriceBasis.negotiated,
        price_fen=1_000_000, trade_mode="transfer", created_at=at("2019-03-12"), ended_at=at("2019-04-10"),
    )  # fmt: skip
    await accepted(x1, 1_000_000, "transfer", at("2019-03-20"))
    session.add(
        _contract(
            x1, a, e, contract_type=ContractType.transfer, trade_mode="transfer", amount_fen=1_000_000,
            technology_fen=800_000, term_months=12, buyer_confirmed_at=at("2019-03-25"),
            seller_confirmed_at=at("2019-03-26"),
        )
    )  # fmt: skip
    # X2: agreed 2019-04-11 (22 days after L2), signed 04-16, still performing.
    x2 = await deal(
        "X2", "L2", b, origin=DealOrigin.inquiry, state=State.performing, price_basis=PriceBasis.negotiated,
        price_fen=3_000_000, trade_mode="exclusive_licence", created_at=at("2019-04-01"),
    )  # fmt: skip
    await accepted(x2, 3_000_000, "exclusive_licence", at("2019-04-11"))
    session.add(
        _contract(
            x2, b, e, contract_type=ContractType.licence, trade_mode="exclusive_licence", amount_fen=3_000_000,
            technology_fen=3_000_000, term_months=36, buyer_confirmed_at=at("2019-04-16"),
            seller_confirmed_at=at("2019-04-15"),
        )
    )  # fmt: skip
    # X3: opened 04-02, cancelled 05-02.
    await deal("X3", "L3", b, origin=DealOrigin.inquiry, state=State.cancelled, created_at=at("2019-04-02"),
               ended_at=at("2019-05-02"))  # fmt: skip

    # The auction of L3: start 5,000 yuan, two bids, sold at 6,500 on 05-10; L4's auction went unsold.
    sold = Auction(
        listing_id=s.listings["L3"], seller_organization_id=b.organization.id, status=AuctionState.closed,
        trade_mode="transfer", starts_at=at("2019-05-01"), ends_at=at("2019-05-10"),
        scheduled_ends_at=at("2019-05-10"), start_price_fen=500_000, increment_fen=50_000, high_bid_fen=650_000,
        bid_count=2, closed_at=at("2019-05-10"),
    )  # fmt: skip
    unsold = Auction(
        listing_id=s.listings["L4"], seller_organization_id=a.organization.id, status=AuctionState.unsold,
        trade_mode="transfer", starts_at=at("2019-05-01"), ends_at=at("2019-05-15"),
        scheduled_ends_at=at("2019-05-15"), start_price_fen=300_000, increment_fen=10_000,
        closed_at=at("2019-05-15"),
    )  # fmt: skip
    session.add_all([sold, unsold])
    await session.flush()
    bidders = [
        AuctionRegistration(auction_id=sold.id, organization_id=e.organization.id, bidder_number=1),
        AuctionRegistration(auction_id=sold.id, organization_id=a.organization.id, bidder_number=2),
    ]
    session.add_all(bidders)
    await session.flush()
    session.add_all(
        [
            AuctionBid(auction_id=sold.id, registration_id=bidders[1].id, bidder_number=2, seq=1, amount_fen=500_000),
            AuctionBid(auction_id=sold.id, registration_id=bidders[0].id, bidder_number=1, seq=2, amount_fen=650_000),
        ]
    )
    # X4: the award, agreed when created 05-10 (35 days after L3), signed 05-13, completed 05-20.
    x4 = await deal(
        "X4", "L3", b, origin=DealOrigin.auction, state=State.completed, auction_id=sold.id,
        registration_id=bidders[0].id, price_basis=PriceBasis.auction, price_fen=650_000, trade_mode="transfer",
        created_at=at("2019-05-10"), ended_at=at("2019-05-20"),
    )  # fmt: skip
    session.add(
        _contract(
            x4, b, e, contract_type=ContractType.transfer, trade_mode="transfer", amount_fen=650_000,
            technology_fen=600_000, buyer_confirmed_at=at("2019-05-12"), seller_confirmed_at=at("2019-05-13"),
        )
    )  # fmt: skip
    await session.flush()
    return s
