"""Security headers on every answer, and the query-string length limit."""

from __future__ import annotations

from typing import TYPE_CHECKING

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from marketplace.kit.errors import FieldProblem
from marketplace.kit.problems import send_problem

if TYPE_CHECKING:
    from litestar.types import BeforeMessageSendHookHandler

    from marketplace.config import Settings

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The API reference pages (/schema, /schema/swagger) load their viewers' scripts and styles from a CDN:
# they only get the anti-framing part.
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PREFIX = "/schema"


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """A before-send hook adding the headers to every response, errors included, unless a route set its own."""
    fixed: list[tuple[bytes, bytes]] = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if settings.hsts_seconds:
        fixed.append((b"strict-transport-security", f"max-age={settings.hsts_seconds}; includeSubDomains".encode()))

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = list(message.get("headers", []))
        present = {name.lower() for name, _ in headers}
        for name, value in fixed:
            if name not in present:
                headers.append((name, value))
        request_id = scope.get("request_id")  # type: ignore[misc]
        if request_id and b"x-request-id" not in present:  # answers rendered outside the request middleware
            headers.append((b"x-request-id", str(request_id).encode()))
        if b"content-security-policy" not in present:
            html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
            docs = html and str(scope.get("path", "")).startswith(DOCS_PREFIX)
            headers.append((b"content-security-policy", (DOCS_CSP if docs else API_CSP).encode()))
        message["headers"] = headers

    return add_headers


class QueryStringLimitMiddleware(ASGIMiddleware):
    """A query string longer than MAX_QUERY_STRING_BYTES, or holding a NUL, is a 400 naming it, before any parsing."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Refuse early, or pass on."""
        query: bytes = scope.get("query_string", b"")
        size = len(query)
        if size > self.max_bytes:
            await send_problem(
                scope,
                receive,
                send,
                status=400,
                type_slug="query-too-long",
                title="Query string too long",
                detail=f"the query string has {size} bytes; at most {self.max_bytes} are accepted",
                errors=[
                    FieldProblem(detail=f"longer than {self.max_bytes} bytes", parameter="query", location="query")
                ],
            )
            return
        if b"%00" in query or b"\x00" in query:  # no text column can hold NUL: refuse it here, by name
            await send_problem(
                scope,
                receive,
                send,
                status=400,
                type_slug="query-invalid",
                title="Invalid query string",
                detail="the query string contains a NUL character (%00)",
                errors=[FieldProblem(detail="contains NUL (%00)", parameter="query", location="query")],
            )
            return
        await next_app(scope, receive, send)
