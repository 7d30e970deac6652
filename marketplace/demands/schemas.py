"""Request and response shapes of the demands domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from marketplace.demands.models import DemandStatus
from marketplace.kit.pagination import Page
from marketplace.kit.schemas import InputSchema, OutputSchema
from marketplace.listings.models import TradeMode
from marketplace.listings.schemas import MAX_FIELD_CODES, Fen, FieldCodeStr, LongText, RegionCodeStr, Trl, unique_items

DemandTitle = Annotated[str, StringConstraints(min_length=2, max_length=200)]
DemandFieldCodes = Annotated[
    list[FieldCodeStr], Field(min_length=1, max_length=MAX_FIELD_CODES), AfterValidator(unique_items)
]
WantedModes = Annotated[list[TradeMode], Field(max_length=len(TradeMode)), AfterValidator(unique_items)]


class DemandCreate(InputSchema):
    """A new demand (open at once)."""

    title: DemandTitle = Field(examples=["寻求工业机器人视觉定位技术"])
    description: LongText | None = None
    field_codes: DemandFieldCodes = Field(examples=[["2.1"]])
    budget_min_fen: Fen | None = Field(default=None, description="Budget floor in fen.")
    budget_max_fen: Fen | None = Field(default=None, description="Budget ceiling in fen (>= the floor).")
    trade_modes: WantedModes = Field(default_factory=list, description="Wanted trade modes; empty: any.")
    min_trl: Trl | None = Field(default=None, description="Minimum maturity wanted.")
    region_code: RegionCodeStr | None = None
    deadline: date | None = Field(default=None, description="Last day the demand is open (China time); in the future.")
    wants_broker_contact: bool = Field(default=False, description="Whether technology brokers may make contact.")


class DemandUpdate(InputSchema):
    """Changes to an open demand; omitted fields stay."""

    title: DemandTitle | None = None
    description: LongText | None = None
    field_codes: DemandFieldCodes | None = None
    budget_min_fen: Fen | None = None
    budget_max_fen: Fen | None = None
    trade_modes: WantedModes | None = None
    min_trl: Trl | None = None
    region_code: RegionCodeStr | None = None
    deadline: date | None = None
    wants_broker_contact: bool | None = None


class DemandRead(OutputSchema):
    """A demand; `status` already says expired once the deadline has passed."""

    id: uuid.UUID
    organization_id: uuid.UUID
    status: DemandStatus
    title: str
    description: str | None
    field_codes: list[str]
    budget_min_fen: int | None
    budget_max_fen: int | None
    currency: str = "CNY"
    trade_modes: list[TradeMode]
    min_trl: int | None
    min_trl_stage_zh: str | None
    region_code: str | None
    region_name: str | None
    deadline: date | None
    wants_broker_contact: bool
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    fulfilled_at: datetime | None
    expired_at: datetime | None


DemandPage = Page[DemandRead]
