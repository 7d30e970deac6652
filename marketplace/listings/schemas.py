"""Request and response shapes of the listings domain.

Reads come in tiers: ListingSummary (lists), ListingPublic (anyone who can see the listing),
ListingConfidential (adds the confidential part, for organisations that accepted the current NDA)
and ListingRead (everything, for the owning organisation and the platform).
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from litestar.datastructures import UploadFile
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from marketplace.kit.pagination import Page
from marketplace.kit.schemas import NOT_BOOLEAN, InputSchema, OutputSchema
from marketplace.listings.models import (
    PATENT_TYPES,
    AchievementType,
    IPAssetType,
    IPLegalStatus,
    ListingStatus,
    PricingKind,
    RevisionStatus,
    TradeMode,
)
from marketplace.reference.fields import is_valid_field
from marketplace.reference.patents import PatentKind, PatentNumberError, parse_patent_number
from marketplace.reference.regions import is_valid_region

MAX_FEN = 10**15  # ten trillion yuan: far above any deal, far below BIGINT
MAX_KEYWORDS = 10
MAX_FIELD_CODES = 5
MAX_IP_ASSETS = 50
MAX_INVENTORS = 50
LONG_TEXT = 20_000

_PATENT_KIND_OF_TYPE = {
    IPAssetType.invention_patent: PatentKind.INVENTION,
    IPAssetType.utility_model: PatentKind.UTILITY_MODEL,
    IPAssetType.design_patent: PatentKind.DESIGN,
}


def unique_items(values: list[Any]) -> list[Any]:
    """The values without repeats, in their first order."""
    return list(dict.fromkeys(values))


def _field_code(value: str) -> str:
    if not is_valid_field(value):
        raise ValueError(f"unknown field code {value!r}; see GET /api/v1/reference/fields")
    return value


def _region_code(value: str) -> str:
    if not is_valid_region(value):
        raise ValueError(f"unknown region code {value!r}; see GET /api/v1/reference/regions")
    return value


FieldCodeStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10), AfterValidator(_field_code)]
RegionCodeStr = Annotated[str, StringConstraints(strip_whitespace=True, max_length=6), AfterValidator(_region_code)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TitleZh = Annotated[str, StringConstraints(min_length=2, max_length=200)]
TitleEn = Annotated[str, StringConstraints(min_length=1, max_length=300)]
Summary = Annotated[str, StringConstraints(max_length=1000)]
LongText = Annotated[str, StringConstraints(max_length=LONG_TEXT)]
# The validator wraps the constrained string, so it runs first (full-width digits are folded before the
# pattern is checked) and the pattern stays visible in the JSON schema.
Phone = Annotated[
    str,
    StringConstraints(pattern=r"^\+?[0-9][0-9\- ()]{4,28}$"),
    BeforeValidator(lambda v: unicodedata.normalize("NFKC", v) if isinstance(v, str) else v),
]
Fen = Annotated[int, Field(ge=0, le=MAX_FEN, description="Amount in fen (CNY minor units)."), NOT_BOOLEAN]
Trl = Annotated[int, Field(ge=1, le=9, description="Technology readiness level, 1-9."), NOT_BOOLEAN]

FieldCodes = Annotated[
    list[FieldCodeStr], Field(min_length=1, max_length=MAX_FIELD_CODES), AfterValidator(unique_items)
]
Keywords = Annotated[list[Keyword], Field(max_length=MAX_KEYWORDS), AfterValidator(unique_items)]
Inventors = Annotated[list[PersonName], Field(max_length=MAX_INVENTORS)]
TradeModes = Annotated[list[TradeMode], Field(min_length=1), AfterValidator(unique_items)]

# Which amounts each pricing kind uses, and which of those it needs.
PRICE_FIELDS: dict[PricingKind, tuple[frozenset[str], frozenset[str]]] = {
    PricingKind.fixed: (frozenset({"price_fen"}), frozenset({"price_fen"})),
    PricingKind.range: (frozenset({"min_fen", "max_fen"}), frozenset({"min_fen", "max_fen"})),
    PricingKind.negotiable: (frozenset(), frozenset()),
    PricingKind.auction: (
        frozenset({"start_price_fen", "increment_fen", "reserve_fen", "deposit_fen"}),
        frozenset({"start_price_fen", "increment_fen"}),
    ),
}
AMOUNT_FIELDS = (
    "price_fen",
    "min_fen",
    "max_fen",
    "start_price_fen",
    "increment_fen",
    "reserve_fen",
    "deposit_fen",
)


class PricingInput(InputSchema):
    """The price: fixed (price_fen), range (min_fen..max_fen), negotiable, or auction (start, increment, reserve, deposit)."""

    kind: PricingKind
    price_fen: Fen | None = Field(default=None, validate_default=True)
    min_fen: Fen | None = Field(default=None, validate_default=True)
    max_fen: Fen | None = Field(default=None, validate_default=True)
    start_price_fen: Fen | None = Field(default=None, validate_default=True)
    increment_fen: Fen | None = Field(default=None, validate_default=True)
    reserve_fen: Fen | None = Field(
        default=None, validate_default=True, description="Auction reserve; hidden from everyone but the holder."
    )
    deposit_fen: Fen | None = Field(default=None, validate_default=True, description="Auction deposit (保证金).")

    @field_validator(*AMOUNT_FIELDS, mode="after")
    @classmethod
    def _fits_kind(cls, value: int | None, info: ValidationInfo) -> int | None:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself is invalid; that error is reported already
            return value
        name = str(info.field_name)
        allowed, required = PRICE_FIELDS[kind]
        if value is not None and name not in allowed:
            raise ValueError(f"not used with {kind.value} pricing")
        if value is None:
            if name in required:
                raise ValueError(f"required for {kind.value} pricing")
            return 0 if kind is PricingKind.auction and name == "deposit_fen" else None
        positive = {"price_fen", "max_fen", "start_price_fen", "increment_fen"}
        if name in positive and value <= 0:
            raise ValueError("must be more than 0")
        if name == "max_fen" and (low := info.data.get("min_fen")) is not None and value < low:
            raise ValueError(f"must be at least min_fen ({low})")
        if name == "reserve_fen" and (start := info.data.get("start_price_fen")) is not None and value < start:
            raise ValueError(f"must be at least start_price_fen ({start})")
        return value


class IPAssetInput(InputSchema):
    """One IP right; patent numbers are checked (CNIPA check digit) and stored normalised (ZL…)."""

    type: IPAssetType
    number: str | None = Field(
        default=None,
        max_length=60,
        validate_default=True,
        description="Patent application number with check digit (e.g. ZL201310123456.7), or the registration number.",
    )
    title: Annotated[str, StringConstraints(max_length=300)] | None = None
    holder: Annotated[str, StringConstraints(max_length=200)] | None = None
    filing_date: date | None = None
    grant_date: date | None = None
    expiry_date: date | None = None
    legal_status: IPLegalStatus = IPLegalStatus.pending

    @field_validator("number", mode="after")
    @classmethod
    def _number(cls, value: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("type")
        if value is not None:
            value = "".join(unicodedata.normalize("NFKC", value).split())
            value = value or None
        if kind is None:
            return value
        if value is None:
            if kind is IPAssetType.know_how:
                return None
            raise ValueError(f"required for {kind.value}")
        if kind in PATENT_TYPES:
            try:
                parsed = parse_patent_number(value)
            except PatentNumberError as exc:
                raise ValueError(exc.message) from exc
            if parsed.kind is not _PATENT_KIND_OF_TYPE[kind]:
                raise ValueError(
                    f"{parsed.normalized} is a {parsed.kind.value.replace('_', ' ')} number "
                    f"(type digit {parsed.type_digit}), not a {kind.value.replace('_', ' ')}"
                )
            return parsed.normalized
        if len(value) > 40:
            raise ValueError("at most 40 characters")
        return value.upper()

    @field_validator("grant_date", mode="after")
    @classmethod
    def _granted_after_filing(cls, value: date | None, info: ValidationInfo) -> date | None:
        filed = info.data.get("filing_date")
        if value is not None and filed is not None and value < filed:
            raise ValueError("cannot be before filing_date")
        return value

    @field_validator("expiry_date", mode="after")
    @classmethod
    def _expires_after_filing(cls, value: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("grant_date") or info.data.get("filing_date")
        if value is not None and start is not None and value < start:
            raise ValueError("cannot be before the filing or grant date")
        return value


def _distinct_numbers(assets: list[IPAssetInput]) -> list[IPAssetInput]:
    seen: set[tuple[str, str]] = set()
    for asset in assets:
        if asset.number is None:
            continue
        key = (asset.type.value, asset.number)
        if key in seen:
            raise ValueError(f"{asset.number} is listed twice")
        seen.add(key)
    return assets


IPAssets = Annotated[list[IPAssetInput], Field(max_length=MAX_IP_ASSETS), AfterValidator(_distinct_numbers)]


class ListingCreate(InputSchema):
    """A new listing (a draft until submitted)."""

    title_zh: TitleZh = Field(examples=["高效钙钛矿太阳能电池制备技术"])
    title_en: TitleEn | None = Field(default=None, examples=["Efficient perovskite solar cell fabrication"])
    summary: Summary | None = None
    description: LongText | None = None
    keywords: Keywords = Field(default_factory=list)
    field_codes: FieldCodes = Field(examples=[["6.3"]], description="Codes of the SEI 2018 classification.")
    trl: Trl
    achievement_type: AchievementType = AchievementType.applied_technology
    inventors: Inventors = Field(default_factory=list, description="Inventors / completers (完成人).")
    ip_assets: IPAssets = Field(default_factory=list)
    trade_modes: TradeModes
    pricing: PricingInput
    region_code: RegionCodeStr = Field(examples=["440300"])
    holder_state_funded: bool = Field(default=False, description="The holder is state-funded (decides public notice).")
    contact_name: PersonName | None = None
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None
    confidential_description: LongText | None = Field(
        default=None, description="Shown only to the owner, the platform and organisations that accepted the NDA."
    )
    nda_text: LongText | None = Field(default=None, description="The NDA others accept to see the confidential part.")


class ListingUpdate(InputSchema):
    """Changes to a listing; omitted fields stay. On a published listing, public facts go to review."""

    title_zh: TitleZh | None = None
    title_en: TitleEn | None = None
    summary: Summary | None = None
    description: LongText | None = None
    keywords: Keywords | None = None
    field_codes: FieldCodes | None = None
    trl: Trl | None = None
    achievement_type: AchievementType | None = None
    inventors: Inventors | None = None
    ip_assets: IPAssets | None = None
    trade_modes: TradeModes | None = None
    pricing: PricingInput | None = None
    region_code: RegionCodeStr | None = None
    holder_state_funded: bool | None = None
    contact_name: PersonName | None = None
    contact_phone: Phone | None = None
    contact_email: EmailStr | None = None
    confidential_description: LongText | None = None
    nda_text: LongText | None = None


class RejectionInput(InputSchema):
    """Why the platform turns something down."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class NdaAcceptanceCreate(InputSchema):
    """Accept a listing's NDA as it stands at nda_version."""

    nda_version: int = Field(ge=1, description="The nda_version you read; it must still be current.")


