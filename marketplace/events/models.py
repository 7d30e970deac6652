"""The audit trail and the transactional outbox."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field


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
    __table_args__ = (
        sa.Index("ix_outbox_events_unprocessed", "seq", postgresql_where=sa.text("processed_at IS NULL")),
    )

    id: uuid.UUID = id_field()
    seq: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(always=True), unique=True, nullable=False)
    )
    type: str = Field(max_length=80, index=True)
    organization_id: uuid.UUID | None = Field(default=None, index=True)
    subject_type: str = Field(max_length=40)
    subject_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    # Organisations allowed to receive this event (webhooks, feeds); empty means only organization_id.
    audience: list[uuid.UUID] = Field(default_factory=list, sa_type=sa.ARRAY(sa.Uuid()))
    request_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = created_field()
    processed_at: datetime | None = tz_field()


class JobStatus(enum.StrEnum):
    """Where a job stands."""

    pending = "pending"
    running = "running"
    done = "done"
    dead = "dead"


class Job(SQLModel, table=True):
    """A durable unit of work (a handler run or a timer), claimed by workers with SKIP LOCKED."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_due", "run_at", postgresql_where=sa.text("status = 'pending'")),
        sa.Index("ix_jobs_lease", "locked_until", postgresql_where=sa.text("status = 'running'")),
    )

    id: uuid.UUID = id_field()
    kind: str = Field(max_length=80, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: JobStatus = Field(default=JobStatus.pending, sa_type=str_enum(JobStatus))
    run_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    attempts: int = Field(default=0)
    max_attempts: int = Field(default=12)
    last_error: str | None = Field(default=None, max_length=4000)
    locked_by: str | None = Field(default=None, max_length=100)
    locked_until: datetime | None = tz_field()
    created_at: datetime = created_field()
    finished_at: datetime | None = tz_field()
