"""Render every error as RFC 9457 problem+json: our own, Litestar's and unexpected ones."""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from marketplace.kit.errors import AppError, FieldProblem

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://errors.marketplace.example/"
log = structlog.get_logger("marketplace.errors")

_HTTP_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
    415: "Unsupported media type",
    429: "Too many requests",
}


def problem_response(
    request: Request[Any, Any, Any],
    *,
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response[dict[str, Any]]:
    """Build one problem+json response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + type_slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    request_id = request.scope.get("request_id")  # type: ignore[typeddict-item]
    if request_id:
        body["request_id"] = request_id
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    if extra:
        body.update(extra)
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def app_error_handler(request: Request[Any, Any, Any], exc: AppError) -> Response[dict[str, Any]]:
    """Our own errors carry everything they need."""
    return problem_response(
        request,
        status=exc.status_code,
        type_slug=exc.type_slug(),
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        extra=exc.extra,
    )


_MISSING_PARAMETER = re.compile(r"^Missing required (query|header|cookie|path) parameter '([^']+)'")


def _pointer(key: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in key.split(".") if part)


def validation_error_handler(request: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    """Litestar's validation errors, with each offending field as a JSON pointer or a named parameter."""
    problems: list[FieldProblem] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid value")).removeprefix("Value error, ")
        key = item.get("key")
        source = item.get("source")
        if key is None:
            problems.append(FieldProblem(detail=message, pointer=""))
        elif source in (None, "body"):
            problems.append(FieldProblem(detail=message, pointer=_pointer(str(key))))
        else:
            problems.append(
                FieldProblem(detail=message, parameter=str(key), location=getattr(source, "value", str(source)))
            )
    missing = _MISSING_PARAMETER.match(str(exc.detail or ""))
    if not problems and missing:
        # Litestar names a missing required query/header/cookie parameter only in its message.
        location, name = missing.groups()
        problems.append(FieldProblem(detail="required", parameter=name, location=location))
    return problem_response(
        request,
        status=400 if any(p.location for p in problems) and not any(p.pointer for p in problems) else 422,
        type_slug="validation-failed",
        title="Validation failed",
        detail="; ".join(p.detail if p.pointer in (None, "") else f"{p.pointer}: {p.detail}" for p in problems)
        or "the request is not valid",
        errors=problems,
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    """Litestar's own HTTP errors (404 route, 405 method, 413 body ...) as problems."""
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    title = _HTTP_TITLES.get(status, "Client error")
    detail = exc.detail if exc.detail and exc.detail != title else title
    if status == 413:
        detail = "the request body is larger than this service accepts"
    slug = title.lower().replace(" ", "-")
    return problem_response(
        request, status=status, type_slug=slug, title=title, detail=detail, headers=dict(exc.headers or {})
    )


def database_unavailable_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """A lost or refused database connection is a 503 with Retry-After, not a 500."""
    if (
        isinstance(exc, DBAPIError)
        and not exc.connection_invalidated
        and not isinstance(exc, OperationalError | InterfaceError)
    ):
        return internal_error_handler(request, exc)
    log.warning("database unavailable", error=type(exc).__name__)
    return problem_response(
        request,
        status=503,
        type_slug="service-unavailable",
        title="Service unavailable",
        detail="the database is not answering; retry shortly",
        headers={"Retry-After": "2"},
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Anything unexpected: log it whole, tell the client only the request id."""
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request,
        status=HTTP_500_INTERNAL_SERVER_ERROR,
        type_slug="internal-error",
        title="Internal server error",
        detail="an unexpected error occurred; quote the request id when reporting it",
    )
