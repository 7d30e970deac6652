"""What can go wrong in the webhooks domain."""

from __future__ import annotations

from marketplace.kit.errors import Conflict, InvalidInput, NotFound


class WebhookEndpointNotFound(NotFound):
    """No such endpoint in the caller's organisation."""

    title = "Webhook endpoint not found"


class WebhookDeliveryNotFound(NotFound):
    """No such delivery of this endpoint."""

    title = "Webhook delivery not found"


class UnsafeWebhookUrl(InvalidInput):
    """The URL is not one webhooks may be sent to (scheme, credentials, or a non-public address)."""

    title = "Webhook URL not allowed"


class UnknownEventType(InvalidInput):
    """A subscription names an event type (or pattern) that matches nothing in the catalogue."""

    title = "Unknown event type"


class WebhookEndpointLimit(Conflict):
    """An organisation has as many endpoints as it may have."""

    title = "Too many webhook endpoints"


class WebhookEndpointDisabled(Conflict):
    """The endpoint is disabled; enable it before asking for deliveries."""

    title = "Webhook endpoint disabled"
