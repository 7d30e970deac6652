"""Response shapes of the events domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from marketplace.kit.pagination import Page
from marketplace.kit.schemas import OutputSchema


class AuditEventRead(OutputSchema):
    """One audit record."""

    id: uuid.UUID
    actor_user_id: uuid.UUID | None
    actor_organization_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    action: str
    target_type: str
    target_id: str
    diff: dict[str, Any]
    request_id: str | None
    created_at: datetime


class OutboxEventRead(OutputSchema):
    """One recorded domain event."""

    id: uuid.UUID
    seq: int
    type: str
    organization_id: uuid.UUID | None
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    created_at: datetime
    processed_at: datetime | None


class JobRead(OutputSchema):
    """A durable job as the platform sees it."""

    id: uuid.UUID
    kind: str
    status: str
    payload: dict[str, Any]
    dedupe_key: str | None
    run_at: datetime
    attempts: int
    max_attempts: int
    last_error: str | None
    locked_by: str | None
    created_at: datetime
    finished_at: datetime | None


AuditEventPage = Page[AuditEventRead]
JobPage = Page[JobRead]
OutboxEventPage = Page[OutboxEventRead]
