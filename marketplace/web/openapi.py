"""OpenAPI pieces shared by every domain: the problem schema and documented error responses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Link,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)
from litestar.plugins.pydantic import PydanticSchemaPlugin
from litestar.typing import FieldDefinition
from pydantic import BaseModel, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, PydanticOmit

from marketplace.kit.schemas import InputSchema

if TYPE_CHECKING:
    from litestar._openapi.schema_generation import SchemaCreator

_DESCRIPTIONS = {
    400: "Malformed request (bad parameter, cursor or header).",
    401: "No API key, or an unknown, revoked or expired one.",
    403: "Signed in, but the role, organisation kind or key scope does not allow this.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state.",
    412: "If-Match names a version that is no longer current.",
    413: "Request body too large.",
    422: "Validation failed; `errors` names each field by JSON pointer.",
    428: "If-Match is required for this write.",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The database is not answering; retry after Retry-After seconds.",
}


class FieldError(BaseModel):
    """One offending field."""

    detail: str
    pointer: str | None = Field(default=None, description="JSON pointer into the request body, e.g. /name_zh.")
    parameter: str | None = Field(default=None, description="Name of the offending query/path/header parameter.")
    in_: str | None = Field(default=None, alias="in", description="Where the parameter is: query, path, header.")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = Field(examples=["https://errors.marketplace.example/validation-failed"])
    title: str = Field(examples=["Validation failed"])
    status: int = Field(examples=[422])
    detail: str = Field(examples=["/credit_code: not a valid unified social credit code"])
    instance: str = Field(examples=["/api/v1/organizations"])
    request_id: str | None = None
    errors: list[FieldError] | None = None


def errors_for(*statuses: int) -> dict[int, ResponseSpec]:
    """Documented problem+json responses for the given statuses (400, 429 and 503 are added everywhere)."""
    out: dict[int, ResponseSpec] = {}
    for status in sorted({*statuses, 400, 429, 503}):
        out[status] = ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, "Error"),
            media_type="application/problem+json",
            generate_examples=False,
        )
    return out


# JSON Schema keywords that constrain a value, and their attribute names on Litestar's Schema.
_CONSTRAINTS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_items",
    "maxItems": "max_items",
}


def _type_names(schema: Schema) -> set[str]:
    kinds = schema.type if isinstance(schema.type, list | tuple) else [schema.type] if schema.type else []
    return {getattr(k, "value", str(k)) for k in kinds}


def _merge_constraints(target: Schema | Reference, source: dict[str, Any]) -> None:
    """Copy the constraints pydantic enforces into Litestar's schema of the same value, where Litestar dropped them.

    Litestar loses the constraints of optional values (`Annotated[int, Field(ge=1)] | None`) and of list items;
    the validator still applies them, so the spec must state them.
    """
    if not isinstance(target, Schema):
        return
    for key, attr in _CONSTRAINTS.items():
        if key in source and getattr(target, attr) is None:
            setattr(target, attr, source[key])
    if isinstance(source.get("items"), dict) and target.items is not None:
        _merge_constraints(target.items, source["items"])
    branches = [b for b in source.get("anyOf", source.get("oneOf", [])) if isinstance(b, dict)]
    for option in target.one_of or target.any_of or []:
        if not isinstance(option, Schema):
            continue
        for branch in branches:
            if branch.get("type") in _type_names(option) and branch.get("type") != "null":
                _merge_constraints(option, branch)


class _SkipUnrepresentable(GenerateJsonSchema):
    """Pydantic's JSON schema, leaving out values it cannot represent (an uploaded file)."""

    def handle_invalid_for_json_schema(self, schema: Any, error_info: str) -> JsonSchemaValue:
        """Omit the value instead of failing."""
        raise PydanticOmit


def _closed(model: type[BaseModel]) -> bool:
    extra = model.model_config.get("json_schema_extra")
    return issubclass(model, InputSchema) or (isinstance(extra, dict) and extra.get("additionalProperties") is False)


class ClosedInputSchemaPlugin(PydanticSchemaPlugin):
    """Pydantic models as Litestar documents them, made exact where the validator is stricter than Litestar says.

    Request bodies (InputSchema) reject unknown fields, so they are `additionalProperties: false` (as is any
    model that asks for it in json_schema_extra); and every constraint pydantic enforces on a request field is
    stated, including those Litestar drops on optional values and list items.
    """

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        """The model's schema, closed and fully constrained when it is a request body."""
        schema = super().to_openapi_schema(field_definition, schema_creator)
        model = field_definition.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel) and isinstance(schema, Schema)):
            return schema
        if _closed(model):
            schema.additional_properties = False
        if issubclass(model, InputSchema):
            reference = model.model_json_schema(mode="validation", schema_generator=_SkipUnrepresentable)
            reference = reference.get("properties", {})
            for name, prop in (schema.properties or {}).items():
                if isinstance(reference.get(name), dict):
                    _merge_constraints(prop, reference[name])
        return schema


def operation(
    *,
    links: dict[str, tuple[str, dict[str, str]]] | None = None,
    request_body: RequestBody | None = None,
    media_types: tuple[str, ...] = (),
) -> type[Operation]:
    """An operation class for a route handler (`operation_class=`) adding what Litestar cannot derive.

    links: name -> (operationId, parameters), attached to the route's success response, so clients and
    stateful fuzzers know that e.g. the id a create returns is the `listing_id` of the read and update
    (values are OpenAPI runtime expressions such as `$response.body#/id` or `$response.header.ETag`).
    request_body: the body of a handler that reads the raw request itself (a file upload).
    media_types: every media type the success response may have (a handler choosing it per request).
    """

    @dataclass
    class LinkedOperation(Operation):
        def __post_init__(self) -> None:
            if request_body is not None:
                self.request_body = request_body
            for status, response in (self.responses or {}).items():
                if not (status.startswith("2") and isinstance(response, OpenAPIResponse)):
                    continue
                if media_types and response.content:
                    first = next(iter(response.content.values()))
                    text = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
                    response.content = {m: text if m.startswith("text/") else first for m in media_types}
                if links:
                    response.links = {
                        name: Link(operation_id=target, parameters=dict(parameters))
                        for name, (target, parameters) in links.items()
                    }

    return LinkedOperation


def json_or_csv() -> type[Operation]:
    """The operation class of a route answering JSON, or text/csv with ?format=csv."""
    return operation(media_types=("application/json", "text/csv"))


def created_id_links(
    id_param: str, *targets: str, id_pointer: str = "/id", etag: tuple[str, ...] = ()
) -> dict[str, tuple[str, dict[str, str]]]:
    """Links from a create's body id to the operations that take it as `id_param` (If-Match from ETag for `etag`)."""
    out: dict[str, tuple[str, dict[str, str]]] = {}
    for target in targets:
        parameters = {f"path.{id_param}": f"$response.body#{id_pointer}"}
        if target in etag:
            parameters["header.If-Match"] = "$response.header.ETag"
        out[target[0].upper() + target[1:]] = (target, parameters)
    return out
