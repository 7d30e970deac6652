"""Stored first answers for Idempotency-Key replays."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field


class IdempotencyRecord(SQLModel, table=True):
    """The first successful answer to a POST, keyed by caller and Idempotency-Key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("principal", "key", name="uq_idempotency_records_principal_key"),)

    id: uuid.UUID = id_field()
    principal: str = Field(max_length=64)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    method: str = Field(max_length=10)
    path: str = Field(max_length=2000)
    status_code: int | None = Field(default=None)
    response_headers: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
    created_at: datetime = created_field()


class RateLimitCounter(SQLModel, table=True):
    """One fixed-window request counter per limited caller (the shared rate-limit store; UNLOGGED, no WAL)."""

    __tablename__ = "rate_limit_counters"
    __table_args__ = {"prefixes": ["UNLOGGED"]}

    key: str = Field(primary_key=True, max_length=200)
    window_start: datetime = Field(sa_type=sa.DateTime(timezone=True), nullable=False)
    hits: int = Field(nullable=False)
