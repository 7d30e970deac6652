"""Notifications: one row per user and event (and kind), with its read state."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from marketplace.db.base import created_field, id_field, str_enum, tz_field


class NotificationKind(enum.StrEnum):
    """What a notification is about (clients pick icons and wording by it)."""

    new_match = "new_match"
    offer_received = "offer_received"
    outbid = "outbid"
    auction_closing_soon = "auction_closing_soon"
    notice_objection = "notice_objection"
    milestone_due = "milestone_due"
    payment_received = "payment_received"
    organization_verified = "organization_verified"
    organization_rejected = "organization_rejected"
    webhook_endpoint_disabled = "webhook_endpoint_disabled"


class Notification(SQLModel, table=True):
    """Something a user should see in the app; created by the worker from an event, read by the user."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "event_id", "kind", name="uq_notifications_user_event_kind"),
        sa.Index("ix_notifications_user_id_id", "user_id", "id"),
        sa.Index("ix_notifications_user_unread", "user_id", "id", postgresql_where=sa.text("read_at IS NULL")),
    )

    id: uuid.UUID = id_field()
    user_id: uuid.UUID = Field(
        sa_column=sa.Column(sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    organization_id: uuid.UUID = Field()
    kind: NotificationKind = Field(sa_type=str_enum(NotificationKind, length=40))
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    subject_type: str | None = Field(default=None, max_length=40)
    subject_id: str | None = Field(default=None, max_length=64)
    event_id: uuid.UUID | None = Field(default=None)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    created_at: datetime = created_field()
    read_at: datetime | None = tz_field()
    emailed_at: datetime | None = tz_field()
