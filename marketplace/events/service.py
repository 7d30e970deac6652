"""Recording what happened: audit records and outbox events, both inside the caller's transaction."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.principal import Principal
from marketplace.events.models import AuditEvent, OutboxEvent
from marketplace.events.repository import EventsRepository
from marketplace.kit.context import current_request_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def diff_of(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """A compact diff: only the fields that changed, each as [old, new]."""
    return {
        k: [_jsonable(before.get(k)), _jsonable(after.get(k))]
        for k in sorted(set(before) | set(after))
        if before.get(k) != after.get(k)
    }


class EventRecorder:
    """Writes audit records and outbox events in the current transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = EventsRepository(session)

    def audit(
        self,
        *,
        actor: Principal | None,
        organization_id: uuid.UUID | None,
        action: str,
        target_type: str,
        target_id: uuid.UUID | str,
        diff: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one audit record: who did what to which object of which organisation."""
        event = AuditEvent(
            actor_user_id=actor.user_id if actor else None,
            actor_organization_id=actor.organization_id if actor else None,
            organization_id=organization_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            diff=_jsonable(dict(diff or {})),
            request_id=current_request_id(),
        )
        self.repo.add(event)
        return event

    def emit(
        self,
        *,
        type: str,
        organization_id: uuid.UUID | None,
        subject_type: str,
        subject_id: uuid.UUID | str,
        payload: Mapping[str, Any],
        audience: Iterable[uuid.UUID] = (),
    ) -> OutboxEvent:
        """Record an event for delivery after commit; audience: who else may receive it (a rollback drops it)."""
        members = list(dict.fromkeys([*([organization_id] if organization_id else []), *audience]))
        event = OutboxEvent(
            audience=members,
            type=type,
            organization_id=organization_id,
            subject_type=subject_type,
            subject_id=str(subject_id),
            payload=_jsonable(dict(payload)),
            request_id=current_request_id(),
        )
        self.repo.add(event)
        return event

    def record_change(
        self,
        *,
        actor: Principal | None,
        subject_type: str,
        subject: Any,
        action: str,
        diff: Mapping[str, Any],
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit and emit one change of an organisation-owned, versioned object (id, organization_id, status, version)."""
        self.audit(
            actor=actor,
            organization_id=subject.organization_id,
            action=action,
            target_type=subject_type,
            target_id=subject.id,
            diff=diff,
        )
        body: dict[str, Any] = {
            "id": subject.id,
            "organization_id": subject.organization_id,
            "status": subject.status,
            "version": subject.version,
            **(payload or {}),
        }
        self.emit(
            type=action,
            organization_id=subject.organization_id,
            subject_type=subject_type,
            subject_id=subject.id,
            payload=body,
        )
