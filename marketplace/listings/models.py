"""Technology results (科技成果): listings, their IP assets, revisions, NDA acceptances, attachments and watches."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, tz_field, updated_field


class ListingStatus(enum.StrEnum):
    """Where a listing is in its life: draft -> submitted -> published | rejected -> withdrawn | closed."""

    draft = "draft"
    submitted = "submitted"
    published = "published"
    rejected = "rejected"
    withdrawn = "withdrawn"
    closed = "closed"


ACTIVE_STATUSES = frozenset({ListingStatus.submitted, ListingStatus.published})


class AchievementType(enum.StrEnum):
    """What kind of result it is."""

    applied_technology = "applied_technology"
    basic_research = "basic_research"
    soft_science = "soft_science"


class TradeMode(enum.StrEnum):
    """How a result may be traded (转让, 独占/排他/普通许可, 作价投资, 技术开发, 技术服务)."""

    transfer = "transfer"
    exclusive_licence = "exclusive_licence"
    sole_licence = "sole_licence"
    non_exclusive_licence = "non_exclusive_licence"
    equity_investment = "equity_investment"
    co_development = "co_development"
    technical_service = "technical_service"


class PricingKind(enum.StrEnum):
    """How the price is set."""

    fixed = "fixed"
    range = "range"
    negotiable = "negotiable"
    auction = "auction"


class IPAssetType(enum.StrEnum):
    """Kinds of intellectual property a listing can carry."""

    invention_patent = "invention_patent"
    utility_model = "utility_model"
    design_patent = "design_patent"
    software_copyright = "software_copyright"
    ic_layout_design = "ic_layout_design"
    plant_variety = "plant_variety"
    new_drug_certificate = "new_drug_certificate"
    know_how = "know_how"


PATENT_TYPES = frozenset({IPAssetType.invention_patent, IPAssetType.utility_model, IPAssetType.design_patent})


class IPLegalStatus(enum.StrEnum):
    """The legal state of an IP right."""

    pending = "pending"
    granted = "granted"
    lapsed = "lapsed"
    expired = "expired"


class RevisionStatus(enum.StrEnum):
    """Where a proposed change to a published listing stands."""

    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    cancelled = "cancelled"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


_PATENT_TYPES_SQL = ", ".join(f"'{t.value}'" for t in sorted(PATENT_TYPES))


class Listing(SQLModel, table=True):
    """A technology result offered by an institute or enterprise."""

    __tablename__ = "listings"
    __table_args__ = (
        sa.CheckConstraint(_in("status", ListingStatus), name="status"),
        sa.CheckConstraint(_in("achievement_type", AchievementType), name="achievement_type"),
        sa.CheckConstraint(_in("pricing_kind", PricingKind), name="pricing_kind"),
        sa.CheckConstraint("trl BETWEEN 1 AND 9", name="trl"),
        sa.CheckConstraint("cardinality(trade_modes) >= 1", name="trade_modes"),
        sa.CheckConstraint("pricing_kind <> 'fixed' OR price_fen IS NOT NULL", name="fixed_price"),
        sa.CheckConstraint(
            "pricing_kind <> 'range' OR (min_fen IS NOT NULL AND max_fen IS NOT NULL AND min_fen <= max_fen)",
            name="range_price",
        ),
        sa.CheckConstraint(
            "pricing_kind <> 'auction' OR (start_price_fen IS NOT NULL AND increment_fen > 0 "
            "AND (reserve_fen IS NULL OR reserve_fen >= start_price_fen) AND deposit_fen >= 0)",
            name="auction_price",
        ),
        sa.Index("ix_listings_published", "status", "published_at", "id"),
        sa.Index("ix_listings_field_codes", "field_codes", postgresql_using="gin"),
        sa.Index("ix_listings_trade_modes", "trade_modes", postgresql_using="gin"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: ListingStatus = Field(default=ListingStatus.draft, sa_type=sa.String(20))
    title_zh: str = Field(max_length=200)
    title_en: str | None = Field(default=None, max_length=300)
    summary: str | None = Field(default=None, max_length=1000)
    description: str | None = Field(default=None, sa_type=sa.Text)
    keywords: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(40)))
    field_codes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(10)))
    trl: int
    achievement_type: AchievementType = Field(sa_type=sa.String(30))
    inventors: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(100)))
    trade_modes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(30)))
    pricing_kind: PricingKind = Field(sa_type=sa.String(20))
    price_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    min_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    max_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    start_price_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    increment_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    reserve_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    deposit_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    region_code: str = Field(max_length=6, index=True)
    holder_state_funded: bool = Field(default=False)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = Field(default=None, max_length=30)
    contact_email: str | None = Field(default=None, max_length=320)
    confidential_description: str | None = Field(default=None, sa_type=sa.Text)
    nda_text: str | None = Field(default=None, sa_type=sa.Text)
    nda_version: int = Field(default=0)
    review_note: str | None = Field(default=None, max_length=2000)
    version: int = Field(default=1)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()
    submitted_at: datetime | None = tz_field()
    published_at: datetime | None = tz_field()
    withdrawn_at: datetime | None = tz_field()
    closed_at: datetime | None = tz_field()


class ListingIPAsset(SQLModel, table=True):
    """One IP right attached to a listing; `active` mirrors whether the listing is submitted or published."""

    __tablename__ = "listing_ip_assets"
    __table_args__ = (
        sa.CheckConstraint(_in("type", IPAssetType), name="type"),
        sa.CheckConstraint(_in("legal_status", IPLegalStatus), name="legal_status"),
        # One granted patent can be offered by one active listing at a time.
        sa.Index(
            "ux_listing_ip_assets_active_granted_patent",
            "number",
            unique=True,
            postgresql_where=sa.text(f"active AND legal_status = 'granted' AND type IN ({_PATENT_TYPES_SQL})"),
        ),
    )

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    position: int = Field(default=0)
    type: IPAssetType = Field(sa_type=sa.String(30))
    number: str | None = Field(default=None, max_length=40)
    title: str | None = Field(default=None, max_length=300)
    holder: str | None = Field(default=None, max_length=200)
    filing_date: date | None = Field(default=None)
    grant_date: date | None = Field(default=None)
    expiry_date: date | None = Field(default=None)
    legal_status: IPLegalStatus = Field(default=IPLegalStatus.pending, sa_type=sa.String(20))
    active: bool = Field(default=False)


class ListingRevision(SQLModel, table=True):
    """Proposed changes to a published listing's public facts, waiting for the platform's review."""

    __tablename__ = "listing_revisions"
    __table_args__ = (
        sa.CheckConstraint(_in("status", RevisionStatus), name="status"),
        sa.Index(
            "ux_listing_revisions_one_pending",
            "listing_id",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    status: RevisionStatus = Field(default=RevisionStatus.pending, sa_type=sa.String(20))
    changes: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    proposed_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decided_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    reason: str | None = Field(default=None, max_length=2000)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()
    decided_at: datetime | None = tz_field()


class NdaAcceptance(SQLModel, table=True):
    """An organisation accepted one version of a listing's NDA (through one of its users)."""

    __tablename__ = "listing_nda_acceptances"
    __table_args__ = (
        sa.UniqueConstraint(
            "listing_id", "organization_id", "nda_version", name="uq_listing_nda_acceptances_listing_org_version"
        ),
    )

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    nda_version: int
    accepted_at: datetime = created_field()


class ListingAttachment(SQLModel, table=True):
    """A file attached to a listing; confidential ones follow the listing's NDA."""

    __tablename__ = "listing_attachments"

    id: uuid.UUID = id_field()
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size_bytes: int
    sha256: str = Field(max_length=64)
    confidential: bool = Field(default=False)
    storage_key: str = Field(max_length=200)
    uploaded_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_field()


class ListingWatch(SQLModel, table=True):
    """A user watches (favourites) a listing."""

    __tablename__ = "listing_watches"
    __table_args__ = (sa.UniqueConstraint("user_id", "listing_id", name="uq_listing_watches_user_listing"),)

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id")
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    created_at: datetime = created_field()
