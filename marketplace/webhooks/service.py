"""The rules of the webhooks domain: endpoints of one's own organisation, secrets, the delivery log, redelivery."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.principal import Principal
from marketplace.events.feed import EventFeedRepository
from marketplace.events.models import OutboxEvent
from marketplace.events.service import EventRecorder, diff_of
from marketplace.kit.errors import FieldProblem, InvalidInput
from marketplace.kit.pagination import bad_cursor, decode_cursor
from marketplace.kit.time import utcnow
from marketplace.webhooks import errors
from marketplace.webhooks.catalog import covers_known_type
from marketplace.webhooks.config import get_webhook_settings
from marketplace.webhooks.delivery import restart
from marketplace.webhooks.models import (
    DeliveryStatus,
    DisabledReason,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.webhooks.repository import WebhooksRepository
from marketplace.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointUpdate
from marketplace.webhooks.signing import new_secret
from marketplace.webhooks.urls import UnsafeUrl, vet

MAX_ENDPOINTS_PER_ORGANIZATION = 20
PREVIOUS_SECRET_GRACE = timedelta(hours=24)
_AUDITED = ("url", "description", "event_types", "enabled")


@dataclass(frozen=True, slots=True)
class DeliveryView:
    """A delivery with its latest attempts and its parsed body."""

    delivery: WebhookDelivery
    attempts: list[WebhookAttempt]

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body as sent."""
        return dict(json.loads(self.delivery.body))


async def check_url(url: str) -> None:
    """Refuse URLs webhooks must not go to (422 at /url)."""
    allow_private = get_webhook_settings().webhooks_allow_private_urls
    try:
        # Names must resolve (to public addresses) unless the operator allows private URLs (dev, tests).
        await vet(url, allow_private=allow_private, resolve_names=not allow_private)
    except UnsafeUrl as exc:
        raise errors.UnsafeWebhookUrl(
            f"this URL cannot receive webhooks: {exc}", errors=[FieldProblem(detail=str(exc), pointer="/url")]
        ) from exc


def check_event_types(patterns: Sequence[str]) -> list[str]:
    """Each subscription entry must name or match a catalogued event type; duplicates are dropped."""
    problems = [
        FieldProblem(
            detail=f"{p!r} names no known event type (see GET /api/v1/webhooks/event-types)",
            pointer=f"/event_types/{i}",
        )
        for i, p in enumerate(patterns)
        if not covers_known_type(p)
    ]
    if problems:
        raise errors.UnknownEventType("subscribe to event types from the catalogue", errors=problems)
    return list(dict.fromkeys(patterns))


class WebhooksService:
    """Endpoints of the caller's organisation and their deliveries."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = WebhooksRepository(session)
        self.events = EventRecorder(session)

    async def create(self, principal: Principal, data: WebhookEndpointCreate) -> WebhookEndpoint:
        """Register an endpoint; its secret is on the returned row (the caller shows it once)."""
        event_types = check_event_types(data.event_types)
        await check_url(data.url)
        if await self.repo.count_endpoints(principal.organization_id) >= MAX_ENDPOINTS_PER_ORGANIZATION:
            raise errors.WebhookEndpointLimit(
                f"an organisation may have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints"
            )
        endpoint = WebhookEndpoint(
            organization_id=principal.organization_id,
            created_by_user_id=principal.user_id,
            url=data.url,
            description=data.description,
            event_types=event_types,
            enabled=data.enabled,
            secret=new_secret(),
            disabled_reason=None if data.enabled else DisabledReason.disabled_by_user,
            disabled_at=None if data.enabled else utcnow(),
        )
        await self.repo.add(endpoint)
        self._audit(
            principal, endpoint, "webhook_endpoint.created", {k: [None, getattr(endpoint, k)] for k in _AUDITED}
        )
        return endpoint

    async def list_endpoints(
        self, principal: Principal, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[WebhookEndpoint]:
        """The caller's organisation's endpoints."""
        return await self.repo.list_endpoints(principal.organization_id, after=after, limit=limit)

    async def get(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """One endpoint of the caller's organisation (others' are 404)."""
        endpoint = await self.repo.get_endpoint(endpoint_id)
        if endpoint is None or endpoint.organization_id != principal.organization_id:
            raise errors.WebhookEndpointNotFound()
        return endpoint

    async def _own_for_update(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self.repo.get_endpoint_for_update(endpoint_id)
        if endpoint is None or endpoint.organization_id != principal.organization_id:
            raise errors.WebhookEndpointNotFound()
        return endpoint

    async def update(
        self, principal: Principal, endpoint_id: uuid.UUID, data: WebhookEndpointUpdate
    ) -> WebhookEndpoint:
        """Change an endpoint; enabling resumes its pending deliveries, a new URL starts a clean failure record."""
        changes = data.model_dump(exclude_unset=True)
        for name in ("url", "event_types", "enabled"):
            if name in changes and changes[name] is None:
                raise InvalidInput.field(f"/{name}", "cannot be null")
        if "event_types" in changes:
            changes["event_types"] = check_event_types(changes["event_types"])
        endpoint = await self._own_for_update(principal, endpoint_id)
        if "url" in changes and changes["url"] != endpoint.url:
            await check_url(changes["url"])
        before = {k: getattr(endpoint, k) for k in _AUDITED}
        was_enabled = endpoint.enabled
        url_changed = "url" in changes and changes["url"] != before["url"]
        for key, value in changes.items():
            setattr(endpoint, key, value)
        if url_changed or (endpoint.enabled and not was_enabled):
            endpoint.consecutive_failures = 0
            endpoint.failing_since = None
        if endpoint.enabled and not was_enabled:
            endpoint.disabled_reason = endpoint.disabled_detail = endpoint.disabled_at = None
        elif was_enabled and not endpoint.enabled:
            endpoint.disabled_reason = DisabledReason.disabled_by_user
            endpoint.disabled_detail = "disabled by a user of the organisation"
            endpoint.disabled_at = utcnow()
        diff = diff_of(before, {k: getattr(endpoint, k) for k in _AUDITED})
        if diff:
            endpoint.version += 1
            self._audit(principal, endpoint, "webhook_endpoint.updated", diff)
        await self.repo.flush()
        if endpoint.enabled and not was_enabled:
            await restart(self.session, endpoint)
        return endpoint

    async def delete(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """Remove an endpoint with its delivery log."""
        await self.get(principal, endpoint_id)
        # Lock order everywhere: delivery rows, then the endpoint row (a delivery run ends that way too).
        await self.repo.lock_deliveries(endpoint_id)
        endpoint = await self._own_for_update(principal, endpoint_id)
        self._audit(principal, endpoint, "webhook_endpoint.deleted", {"url": [endpoint.url, None]})
        await self.repo.delete_endpoint(endpoint)
        return endpoint

    async def rotate_secret(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        """A new signing secret; the previous one keeps signing alongside it for 24 hours."""
        endpoint = await self._own_for_update(principal, endpoint_id)
        now = utcnow()
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + PREVIOUS_SECRET_GRACE
        endpoint.secret = new_secret()
        endpoint.version += 1
        await self.repo.flush()
        self._audit(
            principal,
            endpoint,
            "webhook_endpoint.secret_rotated",
            {"previous_secret_expires_at": [None, endpoint.previous_secret_expires_at.isoformat()]},
        )
        return endpoint

    async def list_deliveries(
        self,
        principal: Principal,
        endpoint_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        event_type: str | None,
        before_seq: int | None,
        limit: int,
    ) -> list[DeliveryView]:
        """An endpoint's deliveries with their attempts, newest event first (limit+1 rows)."""
        await self.get(principal, endpoint_id)
        rows = await self.repo.list_deliveries(
            endpoint_id, status=status, event_type=event_type, before_seq=before_seq, limit=limit
        )
        attempts = await self.repo.attempts_of([d.id for d in rows])
        return [DeliveryView(delivery=d, attempts=attempts.get(d.id, [])) for d in rows]

    async def get_delivery(self, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryView:
        """One delivery with its attempts."""
        await self.get(principal, endpoint_id)
        delivery = await self.repo.get_delivery(endpoint_id, delivery_id)
        if delivery is None:
            raise errors.WebhookDeliveryNotFound()
        attempts = await self.repo.attempts_of([delivery.id])
        return DeliveryView(delivery=delivery, attempts=attempts[delivery.id])

    async def redeliver(self, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> DeliveryView:
        """Send an event to the endpoint again, with a fresh set of attempts, as soon as it is at the head."""
        await self.get(principal, endpoint_id)
        # Lock order everywhere: delivery rows, then the endpoint row.
        delivery = await self.repo.get_delivery_for_update(endpoint_id, delivery_id)
        if delivery is None:
            raise errors.WebhookDeliveryNotFound()
        endpoint = await self._own_for_update(principal, endpoint_id)
        if not endpoint.enabled:
            raise errors.WebhookEndpointDisabled("enable the endpoint first (PATCH with enabled: true)")
        before = delivery.status
        delivery.status = DeliveryStatus.pending
        delivery.attempt_count = 0
        delivery.redeliveries += 1
        delivery.next_attempt_at = utcnow()
        delivery.succeeded_at = None
        await self.repo.flush()
        await restart(self.session, endpoint)
        self.events.audit(
            actor=principal,
            organization_id=endpoint.organization_id,
            action="webhook_delivery.redelivered",
            target_type="webhook_delivery",
            target_id=delivery.id,
            diff={"status": [before.value, DeliveryStatus.pending.value], "event_id": [None, str(delivery.event_id)]},
        )
        attempts = await self.repo.attempts_of([delivery.id])
        return DeliveryView(delivery=delivery, attempts=attempts[delivery.id])

    def _audit(self, principal: Principal, endpoint: WebhookEndpoint, action: str, diff: dict[str, Any]) -> None:
        self.events.audit(
            actor=principal,
            organization_id=endpoint.organization_id,
            action=action,
            target_type="webhook_endpoint",
            target_id=endpoint.id,
            diff=diff,
        )


_TYPE_FILTER = re.compile(r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$")


def seq_cursor(cursor: str | None) -> int | None:
    """The seq inside a feed or delivery-log cursor."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    if not isinstance(values[0], int) or isinstance(values[0], bool) or values[0] < 0:
        raise bad_cursor()
    return values[0]


class EventFeed:
    """The events an organisation may receive, for clients that poll instead of (or as well as) taking webhooks."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = EventFeedRepository(session)

    async def page(
        self, principal: Principal, *, after_seq: int | None, types: Sequence[str] | None, limit: int
    ) -> Sequence[OutboxEvent]:
        """Events whose audience includes the caller's organisation, in seq order (limit+1 rows)."""
        for i, pattern in enumerate(types or ()):
            if not _TYPE_FILTER.match(pattern):
                raise InvalidInput(
                    f"not an event type or pattern: {pattern!r}",
                    errors=[
                        FieldProblem(
                            detail=f"item {i}: not an event type or pattern", parameter="type", location="query"
                        )
                    ],
                )
        settle = timedelta(seconds=get_webhook_settings().webhooks_feed_settle_seconds)
        return await self.repo.for_audience(
            principal.organization_id,
            after_seq=after_seq,
            types=list(types) if types else None,
            created_before=utcnow() - settle,
            limit=limit,
        )
