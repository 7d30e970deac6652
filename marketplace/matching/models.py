"""Matching tables: saved searches, demand match profiles, feedback, notified pairs and broker clients."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, updated_field


class Verdict(enum.StrEnum):
    """What an enterprise said about a recommended listing."""

    interested = "interested"
    not_relevant = "not_relevant"


class DismissReason(enum.StrEnum):
    """Why a recommendation is not relevant (a fixed list, so the reasons can be counted)."""

    too_early = "too_early"
    too_expensive = "too_expensive"
    wrong_field = "wrong_field"
    already_have = "already_have"
    other = "other"


class TargetKind(enum.StrEnum):
    """What a new listing was found to fit."""

    demand = "demand"
    saved_search = "saved_search"


class SavedSearch(SQLModel, table=True):
    """A search an enterprise or broker keeps; new listings that fit it raise `match.found`.

    `match_query` is the query text analysed once (every word, with its synonyms), so a new listing is
    checked against all saved searches in one statement.
    """

    __tablename__ = "saved_searches"

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    name: str = Field(max_length=100)
    query: str = Field(default="", max_length=1000)
    field_codes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(10)))
    """As filtered: a top-level code matches its children (the listing side carries both)."""
    trl_min: int | None = Field(default=None)
    trl_max: int | None = Field(default=None)
    trade_modes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(30)))
    ip_types: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(30)))
    price_min_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    price_max_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    region_prefix: str | None = Field(default=None, max_length=6)
    match_query: str | None = Field(default=None, sa_type=TSQUERY)
    notify: bool = Field(default=True)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class DemandMatchProfile(SQLModel, table=True):
    """A demand's distinctive title words as a tsquery and its top-level fields, kept by the worker."""

    __tablename__ = "demand_match_profiles"

    demand_id: uuid.UUID = Field(foreign_key="demands.id", primary_key=True, ondelete="CASCADE")
    match_query: str = Field(sa_type=TSQUERY)
    field_parents: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(10)))
    updated_at: datetime = updated_field()


class MatchFeedback(SQLModel, table=True):
    """An enterprise's verdict on one recommended listing for one of its demands (the latest one counts)."""

    __tablename__ = "match_feedback"
    __table_args__ = (sa.UniqueConstraint("demand_id", "listing_id", name="uq_match_feedback_demand_listing"),)

    id: uuid.UUID = id_field()
    demand_id: uuid.UUID = Field(foreign_key="demands.id", ondelete="CASCADE")
    listing_id: uuid.UUID = Field(foreign_key="listings.id", index=True, ondelete="CASCADE")
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    verdict: Verdict = Field(sa_type=str_enum(Verdict))
    reason: DismissReason | None = Field(default=None, sa_type=str_enum(DismissReason))
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class MatchNotifiedPair(SQLModel, table=True):
    """A (listing, demand or saved search) pair already announced by `match.found`: never twice."""

    __tablename__ = "match_notified_pairs"

    listing_id: uuid.UUID = Field(foreign_key="listings.id", primary_key=True, ondelete="CASCADE")
    target_kind: TargetKind = Field(sa_type=str_enum(TargetKind), primary_key=True)
    target_id: uuid.UUID = Field(primary_key=True)
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_at: datetime = created_field()


class BrokerClient(SQLModel, table=True):
    """An enterprise names a broker agency as its broker: the agency's brokers see its matches."""

    __tablename__ = "broker_clients"
    __table_args__ = (
        sa.UniqueConstraint(
            "enterprise_organization_id", "agency_organization_id", name="uq_broker_clients_enterprise_agency"
        ),
    )

    id: uuid.UUID = id_field()
    enterprise_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    agency_organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_at: datetime = created_field()
