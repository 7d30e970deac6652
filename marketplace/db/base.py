"""Shared column mixins and the metadata every table model registers on."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from marketplace.kit.ids import uuid7
from marketplace.kit.time import utcnow

# Stable constraint names so Alembic migrations are predictable.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def id_field() -> uuid.UUID:
    """A UUIDv7 primary key column."""
    return Field(default_factory=uuid7, primary_key=True)  # type: ignore[no-any-return]


def created_field() -> datetime:
    """A timezone-aware creation time set by the application clock."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow, sa_type=sa.DateTime(timezone=True), nullable=False
    )


def updated_field() -> datetime:
    """A timezone-aware last-change time, refreshed on every update."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )


def tz_field(*, nullable: bool = True) -> datetime | None:
    """An optional timezone-aware timestamp column."""
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable)  # type: ignore[no-any-return]


def str_enum(enum_cls: type[enum.StrEnum], *, length: int = 20) -> sa.Enum:
    """A VARCHAR column that loads as the Python enum (so `is` and `==` both work on loaded rows)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )
