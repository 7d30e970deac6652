"""HTTP routes of webhooks and the events feed: thin, one service call each."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from marketplace.events.models import OutboxEvent
from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, encode_cursor, page_by_id
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import created_id_links, errors_for, operation
from marketplace.webhooks.catalog import data_schema, event_types
from marketplace.webhooks.models import DeliveryStatus, WebhookEndpoint
from marketplace.webhooks.schemas import (
    EventFeedPage,
    EventRead,
    EventTypeCatalog,
    EventTypeRead,
    WebhookAttemptRead,
    WebhookDeliveryPage,
    WebhookDeliveryRead,
    WebhookEndpointCreate,
    WebhookEndpointCreated,
    WebhookEndpointPage,
    WebhookEndpointRead,
    WebhookEndpointUpdate,
    WebhookSecretRotated,
)
from marketplace.webhooks.service import DeliveryView, EventFeed, WebhooksService, seq_cursor

EndpointId = FromPath[uuid.UUID]
DeliveryId = FromPath[uuid.UUID]


def _endpoint(row: WebhookEndpoint) -> WebhookEndpointRead:
    return WebhookEndpointRead.model_validate(row)


def _delivery(view: DeliveryView) -> WebhookDeliveryRead:
    d = view.delivery
    return WebhookDeliveryRead(
        id=d.id,
        endpoint_id=d.endpoint_id,
        event_id=d.event_id,
        event_seq=d.event_seq,
        event_type=d.event_type,
        status=d.status,
        attempt_count=d.attempt_count,
        redeliveries=d.redeliveries,
        next_attempt_at=d.next_attempt_at,
        last_attempt_at=d.last_attempt_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
        succeeded_at=d.succeeded_at,
        created_at=d.created_at,
        body=view.body,
        attempts=[WebhookAttemptRead.model_validate(a) for a in view.attempts],
    )


def _event(row: OutboxEvent) -> EventRead:
    return EventRead(id=row.id, seq=row.seq or 0, type=row.type, timestamp=row.created_at, data=row.payload)


class WebhookEndpointController(Controller):
    """An organisation's webhook endpoints, their secrets and delivery logs."""

    path = "/webhooks/endpoints"
    tags = ["webhooks"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listWebhookEndpoints",
        summary="List the organisation's webhook endpoints",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403),
    )
    async def list_endpoints(
        self, session: DbSession, principal: Caller, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> WebhookEndpointPage:
        """Endpoints, paged, never their secrets."""
        rows = await WebhooksService(session).list_endpoints(principal, after=decode_id_cursor(cursor), limit=limit)
        items, next_cursor = page_by_id(rows, limit=limit)
        return WebhookEndpointPage(items=[_endpoint(r) for r in items], next_cursor=next_cursor)

    @post(
        "/",
        operation_id="createWebhookEndpoint",
        operation_class=operation(
            links=created_id_links(
                "endpoint_id",
                "getWebhookEndpoint",
                "updateWebhookEndpoint",
                "listWebhookDeliveries",
                "rotateWebhookSecret",
                "deleteWebhookEndpoint",
            )
        ),
        summary="Register a webhook endpoint",
        description="The URL must be http(s) on a public address (no credentials in it). The response carries the "
        "signing secret, shown only this once; deliveries are signed with it per Standard Webhooks.",
        status_code=HTTP_201_CREATED,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def create_endpoint(
        self, session: DbSession, principal: Caller, data: JSONBody[WebhookEndpointCreate]
    ) -> WebhookEndpointCreated:
        """Register an endpoint."""
        row = await WebhooksService(session).create(principal, data)
        return WebhookEndpointCreated(**_endpoint(row).model_dump(), secret=row.secret)

    @get(
        "/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        summary="Get a webhook endpoint",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def get_endpoint(self, session: DbSession, principal: Caller, endpoint_id: EndpointId) -> WebhookEndpointRead:
        """One endpoint."""
        return _endpoint(await WebhooksService(session).get(principal, endpoint_id))

    @patch(
        "/{endpoint_id:uuid}",
        operation_id="updateWebhookEndpoint",
        summary="Change a webhook endpoint",
        description="Enabling a disabled endpoint resumes its pending deliveries in order; events that happened "
        "while it was disabled were not queued for it (read them from GET /api/v1/events).",
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404, 422),
    )
    async def update_endpoint(
        self, session: DbSession, principal: Caller, endpoint_id: EndpointId, data: JSONBody[WebhookEndpointUpdate]
    ) -> WebhookEndpointRead:
        """Change an endpoint."""
        return _endpoint(await WebhooksService(session).update(principal, endpoint_id, data))

    @delete(
        "/{endpoint_id:uuid}",
        operation_id="deleteWebhookEndpoint",
        summary="Delete a webhook endpoint and its delivery log",
        status_code=200,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def delete_endpoint(
        self, session: DbSession, principal: Caller, endpoint_id: EndpointId
    ) -> WebhookEndpointRead:
        """Delete an endpoint; the response is the endpoint as it was."""
        return _endpoint(await WebhooksService(session).delete(principal, endpoint_id))

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        operation_id="rotateWebhookSecret",
        summary="Rotate a webhook endpoint's signing secret",
        description="The new secret is in this response only. For 24 hours deliveries carry two signatures, one "
        "with the new secret and one with the old, so receivers can switch without losing events.",
        status_code=200,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def rotate_secret(
        self, session: DbSession, principal: Caller, endpoint_id: EndpointId
    ) -> WebhookSecretRotated:
        """New secret."""
        row = await WebhooksService(session).rotate_secret(principal, endpoint_id)
        return WebhookSecretRotated(endpoint=_endpoint(row), secret=row.secret)

    @get(
        "/{endpoint_id:uuid}/deliveries",
        operation_id="listWebhookDeliveries",
        summary="List an endpoint's deliveries with their attempts",
        description="Newest event first. Each delivery lists its attempts (time, status code or error, duration, "
        "the start of the response body), newest first.",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def list_deliveries(
        self,
        session: DbSession,
        principal: Caller,
        endpoint_id: EndpointId,
        status: Annotated[DeliveryStatus | None, QueryParameter(name="status")] = None,
        event_type: Annotated[str | None, QueryParameter(name="event_type", max_length=80)] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> WebhookDeliveryPage:
        """The delivery log."""
        views = await WebhooksService(session).list_deliveries(
            principal, endpoint_id, status=status, event_type=event_type, before_seq=seq_cursor(cursor), limit=limit
        )
        items = views[:limit]
        next_cursor = encode_cursor([items[-1].delivery.event_seq]) if len(views) > limit and items else None
        return WebhookDeliveryPage(items=[_delivery(v) for v in items], next_cursor=next_cursor)

    @get(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}",
        operation_id="getWebhookDelivery",
        summary="Get one delivery with its attempts",
        opt=policy.MEMBER.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def get_delivery(
        self, session: DbSession, principal: Caller, endpoint_id: EndpointId, delivery_id: DeliveryId
    ) -> WebhookDeliveryRead:
        """One delivery."""
        return _delivery(await WebhooksService(session).get_delivery(principal, endpoint_id, delivery_id))

    @post(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/redeliver",
        operation_id="redeliverWebhook",
        summary="Send an event to the endpoint again",
        description="Puts the delivery back in the endpoint's queue with a fresh set of attempts; it goes out in "
        "event order, with the same webhook-id, so receivers that drop duplicates must be asked to expect it.",
        status_code=200,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404, 409),
    )
    async def redeliver(
        self, session: DbSession, principal: Caller, endpoint_id: EndpointId, delivery_id: DeliveryId
    ) -> WebhookDeliveryRead:
        """Redeliver."""
        return _delivery(await WebhooksService(session).redeliver(principal, endpoint_id, delivery_id))


class EventTypeController(Controller):
    """The catalogue of event types."""

    path = "/webhooks/event-types"
    tags = ["webhooks"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listEventTypes",
        summary="List event types and their payload schemas",
        description="Every event type an endpoint can subscribe to, with the JSON Schema of its `data`. The "
        "OpenAPI document's `webhooks` section describes the same bodies.",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(),
    )
    async def list_event_types(self) -> EventTypeCatalog:
        """The catalogue."""
        return EventTypeCatalog(
            items=[
                EventTypeRead(type=e.name, summary=e.summary, data_schema=data_schema(e.data)) for e in event_types()
            ]
        )


class EventFeedController(Controller):
    """The events feed for polling clients."""

    path = "/events"
    tags = ["webhooks"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listEvents",
        summary="Poll the organisation's events",
        description="The events the caller's organisation may receive, oldest first by seq, in the shape of "
        "webhook bodies plus id and seq. Page with next_cursor; when it is null, keep poll_cursor and pass it "
        "as ?cursor= on the next poll. Filter with ?type= (repeatable; exact names or `prefix.*`). Events show "
        "up a couple of seconds after they happen.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 422),
    )
    async def list_events(
        self,
        session: DbSession,
        principal: Caller,
        types: Annotated[list[str] | None, QueryParameter(name="type", max_items=20)] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> EventFeedPage:
        """The feed."""
        after = seq_cursor(cursor)
        rows = await EventFeed(session).page(principal, after_seq=after, types=types, limit=limit)
        items = list(rows[:limit])
        more = len(rows) > limit
        last = encode_cursor([items[-1].seq]) if items else cursor or None
        return EventFeedPage(items=[_event(r) for r in items], next_cursor=last if more else None, poll_cursor=last)


CONTROLLERS = [WebhookEndpointController, EventTypeController, EventFeedController]
