"""The request pipeline: request ids and logs, the unit of work, authentication, idempotency."""

from __future__ import annotations

import hashlib
import re
import tempfile
import time
import uuid
from datetime import timedelta
from typing import IO, Any, cast

import structlog
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.middleware._internal.exceptions.middleware import get_exception_handler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.keys import looks_like_key
from marketplace.accounts.principal import Principal
from marketplace.accounts.service import AccountsService
from marketplace.kit.context import request_id_var
from marketplace.kit.errors import IdempotencyKeyInvalid, IdempotencyKeyReused, NotAuthenticated
from marketplace.kit.time import utcnow
from marketplace.kit.uow import run_callbacks
from marketplace.web import sealing
from marketplace.web.repository import IdempotencyRepository

SESSION_KEY = "marketplace.session"
READ_SESSION_KEY = "marketplace.read_session"
REPLICA_OPT = "read_replica"
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")
_IDEMPOTENCY_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
SPOOL_BYTES = 1024 * 1024  # request bodies kept for Idempotency-Key hashing and replay go to disk past this
SPOOL_CHUNK = 64 * 1024
access_log = structlog.get_logger("marketplace.access")


def session_of(scope: Scope) -> AsyncSession:
    """The request's database session, opened by the unit-of-work middleware."""
    return cast(AsyncSession, scope[SESSION_KEY])  # type: ignore[literal-required]


def data_session_of(scope: Scope) -> AsyncSession:
    """The session a handler reads and writes through: the replica's for replica-marked routes, if configured."""
    replica = scope.get(READ_SESSION_KEY)  # type: ignore[misc]
    return cast(AsyncSession, replica) if replica is not None else session_of(scope)


def uses_replica(scope: Scope) -> bool:
    """Whether the matched route declared it may read from a replica (safe reads that need not see own writes)."""
    handler = scope.get("route_handler")
    return bool(handler is not None and handler.opt.get(REPLICA_OPT) and scope.get("method") in ("GET", "HEAD"))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


class RequestContextMiddleware(ASGIMiddleware):
    """Give every request an id (taken from X-Request-ID when sane), echo it, and log one access line."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Set the id, time the request, log it."""
        incoming = _header(scope, b"x-request-id")
        request_id = incoming if incoming and _REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope["request_id"] = request_id  # type: ignore[typeddict-unknown-key]
        token = request_id_var.set(request_id)
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_holder = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await next_app(scope, receive, send_with_id)
        finally:
            principal = scope.get("user")
            access_log.info(
                "request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status_holder[0],
                ms=round((time.perf_counter() - started) * 1000, 2),
                user_id=str(principal.user_id) if isinstance(principal, Principal) else None,
            )
            structlog.contextvars.unbind_contextvars("request_id")
            request_id_var.reset(token)


class UnitOfWorkMiddleware(ASGIMiddleware):
    """One session per request: committed when the answer is 2xx/3xx, rolled back otherwise, then sent."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Hold the response until the transaction's fate is settled."""
        state = scope["app"].state
        autocommit_maker: async_sessionmaker[AsyncSession] | None = state.get("autocommit_sessionmaker")
        autocommit = autocommit_maker is not None and scope.get("method") in ("GET", "HEAD")
        maker: async_sessionmaker[AsyncSession] = (
            autocommit_maker if autocommit and autocommit_maker is not None else state.sessionmaker
        )
        read_maker: async_sessionmaker[AsyncSession] | None = state.get("read_sessionmaker")
        async with maker() as session:
            scope[SESSION_KEY] = session  # type: ignore[literal-required]
            if read_maker is not None and uses_replica(scope):
                async with read_maker() as replica:
                    scope[READ_SESSION_KEY] = replica  # type: ignore[literal-required]
                    try:
                        await self._handle(session, scope, receive, send, next_app, autocommit=autocommit)
                    finally:
                        await replica.rollback()  # read-only by construction; nothing to keep
                return
            await self._handle(session, scope, receive, send, next_app, autocommit=autocommit)

    async def _handle(
        self, session: AsyncSession, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp, *, autocommit: bool
    ) -> None:
        """Run the handler, then commit or roll back before anything reaches the client."""
        held: list[Message] = []
        state = {"status": 500, "settled": False}

        async def settle() -> None:
            if state["settled"]:
                return
            state["settled"] = True
            if int(state["status"]) >= 400:
                await session.rollback()
            elif not (autocommit and not (session.new or session.dirty or session.deleted)):
                await session.commit()  # (an autocommit read with nothing staged has nothing to commit)

        async def holding_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                held.append(message)
                return
            if message["type"] == "http.response.body" and not state["settled"]:
                if not message.get("more_body", False):
                    held.append(message)
                    return
                await settle()  # a streamed body: the transaction ends before the first chunk
                for early in held:
                    await send(early)
                held.clear()
            await send(message)

        try:
            await next_app(scope, receive, holding_send)
            await settle()
        except BaseException as exc:
            if not state["settled"]:
                state["settled"] = True
                await session.rollback()
            await run_callbacks(session, committed=False)
            if held and isinstance(exc, Exception):
                # The commit failed (database gone, serialization failure ...) after the handler had answered:
                # nothing was sent yet, so answer with the error instead of the held response. (Raising would
                # reach Litestar's outer error handler marked "response started" and end as a bare 500.)
                await _answer_with_error(scope, receive, send, exc)
                return
            raise
        for message in held:
            await send(message)
        await run_callbacks(session, committed=int(state["status"]) < 400)


