"""Response shapes of the notifications domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from marketplace.kit.pagination import Page
from marketplace.kit.schemas import OutputSchema
from marketplace.notifications.models import NotificationKind


class NotificationRead(OutputSchema):
    """One notification of the caller."""

    id: uuid.UUID
    kind: NotificationKind
    title: str
    body: str
    subject_type: str | None = Field(description="What it is about (listing, demand, organization, …).")
    subject_id: str | None
    event_id: uuid.UUID | None = Field(description="The event that raised it (see GET /api/v1/events).")
    data: dict[str, Any] = Field(description="The event's data, for clients that word notifications themselves.")
    created_at: datetime
    read_at: datetime | None


class NotificationPage(Page[NotificationRead]):
    """A page of the caller's notifications, newest first."""

    unread_count: int = Field(description="How many of the caller's notifications are unread (all pages).")


class ReadAllResult(OutputSchema):
    """How many notifications were marked read."""

    marked: int
