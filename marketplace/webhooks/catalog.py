"""Every event type an organisation can receive, with the schema of its `data`; domains register theirs here.

The catalogue feeds GET /api/v1/webhooks/event-types, the check of endpoint subscriptions and the OpenAPI
document's top-level `webhooks` section (`openapi_webhooks()`).
"""

from __future__ import annotations

import copy
import fnmatch
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from litestar.openapi.spec import (
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    PathItem,
    Reference,
    RequestBody,
    Schema,
)
from pydantic import BaseModel, ConfigDict, Field

from marketplace.accounts.models import OrganizationKind, VerificationStatus
from marketplace.demands.models import DemandStatus
from marketplace.listings.models import ListingStatus
from marketplace.webhooks.models import DisabledReason


class EventData(BaseModel):
    """Base of every event's `data`; receivers should ignore fields they do not know."""

    model_config = ConfigDict(extra="allow")


# accounts


class OrganizationRegisteredData(EventData):
    """An organisation signed up (pending verification)."""

    id: uuid.UUID = Field(description="The organisation.")
    kind: OrganizationKind
    name_zh: str


class OrganizationUpdatedData(EventData):
    """An organisation changed its profile."""

    id: uuid.UUID = Field(description="The organisation.")
    changed: list[str] = Field(description="Names of the fields that changed.")
    version: int


class OrganizationVerificationData(EventData):
    """The platform decided on an organisation's verification."""

    id: uuid.UUID = Field(description="The organisation.")
    verification_status: VerificationStatus
    note: str | None = Field(default=None, description="The platform's note; says what is wrong when rejected.")


# listings


class ListingEventData(EventData):
    """A listing changed; read it at GET /api/v1/listings/{id} for the details the caller may see."""

    id: uuid.UUID = Field(description="The listing.")
    organization_id: uuid.UUID = Field(description="The organisation that holds the listing.")
    status: ListingStatus
    version: int = Field(description="The listing's version after the change (its ETag).")


class ListingCreatedData(ListingEventData):
    """A listing was created as a draft (or submitted, when bulk-imported with submit)."""

    via: Literal["import"] | None = Field(default=None, description="`import` when created by a bulk import.")


class ListingRejectedData(ListingEventData):
    """The platform rejected a submitted listing."""

    reason: str


class ListingUpdatedData(ListingEventData):
    """Fields of a listing changed (directly, or by an approved revision)."""

    fields: list[str] = Field(description="Names of the changed fields (values are not included).")
    revision_id: uuid.UUID | None = Field(default=None, description="The approved revision, if the change was one.")


class ListingRevisionProposedData(ListingEventData):
    """Changes to a published listing's public facts wait for the platform's review."""

    revision_id: uuid.UUID
    fields: list[str]


class ListingRevisionRejectedData(ListingEventData):
    """The platform turned down a proposed revision; the published version stays."""

    revision_id: uuid.UUID
    reason: str


class ListingNdaAcceptedData(EventData):
    """Another organisation accepted a listing's NDA (sent to the listing's holder)."""

    id: uuid.UUID = Field(description="The listing.")
    accepted_by: uuid.UUID = Field(description="The organisation that accepted.")
    nda_version: int


class ListingAttachmentAddedData(EventData):
    """A file was attached to a listing."""

    id: uuid.UUID = Field(description="The listing.")
    attachment_id: uuid.UUID
    confidential: bool


# demands


class DemandEventData(EventData):
    """A demand changed; read it at GET /api/v1/demands/{id}."""

    id: uuid.UUID = Field(description="The demand.")
    organization_id: uuid.UUID = Field(description="The enterprise that posted it.")
    status: DemandStatus
    version: int


class DemandUpdatedData(DemandEventData):
    """Fields of an open demand changed."""

    fields: list[str] = Field(description="Names of the changed fields.")


# webhooks


class WebhookEndpointDisabledData(EventData):
    """The service stopped sending to one of the organisation's webhook endpoints."""

    id: uuid.UUID = Field(description="The endpoint.")
    url: str
    reason: DisabledReason = Field(
        description="retries_exhausted: a delivery failed every attempt; failing_for_a_day: every attempt failed "
        "for 24 hours or more; gone: the endpoint answered 410 Gone."
    )
    detail: str = Field(description="What happened, in words.")
    consecutive_failures: int
    failing_since: datetime | None
    disabled_at: datetime
    delivery_id: uuid.UUID | None = Field(default=None, description="The delivery whose failure tipped it over.")
    last_status_code: int | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class EventType:
    """One event type: its name, what it means and the model of its `data`."""

    name: str
    summary: str
    data: type[BaseModel]


_CATALOG: dict[str, EventType] = {}


def register_event_type(name: str, data: type[BaseModel], summary: str) -> None:
    """Add an event type (domains call this for the types they emit)."""
    existing = _CATALOG.get(name)
    if existing is not None and existing.data is not data:
        raise ValueError(f"event type {name!r} is registered already")
    _CATALOG[name] = EventType(name=name, summary=summary, data=data)


def event_types() -> list[EventType]:
    """All registered event types, by name."""
    return [_CATALOG[name] for name in sorted(_CATALOG)]


def get_event_type(name: str) -> EventType | None:
    """One event type by name."""
    return _CATALOG.get(name)