async def _answer_with_error(scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
    """Render exc with the app's own exception handlers (problem+json) and send it."""
    app = scope["app"]
    handler = get_exception_handler(app.exception_handlers, exc)
    if handler is None:  # pragma: no cover - the app maps Exception
        raise exc
    request: Request[Any, Any, Any] = Request(scope, receive)
    response = handler(request, exc)
    await response.to_asgi_response(app=None, request=request)(scope, receive, send)


class AuthenticationMiddleware(ASGIMiddleware):
    """Resolve `Authorization: Bearer <key>` to a Principal in scope['user']; a bad key is a 401."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Look the key up in the request's session."""
        scope["user"] = None
        header = _header(scope, b"authorization")
        if header is not None:
            scheme, _, secret = header.strip().partition(" ")
            secret = secret.strip()
            if scheme.lower() != "bearer" or not looks_like_key(secret):
                raise NotAuthenticated(
                    "the Authorization header must be 'Bearer <API key>'",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
                )
            principal = await AccountsService(session_of(scope)).authenticate(secret)
            if principal is None:
                raise NotAuthenticated(
                    "this API key is unknown, revoked or expired",
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            scope["user"] = principal
        await next_app(scope, receive, send)


class IdempotencyMiddleware(ASGIMiddleware):
    """Replay the first successful answer to a POST retried with the same Idempotency-Key and body."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, *, max_body_bytes: int, ttl: timedelta) -> None:
        self.max_body_bytes = max_body_bytes
        self.ttl = ttl

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Claim the key inside the request's transaction, or replay what it stored."""
        key = _header(scope, b"idempotency-key")
        method = cast(str, scope.get("method"))
        if method != "POST" or key is None:
            await next_app(scope, receive, send)
            return
        if not _IDEMPOTENCY_KEY_RE.match(key):
            raise IdempotencyKeyInvalid("Idempotency-Key must be 1-255 visible ASCII characters")
        handler = scope.get("route_handler")
        limit = getattr(handler, "resolve_request_max_body_size", lambda: None)() or self.max_body_bytes
        digest = hashlib.sha256()
        for part in (method, scope["path"], scope.get("query_string", b"").decode("latin-1")):
            digest.update(part.encode() + b"\0")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as body:  # large uploads go to disk, not memory
            await self._read_body(receive, body, digest, limit=limit)
            await self._claim_or_replay(scope, receive, send, next_app, key, method, body, digest.hexdigest())

    async def _claim_or_replay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        next_app: ASGIApp,
        key: str,
        method: str,
        body: IO[bytes],
        request_hash: str,
    ) -> None:
        principal = scope.get("user")
        who = str(principal.user_id) if isinstance(principal, Principal) else "anonymous"

        repo = IdempotencyRepository(session_of(scope))
        # The claim inserts a row in this request's transaction: a concurrent retry waits on it.
        record = await repo.claim(
            principal=who,
            key=sealing.lookup_id(who, key),
            request_hash=request_hash,
            method=method,
            path=scope["path"],
            expired_before=utcnow() - self.ttl,
        )
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different request; use a new key for a new request",
                extra={"idempotency_key": key},
            )
        if record.status_code is not None:
            headers = [(k.encode(), v.encode()) for k, v in record.response_headers.items()]
            headers.append((b"idempotent-replayed", b"true"))
            await send({"type": "http.response.start", "status": record.status_code, "headers": headers})
            stored = sealing.unseal(who, key, record.response_body) if record.response_body else b""
            await send({"type": "http.response.body", "body": stored, "more_body": False})
            return

        body.seek(0)
        done = False

        async def replay_receive() -> Any:
            nonlocal done
            if not done:
                chunk = body.read(SPOOL_CHUNK)
                done = len(chunk) < SPOOL_CHUNK
                return {"type": "http.request", "body": chunk, "more_body": not done}
            return await receive()

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await next_app(scope, cast(Receive, replay_receive), capture_send)
        status = int(start.get("status", 500))
        if status < 400:
            kept = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in start.get("headers", [])
                if k.lower() in (b"content-type", b"location", b"etag")
            }
            sealed = sealing.seal(who, key, b"".join(chunks))
            await repo.complete(record, status_code=status, headers=kept, body=sealed)

    async def _read_body(self, receive: Receive, into: IO[bytes], digest: Any, *, limit: int) -> None:
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:  # the route's own limit (uploads allow more than the default)
                raise HTTPException(status_code=413)
            digest.update(chunk)
            into.write(chunk)
            if not message.get("more_body", False):
                break
