"""Request and response shapes of the matching domain."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from marketplace.demands.models import DemandStatus
from marketplace.kit.schemas import InputSchema, OutputSchema
from marketplace.listings.models import IPAssetType, TradeMode
from marketplace.listings.schemas import Fen, FieldCodeStr, Trl, unique_items
from marketplace.matching.models import DismissReason, Verdict
from marketplace.matching.scoring import Constraint

SearchName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
SearchText = Annotated[str, StringConstraints(max_length=1000)]
RegionPrefix = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}([0-9]{2}([0-9]{2})?)?$")]
Note = Annotated[str, StringConstraints(max_length=500)]


class Reasons(OutputSchema):
    """Why a pair fits, part by part."""

    matched_terms: list[str] = Field(description="Words of the demand (or listing) found in the other's text.")
    field: Literal["exact", "parent", "none"] = Field(
        description="exact: a shared field code; parent: the same top-level field; none."
    )
    field_codes: list[str]
    maturity: Literal["meets", "below", "unknown", "no_minimum"]
    trl: int | None
    min_trl: int | None
    price: Literal["within", "below_budget", "negotiable", "above_budget", "no_budget", "unknown"]
    price_floor_fen: int | None = Field(description="Fixed price, range minimum or auction start price.")
    budget_max_fen: int | None
    trade_mode: Literal["offered", "not_offered", "any"]
    common_modes: list[TradeMode]
    region: Literal["same_county", "same_city", "same_province", "other", "unknown"]


class ScoreParts(OutputSchema):
    """The score's parts (they add up to it)."""

    text: float
    field: float
    maturity: float
    price: float
    trade_mode: float
    region: float


class MatchedListing(OutputSchema):
    """A recommended listing's public facts."""

    id: uuid.UUID
    title: str
    holder_id: uuid.UUID | None
    holder_name: str | None
    field_codes: list[str]
    trl: int | None
    trade_modes: list[TradeMode]
    pricing_kind: str | None
    price_min_fen: int | None
    price_max_fen: int | None
    region_code: str | None


class ListingMatchRead(OutputSchema):
    """A listing recommended for a demand, with its score and reasons."""

    listing: MatchedListing
    score: float = Field(description="0-100; the sum of `parts`.")
    parts: ScoreParts
    reasons: Reasons
    violations: list[Constraint] = Field(description="Hard constraints broken (only when relaxed).")
    explanation: str = Field(description="One line in Chinese.")
    feedback: Verdict | None = Field(description="The enterprise's verdict so far (interested), if any.")


class ListingMatchPage(OutputSchema):
    """A demand's recommended listings, best first."""

    demand_id: uuid.UUID
    relaxed: list[Constraint]
    items: list[ListingMatchRead]


