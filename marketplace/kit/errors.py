"""One error hierarchy: each class carries its HTTP status and a name that says what went wrong."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One offending field: a JSON pointer into the body, or a named query/path/header parameter."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None
    location: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The shape used in problem+json `errors` arrays."""
        out: dict[str, str] = {"detail": self.detail}
        if self.pointer is not None:
            out["pointer"] = self.pointer
        if self.parameter is not None:
            out["parameter"] = self.parameter
        if self.location is not None:
            out["in"] = self.location
        return out


class AppError(Exception):
    """Base of every error the service raises on purpose; rendered as RFC 9457 problem+json."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra or {}

    @classmethod
    def type_slug(cls) -> str:
        """The stable problem type, derived from the class name (ListingNotPublishable -> listing-not-publishable)."""
        name = cls.__name__
        out = [name[0].lower()]
        for ch in name[1:]:
            out.append("-" + ch.lower() if ch.isupper() else ch)
        return "".join(out)


class InvalidInput(AppError):
    """A value broke a rule that the schema alone cannot express."""

    status_code = 422
    title = "Invalid input"

    @classmethod
    def field(cls, pointer: str, detail: str) -> InvalidInput:
        """One problem at one body field."""
        return cls(detail, errors=[FieldProblem(detail=detail, pointer=pointer)])


class InvalidParameter(AppError):
    """A query parameter that does not parse (a malformed request, like a bad cursor)."""

    status_code = 400
    title = "Invalid parameter"

    @classmethod
    def query(cls, name: str, detail: str) -> InvalidParameter:
        """One problem with one query parameter."""
        return cls(f"{name}: {detail}", errors=[FieldProblem(detail=detail, parameter=name, location="query")])


class NotAuthenticated(AppError):
    """No credentials, or credentials that do not identify an active user."""

    status_code = 401
    title = "Not authenticated"


class PermissionDenied(AppError):
    """The caller is known but may not do this."""

    status_code = 403
    title = "Permission denied"


class NotFound(AppError):
    """Nothing here, or nothing the caller may know exists."""

    status_code = 404
    title = "Not found"


class Conflict(AppError):
    """The request conflicts with the current state of the resource."""

    status_code = 409
    title = "Conflict"


class PreconditionFailed(AppError):
    """If-Match named a version that is no longer current."""

    status_code = 412
    title = "Precondition failed"


class PreconditionRequired(AppError):
    """The write needs If-Match with the version the client last read."""

    status_code = 428
    title = "Precondition required"


class IdempotencyKeyReused(AppError):
    """The Idempotency-Key was already used with a different request."""

    status_code = 422
    title = "Idempotency key reused with a different request"


class IdempotencyKeyInvalid(AppError):
    """The Idempotency-Key header is malformed."""

    status_code = 400
    title = "Invalid Idempotency-Key"


class ServiceUnavailable(AppError):
    """A dependency (the database) is not answering; try again."""

    status_code = 503
    title = "Service unavailable"
