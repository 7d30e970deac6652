"""Response shapes of the reports domain (money in integer fen)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import Field

from marketplace.kit.schemas import OutputSchema


class Period(OutputSchema):
    """The reported dates, both inclusive, in China Standard Time (UTC+8)."""

    from_date: date
    to_date: date


class CatalogueCount(OutputSchema):
    """Listings published and demands created in one group."""

    code: str = Field(description="Top-level field code, province code (e.g. 440000) or month (YYYY-MM).")
    name_zh: str
    listings: int
    demands: int


class CatalogueReport(OutputSchema):
    """Listings published and demands created in the period, by field, province and month."""

    period: Period
    listings: int = Field(description="Listings first published in the period.")
    demands: int = Field(description="Demands created in the period.")
    by_field: list[CatalogueCount]
    by_region: list[CatalogueCount]
    by_month: list[CatalogueCount]
    notes: list[str]


class DealMonth(OutputSchema):
    """Deal events and signed contract value in one month."""

    month: str = Field(examples=["2026-03"])
    opened: int
    agreed: int
    completed: int
    cancelled: int
    contracts: int = Field(description="Contracts both parties confirmed in the month.")
    amount_fen: int = Field(description="成交额 of those contracts.")
    technology_fen: int = Field(description="技术交易额 of those contracts.")


class ValueRow(OutputSchema):
    """Signed contract value in one group."""

    code: str
    name_zh: str
    contracts: int
    amount_fen: int
    technology_fen: int


class InstituteRow(OutputSchema):
    """An institute's completed deals as seller."""

    organization_id: uuid.UUID
    name_zh: str
    credit_code: str | None
    deals: int
    amount_fen: int
    technology_fen: int


class AuctionOutcome(OutputSchema):
    """One auction that ended in the period: start price against the highest bid."""

    auction_id: uuid.UUID
    listing_id: uuid.UUID
    title_zh: str
    status: str = Field(description="closed (sold) or unsold.")
    closed_at: datetime
    start_price_fen: int
    final_price_fen: int | None = Field(description="Highest bid, if the lot sold.")
    bids: int = Field(description="Bids recorded.")
    premium_bps: int | None = Field(description="(final - start) / start in basis points, if sold.")


class AuctionSummary(OutputSchema):
    """The auctions that ended in the period, together."""

    ended: int
    sold: int
    unsold: int
    start_price_fen: int = Field(description="Sum of start prices of the sold lots.")
    final_price_fen: int = Field(description="Sum of final prices of the sold lots.")


class DealsReport(OutputSchema):
    """Deal flow and value in the period."""

    period: Period
    by_month: list[DealMonth]
    totals: DealMonth = Field(description="The period's totals (month is the period).")
    value_by_field: list[ValueRow]
    value_by_region: list[ValueRow]
    value_by_trade_mode: list[ValueRow]
    median_days_to_agreement: float | None = Field(
        description="Median days from the listing's publication to agreement, for deals agreed in the period."
    )
    agreements_measured: int
    top_institutes: list[InstituteRow]
    auctions: list[AuctionOutcome]
    auction_summary: AuctionSummary
    notes: list[str]


class ContractRegistration(OutputSchema):
    """One completed deal's contract, as 技术合同认定登记 asks for it."""

    contract_id: uuid.UUID
    deal_id: uuid.UUID
    contract_type: str
    contract_type_zh: str
    trade_mode: str
    subject_name: str
    seller_name: str
    seller_credit_code: str | None
    buyer_name: str
    buyer_credit_code: str | None
    amount_fen: int = Field(description="成交额.")
    technology_fen: int = Field(description="技术交易额.")
    term_months: int | None
    signed_at: datetime | None = Field(description="When the second party confirmed the contract.")
    completed_at: datetime


class ContractRegistrations(OutputSchema):
    """Contracts of the deals completed in the period."""

    period: Period
    items: list[ContractRegistration]
    amount_fen: int
    technology_fen: int
    notes: list[str]
