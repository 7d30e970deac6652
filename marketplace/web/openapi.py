"""OpenAPI pieces shared by every domain: the problem schema and documented error responses."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec
from pydantic import BaseModel, Field

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
    """Documented problem+json responses for the given statuses (400 and 503 are added everywhere)."""
    out: dict[int, ResponseSpec] = {}
    for status in sorted({*statuses, 400, 503}):
        out[status] = ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS.get(status, "Error"),
            media_type="application/problem+json",
            generate_examples=False,
        )
    return out
