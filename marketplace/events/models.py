"""The audit trail and the transactional outbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, tz_field


class AuditEvent(SQLModel, table=True):
    """One state change: who, for which organisation, did what, to what, when (append-only)."""

    __tablename__ = "audit_events"

    id: uuid.UUID = id_field()
    actor_user_id: uuid.UUID | None = Field(default=None, index=True)
    actor_organization_id: uuid.UUID | None = Field(default=None)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    action: str = Field(max_length=80)
    target_type: str = Field(max_length=40)
    target_id: str = Field(max_length=64, index=True)
    diff: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_field()


class OutboxEvent(SQLModel, table=True):
    """An event recorded in the same transaction as the change; delivered by the worker after commit."""

    __tablename__ = "outbox_events"
    __table_args__ = (sa.Index("ix_outbox_events_unprocessed", "seq", postgresql_where=sa.text("processed_at IS NULL")),)

    id: uuid.UUID = id_field()
    seq: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(always=True), unique=True, nullable=False))
    type: str = Field(max_length=80, index=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    subject_type: str = Field(max_length=40)
    subject_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_field()
    processed_at: datetime | None = tz_field()
