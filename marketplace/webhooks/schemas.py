"""Request and response shapes of the webhooks domain and the events feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from marketplace.kit.pagination import Page
from marketplace.kit.schemas import InputSchema, OutputSchema
from marketplace.webhooks.models import AttemptTrigger, DeliveryStatus, DisabledReason

EndpointUrl = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
EventTypePattern = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?)$"),
]
EventTypeList = Annotated[list[EventTypePattern], Field(min_length=1, max_length=100)]
EndpointDescription = Annotated[str, StringConstraints(max_length=500)]

_URL_HELP = "http(s) URL on a public address; no credentials in it. Checked again before every delivery run."
_TYPES_HELP = "Event types to receive: exact names (`listing.published`), `prefix.*` patterns, or `*` for all."


class WebhookEndpointCreate(InputSchema):
    """A new endpoint for the caller's organisation."""

    url: EndpointUrl = Field(description=_URL_HELP, examples=["https://erp.example.com/hooks/marketplace"])
    event_types: EventTypeList = Field(description=_TYPES_HELP, examples=[["listing.*", "demand.closed"]])
    description: EndpointDescription | None = Field(default=None, examples=["ERP sync"])
    enabled: bool = True


class WebhookEndpointUpdate(InputSchema):
    """Fields to change; omitted fields stay. Enabling a disabled endpoint resumes its pending deliveries."""

    url: EndpointUrl | None = Field(default=None, description=_URL_HELP)
    event_types: EventTypeList | None = Field(default=None, description=_TYPES_HELP)
    description: EndpointDescription | None = None
    enabled: bool | None = None


class WebhookEndpointRead(OutputSchema):
    """An endpoint as its organisation sees it (never its secret)."""

    id: uuid.UUID
    organization_id: uuid.UUID
    url: str
    description: str | None
    event_types: list[str]
    enabled: bool
    disabled_reason: DisabledReason | None
    disabled_detail: str | None
    disabled_at: datetime | None
    consecutive_failures: int
    failing_since: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then deliveries carry a second signature made with the secret before the last rotation."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookEndpointCreated(WebhookEndpointRead):
    """A new endpoint with its signing secret, shown this once."""

    secret: str = Field(description="The signing secret (`whsec_…`). Store it now; it cannot be shown again.")


class WebhookSecretRotated(OutputSchema):
    """A new signing secret, shown this once; the old one keeps signing alongside it for 24 hours."""

    endpoint: WebhookEndpointRead
    secret: str = Field(description="The new signing secret (`whsec_…`).")


class WebhookAttemptRead(OutputSchema):
    """One HTTP request of a delivery."""

    id: uuid.UUID
    number: int = Field(description="1 for the first attempt after the delivery was created or redelivered.")
    trigger: AttemptTrigger
    attempted_at: datetime
    status_code: int | None = Field(description="The HTTP status; null when no answer came (see error).")
    error: str | None
    duration_ms: int
    response_snippet: str | None = Field(description="The first 1,000 characters of the response body.")


class WebhookDeliveryRead(OutputSchema):
    """One event's delivery to one endpoint, with its attempts (newest first)."""

    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID = Field(description="Also the webhook-id header.")
    event_seq: int
    event_type: str
    status: DeliveryStatus
    attempt_count: int = Field(description="Attempts since the delivery was created or last redelivered.")
    redeliveries: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    succeeded_at: datetime | None
    created_at: datetime
    body: dict[str, Any] = Field(description="The JSON body sent: {type, timestamp, data}.")
    attempts: list[WebhookAttemptRead]


class EventTypeRead(OutputSchema):
    """One event type and the JSON Schema of its `data`."""

    type: str
    summary: str
    data_schema: dict[str, Any] = Field(description="JSON Schema (2020-12) of the event's `data`.")


class EventTypeCatalog(OutputSchema):
    """Every event type an organisation can subscribe to."""

    items: list[EventTypeRead]


class EventRead(OutputSchema):
    """One event, as in a webhook body plus its id and position."""

    id: uuid.UUID = Field(description="The event id (the webhook-id header of its deliveries).")
    seq: int = Field(description="Position in the platform's event sequence; the feed is ordered by it.")
    type: str
    timestamp: datetime
    data: dict[str, Any]


class EventFeedPage(Page[EventRead]):
    """A page of the events feed."""

    poll_cursor: str | None = Field(
        default=None,
        description="Where this page ended; pass it as ?cursor= on the next poll to get only newer events "
        "(null when the page is empty and no cursor was given).",
    )


WebhookEndpointPage = Page[WebhookEndpointRead]
WebhookDeliveryPage = Page[WebhookDeliveryRead]
