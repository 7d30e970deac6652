"""Organisations, their users and the users' API keys."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field, updated_field


class OrganizationKind(enum.StrEnum):
    """What part an organisation plays on the exchange."""

    institute = "institute"
    enterprise = "enterprise"
    broker_agency = "broker_agency"
    platform = "platform"


class VerificationStatus(enum.StrEnum):
    """Where the platform's check of an organisation stands."""

    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class Role(enum.StrEnum):
    """A user's role in their organisation, from least to most powerful."""

    viewer = "viewer"
    member = "member"
    admin = "admin"
    owner = "owner"

    @property
    def rank(self) -> int:
        """Position in the hierarchy; higher includes everything lower may do."""
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}


class ApiKeyScope(enum.StrEnum):
    """What a key may do: read only, or read and write."""

    read = "read"
    write = "write"


class Organization(SQLModel, table=True):
    """A registered party: institute, enterprise, broker agency or the platform operator."""

    __tablename__ = "organizations"

    id: uuid.UUID = id_field()
    kind: OrganizationKind = Field(sa_type=str_enum(OrganizationKind), index=True)
    name_zh: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=300)
    credit_code: str | None = Field(default=None, max_length=18, unique=True)
    region_code: str | None = Field(default=None, max_length=6)
    website: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=4000)
    verification_status: VerificationStatus = Field(
        default=VerificationStatus.pending, sa_type=str_enum(VerificationStatus), index=True
    )
    verification_note: str | None = Field(default=None, max_length=1000)
    verified_at: datetime | None = tz_field()
    version: int = Field(default=1)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class User(SQLModel, table=True):
    """A person (or a service account) acting for exactly one organisation."""

    __tablename__ = "users"
    __table_args__ = (sa.Index("ux_users_email_lower", sa.text("lower(email)"), unique=True),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    email: str = Field(max_length=320, sa_column_kwargs={"unique": True})
    display_name: str = Field(max_length=100)
    role: Role = Field(sa_type=str_enum(Role))
    is_active: bool = Field(default=True)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class ApiKey(SQLModel, table=True):
    """A user's machine credential; only its hash and a recognisable prefix are stored."""

    __tablename__ = "api_keys"

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    scopes: list[str] = Field(sa_type=sa.ARRAY(sa.String(10)))
    created_at: datetime = created_field()
    last_used_at: datetime | None = tz_field()
    revoked_at: datetime | None = tz_field()
    expires_at: datetime | None = tz_field()