class PricingPublic(OutputSchema):
    """The price as everyone sees it (the auction reserve stays hidden)."""

    kind: PricingKind
    currency: str = "CNY"
    price_fen: int | None = None
    min_fen: int | None = None
    max_fen: int | None = None
    start_price_fen: int | None = None
    increment_fen: int | None = None
    deposit_fen: int | None = None


class Pricing(PricingPublic):
    """The price as the holder and the platform see it."""

    reserve_fen: int | None = None


class IPAssetRead(OutputSchema):
    """One IP right of a listing."""

    type: IPAssetType
    number: str | None
    title: str | None
    holder: str | None
    filing_date: date | None
    grant_date: date | None
    expiry_date: date | None
    legal_status: IPLegalStatus


class Contact(OutputSchema):
    """Who to talk to about a listing."""

    name: str | None
    phone: str | None
    email: str | None


class RevisionRead(OutputSchema):
    """Proposed changes to a published listing."""

    id: uuid.UUID
    status: RevisionStatus
    changes: dict[str, Any]
    proposed_by_user_id: uuid.UUID | None
    decided_by_user_id: uuid.UUID | None
    reason: str | None
    created_at: datetime
    updated_at: datetime
    decided_at: datetime | None


class ListingSummary(OutputSchema):
    """A listing in a list."""

    id: uuid.UUID
    organization_id: uuid.UUID
    status: ListingStatus
    title_zh: str
    title_en: str | None
    summary: str | None
    field_codes: list[str]
    trl: int
    trl_stage_zh: str
    achievement_type: AchievementType
    trade_modes: list[TradeMode]
    pricing: PricingPublic
    region_code: str
    region_name: str | None
    holder_state_funded: bool
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ListingPublic(ListingSummary):
    """A listing as anyone who may see it sees it."""

    # The three views nest (public < confidential < full): closed schemas make each response match exactly one.
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"additionalProperties": False})

    description: str | None
    keywords: list[str]
    trl_stage_en: str
    trl_phase: str
    inventors: list[str]
    ip_assets: list[IPAssetRead]
    contact: Contact
    nda_text: str | None
    nda_version: int
    has_confidential: bool = Field(description="Whether there is a confidential part behind the NDA.")
    confidential_access: bool = Field(description="Whether the caller may see the confidential part.")


