"""Rate limits: fixed-window request budgets per API key and per client address, in one of three stores.

Litestar's own RateLimitMiddleware reads a history from its Store, changes it in the process and writes it back
under a process-local lock: two API processes sharing one store can both read N-1 and both let a request
through, so the limit is not a limit with several processes. Here each store counts with one atomic operation
(a PostgreSQL upsert, a Redis INCR, a dict update with no await in between), which stays correct however many
processes share it.
"""

from __future__ import annotations

import hashlib
import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy import text

from marketplace.kit.errors import NotAuthenticated
from marketplace.kit.problems import send_problem

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from marketplace.config import Settings

log = structlog.get_logger("marketplace.ratelimit")
EXEMPT_PATHS = ("/health", "/ready", "/metrics")
DASHBOARD_LOGIN = "/dashboard/login"


@dataclass(frozen=True, slots=True)
class Hit:
    """The count in the current window after this request, and seconds until the window ends."""

    count: int
    reset_after: float


class CounterStore(Protocol):
    """Counts one more request for key in the current window of `window` seconds, atomically."""

    async def hit(self, key: str, *, window: int, scope: Scope) -> Hit:
        """Add one and say where the count stands."""
        ...

    async def peek(self, key: str, *, window: int, scope: Scope) -> int:
        """The count in the current window, without adding to it."""
        ...


class MemoryCounterStore:
    """Counters in this process (the default; right for a single API process)."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counters: dict[str, tuple[int, int]] = {}
        self._max_keys = max_keys

    async def hit(self, key: str, *, window: int, scope: Scope) -> Hit:
        """No await between read and write: atomic within the event loop."""
        now = time.time()
        start = int(now // window) * window
        seen_start, count = self._counters.get(key, (start, 0))
        count = count + 1 if seen_start == start else 1
        if key not in self._counters and len(self._counters) >= self._max_keys:
            self._counters = {k: v for k, v in self._counters.items() if v[0] == start}  # drop past windows
        self._counters[key] = (start, count)
        return Hit(count=count, reset_after=start + window - now)

    async def peek(self, key: str, *, window: int, scope: Scope) -> int:
        """The count, if it is of the current window."""
        start = int(time.time() // window) * window
        seen_start, count = self._counters.get(key, (start, 0))
        return count if seen_start == start else 0


_UPSERT = text(
    """
    INSERT INTO rate_limit_counters AS c (key, window_start, hits)
    VALUES (:key, to_timestamp(floor(extract(epoch FROM clock_timestamp()) / :window) * :window), 1)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN EXCLUDED.window_start > c.window_start THEN 1 ELSE c.hits + 1 END,
        window_start = GREATEST(c.window_start, EXCLUDED.window_start)
    RETURNING c.hits,
        extract(epoch FROM c.window_start) + :window - extract(epoch FROM clock_timestamp()) AS reset_after
    """
)
_PEEK = text(
    """
    SELECT hits FROM rate_limit_counters
    WHERE key = :key AND window_start = to_timestamp(floor(extract(epoch FROM clock_timestamp()) / :window) * :window)
    """
)
_PURGE = text("DELETE FROM rate_limit_counters WHERE window_start < clock_timestamp() - make_interval(secs => :age)")


class PostgresCounterStore:
    """Counters in the service's own PostgreSQL, shared by every API process.

    One upsert per request, on the database clock (processes on different hosts agree on the window);
    the table is UNLOGGED, so counting writes no WAL. Rows of past windows are purged now and then.
    """

    def __init__(self, *, purge_every: int = 1000) -> None:
        self._purge_every = purge_every

    async def hit(self, key: str, *, window: int, scope: Scope) -> Hit:
        """Count on a connection of its own, outside the request's transaction."""
        engine: AsyncEngine = scope["app"].state.engine
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.execute(_UPSERT, {"key": key, "window": window})).one()
            if random.randrange(self._purge_every) == 0:
                await conn.execute(_PURGE, {"age": max(window * 2, 3600)})
        return Hit(count=int(row[0]), reset_after=float(row[1]))

    async def peek(self, key: str, *, window: int, scope: Scope) -> int:
        """Read the current window's count."""
        engine: AsyncEngine = scope["app"].state.engine
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            value = (await conn.execute(_PEEK, {"key": key, "window": window})).scalar()
        return int(value or 0)


