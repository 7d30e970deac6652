"""Webhook endpoints, one delivery per (endpoint, event), and every attempt to deliver it."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field, updated_field


class DisabledReason(enum.StrEnum):
    """Why the service stopped sending to an endpoint."""

    retries_exhausted = "retries_exhausted"
    failing_for_a_day = "failing_for_a_day"
    gone = "gone"
    disabled_by_user = "disabled_by_user"


class DeliveryStatus(enum.StrEnum):
    """Where one event's delivery to one endpoint stands."""

    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"


class AttemptTrigger(enum.StrEnum):
    """What started an attempt."""

    scheduled = "scheduled"
    redelivery = "redelivery"


class WebhookEndpoint(SQLModel, table=True):
    """A URL of an organisation that receives the events it subscribed to, signed with its secret."""

    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by_user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    url: str = Field(max_length=2000)
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] = Field(default_factory=list, sa_type=sa.ARRAY(sa.String(100)))
    enabled: bool = Field(default=True)
    # Kept as given: the service needs the key itself to sign (a hash would not do).
    secret: str = Field(max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_expires_at: datetime | None = tz_field()
    disabled_reason: DisabledReason | None = Field(default=None, sa_type=str_enum(DisabledReason, length=30))
    disabled_detail: str | None = Field(default=None, max_length=500)
    disabled_at: datetime | None = tz_field()
    consecutive_failures: int = Field(default=0)
    failing_since: datetime | None = tz_field()
    last_success_at: datetime | None = tz_field()
    last_failure_at: datetime | None = tz_field()
    # Bumped by every delivery run as it ends; names the one delivery job that may be pending.
    dispatch_generation: int = Field(default=0, sa_type=sa.BigInteger)
    version: int = Field(default=1)
    created_at: datetime = created_field()
    updated_at: datetime = updated_field()


class WebhookDelivery(SQLModel, table=True):
    """One event on its way to one endpoint: the body is fixed when it is created, so retries send the same bytes."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        sa.Index("ix_webhook_deliveries_endpoint_seq", "endpoint_id", "event_seq"),
        sa.Index(
            "ix_webhook_deliveries_pending",
            "endpoint_id",
            "event_seq",
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: uuid.UUID = id_field()
    endpoint_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False)
    )
    organization_id: uuid.UUID = Field()
    event_id: uuid.UUID = Field()
    event_seq: int = Field(sa_type=sa.BigInteger)
    event_type: str = Field(max_length=80)
    body: str = Field(sa_type=sa.Text)
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=str_enum(DeliveryStatus))
    attempt_count: int = Field(default=0)
    redeliveries: int = Field(default=0)
    next_attempt_at: datetime | None = tz_field()
    last_attempt_at: datetime | None = tz_field()
    last_status_code: int | None = Field(default=None)
    last_error: str | None = Field(default=None, max_length=500)
    succeeded_at: datetime | None = tz_field()
    created_at: datetime = created_field()


class WebhookAttempt(SQLModel, table=True):
    """One HTTP request of a delivery: when, what came back, how long it took."""

    __tablename__ = "webhook_attempts"

    id: uuid.UUID = id_field()
    delivery_id: uuid.UUID = Field(
        sa_column=sa.Column(
            sa.Uuid(), sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    number: int = Field(description="1 for the first attempt after the delivery was created or redelivered.")
    trigger: AttemptTrigger = Field(default=AttemptTrigger.scheduled, sa_type=str_enum(AttemptTrigger))
    attempted_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    status_code: int | None = Field(default=None)
    error: str | None = Field(default=None, max_length=500)
    duration_ms: int = Field(default=0)
    response_snippet: str | None = Field(default=None, max_length=1000)
