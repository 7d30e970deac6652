"""Technology demands (技术需求) posted by enterprises."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, tz_field, updated_field


class DemandStatus(enum.StrEnum):
    """Where a demand stands: open -> fulfilled | closed | expired."""

    open = "open"
    fulfilled = "fulfilled"
    closed = "closed"
    expired = "expired"


class Demand(SQLModel, table=True):
    """What an enterprise is looking for, with budget, modes, maturity and a deadline."""

    __tablename__ = "demands"
    __table_args__ = (
        sa.CheckConstraint("status IN ('open', 'fulfilled', 'closed', 'expired')", name="status"),
        sa.CheckConstraint("min_trl IS NULL OR min_trl BETWEEN 1 AND 9", name="min_trl"),
        sa.CheckConstraint(
            "budget_min_fen IS NULL OR budget_max_fen IS NULL OR budget_min_fen <= budget_max_fen", name="budget"
        ),
        sa.Index("ix_demands_status_deadline", "status", "deadline"),
        sa.Index("ix_demands_field_codes", "field_codes", postgresql_using="gin"),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: DemandStatus = Field(default=DemandStatus.open, sa_type=sa.String(20))
    title: str = Field(max_length=200)
    description: str | None = Field(default=None, sa_type=sa.Text)
    field_codes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(10)))
    budget_min_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    budget_max_fen: int | None = Field(default=None, sa_type=sa.BigInteger)
    trade_modes: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(30)))
    min_trl: int | None = Field(default=None)
    region_code: str | None = Field(default=None, max_length=6)
    deadline: date | None = Field(default=None)
    wants_broker_contact: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()
    closed_at: datetime | None = tz_field()
    fulfilled_at: datetime | None = tz_field()
    expired_at: datetime | None = tz_field()
