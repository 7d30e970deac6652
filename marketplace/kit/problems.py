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


async def send_problem(
    scope: Any,
    receive: Any,
    send: Any,
    *,
    status: int,
    type_slug: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with a problem straight from a middleware (through the outer middlewares' send wrappers)."""
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = problem_response(
        request, status=status, type_slug=type_slug, title=title, detail=detail, errors=errors, headers=headers
    )
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)


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
    """A lost or refused database connection is a 503 with Retry-After, not a 500.

    That covers the driver's OSErrors too: a Unix socket that is gone while the server restarts is a
    FileNotFoundError, a server that does not answer a TimeoutError.
    """
    if isinstance(exc, DBAPIError) and _sqlstate(exc) in _UNSTORABLE_TEXT:
        return problem_response(
            request,
            status=400,
            type_slug="invalid-text",
            title="Invalid text",
            detail="a text value contains a character that cannot be stored (such as NUL, \\u0000)",
        )
    if isinstance(exc, DBAPIError):
        state = _sqlstate(exc) or ""
        lost = exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
        if not lost and not state.startswith(_UNAVAILABLE_STATES):
            return internal_error_handler(request, exc)
    elif isinstance(exc, OSError) and not isinstance(exc, ConnectionError) and not _from_database_driver(exc):
        return internal_error_handler(request, exc)  # a file or network error of our own, not the database
    log.warning("database unavailable", error=type(exc).__name__)
    return problem_response(
        request,
        status=503,
        type_slug="service-unavailable",
        title="Service unavailable",
        detail="the database is not answering; retry shortly",
        headers={"Retry-After": "2"},
    )


_UNSTORABLE_TEXT = {"22021", "22P05"}  # character_not_in_repertoire, untranslatable_character
# connection exceptions, too many connections / out of resources, admin or crash shutdown, starting up
_UNAVAILABLE_STATES = ("08", "53", "57P01", "57P02", "57P03")


def _from_database_driver(exc: BaseException) -> bool:
    """Whether an OSError (socket missing, refused, timed out) was raised while reaching the database."""
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("asyncpg", "sqlalchemy")):
            return True
        tb = tb.tb_next
    return False


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


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