class DemandSummary(OutputSchema):
    """What a demand publishes (never its enterprise's private data)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    organization_name: str | None
    title: str
    description: str | None
    field_codes: list[str]
    budget_min_fen: int | None
    budget_max_fen: int | None
    trade_modes: list[TradeMode]
    min_trl: int | None
    region_code: str | None
    deadline: date | None
    status: DemandStatus


class DemandMatchRead(OutputSchema):
    """An open demand a listing fits, with its score and reasons."""

    demand: DemandSummary
    score: float
    parts: ScoreParts
    reasons: Reasons
    violations: list[Constraint]
    explanation: str


class DemandMatchPage(OutputSchema):
    """Open demands a listing fits, best first."""

    listing_id: uuid.UUID
    relaxed: list[Constraint]
    items: list[DemandMatchRead]
    saved_search_organizations: int = Field(
        description="Organisations with a saved search the listing was announced to (match.found); only a "
        "count, since saved searches are private."
    )


class FeedbackInput(InputSchema):
    """An enterprise's verdict on a recommended listing; not_relevant hides it from the demand's matches."""

    verdict: Verdict
    reason: DismissReason | None = Field(default=None, description="Why not relevant (not_relevant only).")
    note: Note | None = None

    @model_validator(mode="after")
    def _reason_only_when_dismissed(self) -> FeedbackInput:
        if self.reason is not None and self.verdict is not Verdict.not_relevant:
            raise ValueError("reason is given only with verdict not_relevant")
        return self


class FeedbackRead(OutputSchema):
    """A verdict on one (demand, listing) pair."""

    id: uuid.UUID
    demand_id: uuid.UUID
    listing_id: uuid.UUID
    organization_id: uuid.UUID
    verdict: Verdict
    reason: DismissReason | None
    note: str | None
    created_at: datetime
    updated_at: datetime


class InterestRead(OutputSchema):
    """An enterprise is interested in a listing for one of its demands."""

    demand: DemandSummary
    since: datetime


class InterestList(OutputSchema):
    """Interest shown in a listing (what the demands publish only)."""

    items: list[InterestRead]


FieldCodes = Annotated[list[FieldCodeStr], Field(max_length=20), AfterValidator(unique_items)]
Modes = Annotated[list[TradeMode], Field(max_length=len(TradeMode)), AfterValidator(unique_items)]
IpTypes = Annotated[list[IPAssetType], Field(max_length=len(IPAssetType)), AfterValidator(unique_items)]


class SavedSearchCreate(InputSchema):
    """A search to keep: query text and filters as GET /search/listings takes them."""

    name: SearchName = Field(examples=["固态电池"])
    q: SearchText = Field(default="", description="Search text; every word must be present (synonyms count).")
    field_codes: FieldCodes = Field(default_factory=list)
    trl_min: Trl | None = None
    trl_max: Trl | None = None
    trade_modes: Modes = Field(default_factory=list)
    ip_types: IpTypes = Field(default_factory=list)
    price_min_fen: Fen | None = None
    price_max_fen: Fen | None = None
    region: RegionPrefix | None = Field(default=None, description="Region code prefix (44, 4403 or 440305).")
    notify: bool = Field(default=True, description="Raise match.found when a new listing fits.")


class SavedSearchUpdate(InputSchema):
    """Changes to a saved search; omitted fields stay."""

    name: SearchName | None = None
    q: SearchText | None = None
    field_codes: FieldCodes | None = None
    trl_min: Trl | None = None
    trl_max: Trl | None = None
    trade_modes: Modes | None = None
    ip_types: IpTypes | None = None
    price_min_fen: Fen | None = None
    price_max_fen: Fen | None = None
    region: RegionPrefix | None = None
    notify: bool | None = None


class SavedSearchRead(OutputSchema):
    """A saved search."""

    id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID | None
    name: str
    q: str
    field_codes: list[str]
    trl_min: int | None
    trl_max: int | None
    trade_modes: list[TradeMode]
    ip_types: list[IPAssetType]
    price_min_fen: int | None
    price_max_fen: int | None
    region: str | None
    notify: bool
    created_at: datetime
    updated_at: datetime


class SavedSearchList(OutputSchema):
    """An organisation's saved searches."""

    items: list[SavedSearchRead]


class BrokerClientCreate(InputSchema):
    """An enterprise names a broker agency to act for it."""

    agency_organization_id: uuid.UUID


class BrokerClientRead(OutputSchema):
    """An enterprise and the broker agency acting for it."""

    id: uuid.UUID
    enterprise_organization_id: uuid.UUID
    enterprise_name: str
    agency_organization_id: uuid.UUID
    agency_name: str
    created_at: datetime


class BrokerClientList(OutputSchema):
    """Relations the caller's organisation is on either side of."""

    items: list[BrokerClientRead]


class PipelineItem(OutputSchema):
    """One client demand and its top recommendations."""

    enterprise_organization_id: uuid.UUID
    demand: DemandSummary
    matches: list[ListingMatchRead]
    interested_listing_ids: list[uuid.UUID] = Field(description="Listings the enterprise marked interested.")


class Pipeline(OutputSchema):
    """A broker agency's pipeline: for each client's open demand, its top matches."""

    items: list[PipelineItem]


class IntroductionInput(InputSchema):
    """Turn a match into an introduction: a deal opened by the broker for its client, in its first state."""

    demand_id: uuid.UUID
    listing_id: uuid.UUID
    message: Annotated[str, StringConstraints(min_length=1, max_length=4000)] = Field(
        examples=["受贵司委托，希望了解该技术的许可条件。"]
    )
    commission_bps: int | None = Field(default=None, ge=0, le=10_000)
    commission_fixed_fen: Fen | None = None


RelaxParam = Literal["budget", "trl", "trade_mode", "all"]