def matches(patterns: list[str] | tuple[str, ...], event_type: str) -> bool:
    """Whether a subscription (exact names, `prefix.*` patterns, `*`) covers an event type."""
    return any(fnmatch.fnmatchcase(event_type, p) for p in patterns)


def covers_known_type(pattern: str) -> bool:
    """Whether a subscription entry names a registered type or matches at least one."""
    if "*" not in pattern:
        return pattern in _CATALOG
    return any(fnmatch.fnmatchcase(name, pattern) for name in _CATALOG)


def data_schema(model: type[BaseModel]) -> dict[str, Any]:
    """A self-contained JSON Schema of an event's `data` (no $refs, so it can sit anywhere in a document)."""
    schema = model.model_json_schema(mode="serialization")
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                target = copy.deepcopy(defs[ref.removeprefix("#/$defs/")])
                rest = {k: v for k, v in node.items() if k != "$ref"}
                return inline({**target, **rest})
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return cast(dict[str, Any], inline(schema))


def body_schema(event: EventType) -> dict[str, Any]:
    """The JSON Schema of the whole webhook body (and feed item) of one event type."""
    return {
        "type": "object",
        "title": f"{event.name} event",
        "required": ["type", "timestamp", "data"],
        "properties": {
            "type": {"type": "string", "const": event.name},
            "timestamp": {"type": "string", "format": "date-time", "description": "When the event happened."},
            "data": data_schema(event.data),
        },
    }


_HEADERS = (
    ("webhook-id", "The event id; the same on every retry, so receivers can drop duplicates."),
    ("webhook-timestamp", "Unix seconds when this attempt was signed; reject ones far from your clock."),
    (
        "webhook-signature",
        "Space-separated `v1,<base64 HMAC-SHA256>` signatures of `{webhook-id}.{webhook-timestamp}.{body}`, keyed "
        "with the base64-decoded part of the endpoint secret after `whsec_` (two during a secret rotation).",
    ),
)


def _operation_id(name: str) -> str:
    words = name.replace(".", "_").split("_")
    return words[0] + "".join(w.title() for w in words[1:]) + "Webhook"


def openapi_webhooks() -> dict[str, PathItem | Reference]:
    """The OpenAPI 3.1 `webhooks` section: one POST per event type, as a receiver gets it."""
    out: dict[str, PathItem | Reference] = {}
    for event in event_types():
        out[event.name] = PathItem(
            post=Operation(
                tags=["webhooks"],
                summary=event.summary,
                description=f"Sent to the endpoints subscribed to `{event.name}` of every organisation in the "
                "event's audience, signed per Standard Webhooks. Answer 2xx within 10 seconds; anything else is "
                "retried with backoff for more than a day.",
                operation_id=_operation_id(event.name),
                parameters=[
                    Parameter(
                        name=name,
                        param_in="header",
                        required=True,
                        description=description,
                        schema=Schema(type=OpenAPIType.STRING),
                    )
                    for name, description in _HEADERS
                ],
                request_body=RequestBody(
                    required=True,
                    content={"application/json": OpenAPIMediaType(schema=cast(Schema, body_schema(event)))},
                ),
                responses={
                    "2XX": OpenAPIResponse(description="Received. Any other answer, or none in time, is retried."),
                    "410": OpenAPIResponse(description="Gone: the service disables the endpoint."),
                },
            )
        )
    return out


_BUILTIN: tuple[tuple[str, type[BaseModel], str], ...] = (
    ("organization.registered", OrganizationRegisteredData, "An organisation registered"),
    ("organization.updated", OrganizationUpdatedData, "An organisation changed its profile"),
    ("organization.verified", OrganizationVerificationData, "An organisation was verified"),
    ("organization.rejected", OrganizationVerificationData, "An organisation's verification was rejected"),
    ("listing.created", ListingCreatedData, "A listing was created"),
    ("listing.updated", ListingUpdatedData, "A listing's fields changed"),
    ("listing.submitted", ListingEventData, "A listing was submitted for review"),
    ("listing.published", ListingEventData, "A listing was published"),
    ("listing.rejected", ListingRejectedData, "A listing was rejected in review"),
    ("listing.withdrawn", ListingEventData, "A listing was withdrawn"),
    ("listing.closed", ListingEventData, "A listing was closed"),
    ("listing.revision_proposed", ListingRevisionProposedData, "Changes to a published listing await review"),
    ("listing.revision_rejected", ListingRevisionRejectedData, "Proposed changes to a listing were rejected"),
    ("listing.nda_accepted", ListingNdaAcceptedData, "An organisation accepted a listing's NDA"),
    ("listing.attachment_added", ListingAttachmentAddedData, "A file was attached to a listing"),
    ("demand.created", DemandEventData, "A demand was posted"),
    ("demand.updated", DemandUpdatedData, "A demand's fields changed"),
    ("demand.closed", DemandEventData, "A demand was closed"),
    ("demand.fulfilled", DemandEventData, "A demand was fulfilled"),
    ("demand.expired", DemandEventData, "A demand passed its deadline"),
    ("webhook_endpoint.disabled", WebhookEndpointDisabledData, "A webhook endpoint was disabled"),
)

for _name, _model, _summary in _BUILTIN:
    register_event_type(_name, _model, _summary)