class RedisCounterStore:
    """Counters in Redis (INCR and EXPIRE in one MULTI), for deployments that already run it."""

    def __init__(self, url: str) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError("RATE_LIMIT_STORE=redis needs the redis package: pip install redis") from exc
        self._client: Any = aioredis.Redis.from_url(url)

    async def hit(self, key: str, *, window: int, scope: Scope) -> Hit:
        """One key per window; it expires shortly after its window ends."""
        now = time.time()
        start = int(now // window) * window
        name = f"ratelimit:{key}:{start}"
        async with self._client.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(name).expire(name, window + 5).execute()
        return Hit(count=int(count), reset_after=start + window - now)

    async def peek(self, key: str, *, window: int, scope: Scope) -> int:
        """Read the current window's key."""
        start = int(time.time() // window) * window
        return int(await self._client.get(f"ratelimit:{key}:{start}") or 0)

    async def close(self) -> None:
        """Release the connection pool."""
        await self._client.aclose()


def make_store(settings: Settings) -> CounterStore:
    """The store RATE_LIMIT_STORE names."""
    if settings.rate_limit_store == "postgres":
        return PostgresCounterStore()
    if settings.rate_limit_store == "redis":
        return RedisCounterStore(settings.rate_limit_redis_url)
    return MemoryCounterStore()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def caller_identity(scope: Scope) -> tuple[str, bool]:
    """('key:<digest>', True) for a request carrying a bearer key, else ('ip:<client address>', False).

    The key is never stored or logged: only a SHA-256 digest of it names the counter. The client address is
    the one the ASGI server reports (run uvicorn with --proxy-headers and --forwarded-allow-ips behind a proxy).
    """
    header = _header(scope, b"authorization")
    if header:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            return "key:" + hashlib.sha256(secret.strip().encode()).hexdigest()[:40], True
    return "ip:" + address_of(scope), False


def address_of(scope: Scope) -> str:
    """The client address the ASGI server reports."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class RateLimitMiddleware(ASGIMiddleware):
    """429 problem+json with Retry-After over the budget; RateLimit-* headers on every counted answer."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, settings: Settings, store: CounterStore | None = None) -> None:
        self.window = settings.rate_limit_window_seconds
        self.key_limit = settings.rate_limit_key_requests
        self.anonymous_limit = settings.rate_limit_anonymous_requests
        self.auth_failure_limit = settings.rate_limit_auth_failures
        self.store = store or make_store(settings)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Count the request, refuse it when over the budget, else pass it on with the headers."""
        path = scope.get("path", "")
        if path in EXEMPT_PATHS or scope.get("method") == "OPTIONS":
            await next_app(scope, receive, send)
            return
        identity, keyed = caller_identity(scope)
        limit = self.key_limit if keyed else self.anonymous_limit
        failures_key = "authfail:" + address_of(scope)
        signing_in = keyed or (path == DASHBOARD_LOGIN and scope.get("method") == "POST")
        try:
            if signing_in:
                # Guessing keys: each guess is a new key with a fresh budget, so failures count per address.
                failures = await self.store.peek(failures_key, window=self.window, scope=scope)
                if failures >= self.auth_failure_limit:
                    await self._refuse_guessing(scope, receive, send)
                    return
            hit = await self.store.hit(identity, window=self.window, scope=scope)
        except Exception as exc:  # the store is down: serve, do not fail closed
            log.warning("rate-limit store unavailable; request not counted", error=type(exc).__name__)
            await next_app(scope, receive, send)
            return
        reset = max(1, math.ceil(hit.reset_after))
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(max(0, limit - hit.count)),
            "RateLimit-Reset": str(reset),
            "RateLimit-Policy": f"{limit};w={self.window}",
        }
        if hit.count > limit:
            await send_problem(
                scope,
                receive,
                send,
                status=429,
                type_slug="too-many-requests",
                title="Too many requests",
                detail=f"at most {limit} requests per {self.window} seconds "
                f"{'for this API key' if keyed else 'from this address without an API key'}; retry after {reset} s",
                headers={**headers, "Retry-After": str(reset)},
            )
            return
        encoded = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        status = [0]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *encoded]}  # type: ignore[typeddict-item]
            await send(message)

        try:
            await next_app(scope, receive, send_with_headers)
        except NotAuthenticated:  # a bad key: raised here, answered by the outer error handler
            if signing_in:
                await self._count_failure(failures_key, scope)
            raise
        if status[0] == 401 and signing_in:  # (the dashboard's sign-in form answers 401 itself)
            await self._count_failure(failures_key, scope)

    async def _count_failure(self, key: str, scope: Scope) -> None:
        try:
            await self.store.hit(key, window=self.window, scope=scope)
        except Exception as exc:
            log.warning("rate-limit store unavailable; failure not counted", error=type(exc).__name__)

    async def _refuse_guessing(self, scope: Scope, receive: Receive, send: Send) -> None:
        reset = self.window - int(time.time()) % self.window
        await send_problem(
            scope,
            receive,
            send,
            status=429,
            type_slug="too-many-requests",
            title="Too many requests",
            detail=f"more than {self.auth_failure_limit} failed sign-ins from this address in {self.window} "
            f"seconds; retry after {reset} s",
            headers={"Retry-After": str(reset)},
        )
