"""The port webhooks leave through: a sender opens a channel to one endpoint URL and posts signed bodies on it."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

import httpx

from marketplace.webhooks.urls import UnsafeUrl, VettedUrl, vet

SNIPPET_BYTES = 1024
SNIPPET_CHARS = 1000
MAX_RETRY_AFTER_SECONDS = 24 * 3600


@dataclass(frozen=True, slots=True)
class SendResult:
    """What one attempt got back: a status code, or an error when there was no HTTP answer."""

    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0
    response_snippet: str | None = None
    retry_after_seconds: float | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer: delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


class Channel(Protocol):
    """A connection to one endpoint URL, good for several posts in a row."""

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """Send one attempt; never raises for network or HTTP failures (they are results)."""
        ...


class WebhookSender(Protocol):
    """Opens channels to endpoint URLs."""

    def open(self, url: str) -> AbstractAsyncContextManager[Channel]:
        """A channel to `url`, checked for safety as it opens."""
        ...


class RefusedChannel:
    """A channel to a URL that failed the safety check: every post fails with the reason, nothing is sent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """Refuse."""
        return SendResult(error=f"refused: {self.reason}"[:500])


class HttpxChannel:
    """Posts over HTTP(S) to the vetted addresses of one URL, keeping the original Host and TLS server name."""

    def __init__(self, client: httpx.AsyncClient, url: VettedUrl, *, timeout: float) -> None:
        self.client = client
        self.url = url
        self.timeout = timeout

    async def post(self, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """One attempt, bounded by the timeout end to end; tries the next address when a connection fails."""
        started = time.perf_counter()
        result = SendResult(error="no address to connect to")
        for address in self.url.addresses:
            result = await self._post_to(self.url.url_for(address), body, headers, started)
            if result.status_code is not None or not (result.error or "").startswith("connection failed"):
                break
        return result

    async def _post_to(self, target: str, body: bytes, headers: Mapping[str, str], started: float) -> SendResult:
        request_headers = {**headers, "accept-encoding": "identity", "Host": self.url.host_header}
        extensions = (
            {"sni_hostname": self.url.host} if self.url.scheme == "https" and not self.url.host_is_address else {}
        )
        remaining = max(self.timeout - (time.perf_counter() - started), 0.001)
        try:
            async with asyncio.timeout(remaining):
                request = self.client.build_request(
                    "POST", target, content=body, headers=request_headers, extensions=extensions
                )
                response = await self.client.send(request, stream=True)
                try:
                    snippet = await _snippet(response)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            return SendResult(error=f"timed out after {self.timeout:g}s", duration_ms=_ms(started))
        except httpx.ConnectError as exc:
            return SendResult(error=f"connection failed: {exc}"[:500], duration_ms=_ms(started))
        except httpx.HTTPError as exc:
            return SendResult(error=f"{type(exc).__name__}: {exc}"[:500], duration_ms=_ms(started))
        return SendResult(
            status_code=response.status_code,
            duration_ms=_ms(started),
            response_snippet=snippet,
            retry_after_seconds=_retry_after(response),
        )


class HttpxSender:
    """The real sender: checks the URL (DNS included) as a channel opens, then connects only to the checked addresses."""

    def __init__(
        self, *, timeout: float, allow_private: bool, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.timeout = timeout
        self.allow_private = allow_private
        self.transport = transport

    @contextlib.asynccontextmanager
    async def open(self, url: str) -> AsyncIterator[Channel]:
        """A channel for one run of deliveries to `url` (one connection pool, closed afterwards)."""
        try:
            vetted = await vet(url, allow_private=self.allow_private)
        except UnsafeUrl as exc:
            yield RefusedChannel(str(exc))
            return
        async with httpx.AsyncClient(
            verify=_tls_context(),
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
            transport=self.transport,
        ) as client:
            yield HttpxChannel(client, vetted, timeout=self.timeout)


async def _snippet(response: httpx.Response) -> str | None:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= SNIPPET_BYTES:
            break
    if not chunks:
        return None
    return b"".join(chunks)[:SNIPPET_BYTES].decode("utf-8", errors="replace")[:SNIPPET_CHARS]


def _retry_after(response: httpx.Response) -> float | None:
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value.isdigit():
        return None
    return float(min(int(value), MAX_RETRY_AFTER_SECONDS))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process, not once per delivery run.
    return httpx.create_ssl_context()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


_sender: WebhookSender | None = None


def get_sender() -> WebhookSender:
    """The sender in use: the one installed by set_sender, else the HTTP sender configured from the settings."""
    if _sender is not None:
        return _sender
    from marketplace.webhooks.config import get_webhook_settings

    settings = get_webhook_settings()
    return HttpxSender(timeout=settings.webhooks_timeout_seconds, allow_private=settings.webhooks_allow_private_urls)


def set_sender(sender: WebhookSender | None) -> None:
    """Install another sender (a fake where no real receiver can run); None restores the default."""
    global _sender
    _sender = sender