class ListingConfidential(ListingPublic):
    """A listing with its confidential part, for organisations that accepted the current NDA."""

    confidential_description: str | None


class ListingRead(ListingConfidential):
    """A listing in full, for its own organisation and the platform."""

    pricing: Pricing
    created_by_user_id: uuid.UUID | None
    review_note: str | None
    submitted_at: datetime | None
    withdrawn_at: datetime | None
    closed_at: datetime | None
    pending_revision: RevisionRead | None


ListingView = ListingRead | ListingConfidential | ListingPublic


class NdaAcceptanceRead(OutputSchema):
    """One organisation's acceptance of one NDA version."""

    id: uuid.UUID
    listing_id: uuid.UUID
    organization_id: uuid.UUID
    user_id: uuid.UUID
    nda_version: int
    accepted_at: datetime


class AttachmentUpload(InputSchema):
    """A multipart upload: the file and whether it is confidential."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    file: UploadFile = Field(description="The file (PDF, PNG, JPEG, DOCX, XLSX, PPTX, DOC, XLS).")
    confidential: bool = Field(default=False, description="Confidential files follow the listing's NDA.")


class AttachmentRead(OutputSchema):
    """A file attached to a listing (download it from its own route)."""

    id: uuid.UUID
    listing_id: uuid.UUID
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    confidential: bool
    created_at: datetime


class AttachmentDeleted(OutputSchema):
    """A file that was removed."""

    id: uuid.UUID
    deleted: bool


class Unwatched(OutputSchema):
    """The caller no longer watches this listing."""

    listing_id: uuid.UUID
    watching: bool


class WatchRead(OutputSchema):
    """The caller watches this listing."""

    listing_id: uuid.UUID
    created_at: datetime


class WatchlistItem(OutputSchema):
    """A watched listing and since when."""

    watched_at: datetime
    listing: ListingSummary


class ImportResult(OutputSchema):
    """What an import created."""

    imported: int
    status: ListingStatus
    organization_id: uuid.UUID


ListingPage = Page[ListingSummary]
NdaAcceptancePage = Page[NdaAcceptanceRead]
AttachmentPage = Page[AttachmentRead]
WatchlistPage = Page[WatchlistItem]
