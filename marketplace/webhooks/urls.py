"""Which URLs the service may send webhooks to: http(s) on public addresses only, checked again before each run."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_URL_LENGTH = 2000
RESOLVE_TIMEOUT_SECONDS = 5.0
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UnsafeUrl(ValueError):
    """The URL must not receive webhooks; the message says why."""


@dataclass(frozen=True, slots=True)
class VettedUrl:
    """A URL that passed the checks, with the addresses it may be reached at (in resolver order)."""

    scheme: str
    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[IPAddress, ...]
    host_is_address: bool

    @property
    def host_header(self) -> str:
        """The Host header value of the original URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: IPAddress) -> str:
        """The URL with the host replaced by one vetted address, so the connection goes where the check said."""
        host = f"[{address}]" if address.version == 6 else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.target}"


def refusal(address: IPAddress) -> str | None:
    """Why an address must not receive webhooks, or None for a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            inner = refusal(embedded)
            if inner is not None:
                return f"{inner} (embedded in {address})"
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_reserved", "a reserved address"),
        ("is_private", "a private address"),
    )
    for attribute, label in checks:
        if getattr(address, attribute):
            return f"{label} ({address})"
    if not address.is_global:
        return f"an address that is not publicly routable ({address})"
    return None


def parse(url: str) -> SplitResult:
    """Split a URL and refuse what is never acceptable, whatever it resolves to."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeUrl(f"longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrl("contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs can receive webhooks")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeUrl("credentials in the URL are not allowed; authenticate by the webhook signature")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if port == 0:
        raise UnsafeUrl("port 0 is not a valid port")
    return parts


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int, *, within: float = RESOLVE_TIMEOUT_SECONDS) -> tuple[IPAddress, ...]:
    """The addresses a host name resolves to (deduplicated, in resolver order)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(within):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, TimeoutError) as exc:
        raise UnsafeUrl(f"the host {host!r} does not resolve") from exc
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = _literal(str(sockaddr[0]).split("%", 1)[0])
        if address is not None:
            found[address] = None
    if not found:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    return tuple(found)


async def vet(url: str, *, allow_private: bool, resolve_names: bool = True) -> VettedUrl:
    """Check a URL and the addresses its host resolves to now; raise UnsafeUrl when any of them is refused."""
    parts = parse(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if scheme == "https" else 80)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    literal = _literal(host)
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    elif resolve_names:
        addresses = await resolve(host, port)
    else:
        addresses = ()
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                where = "is" if literal is not None else "resolves to"
                raise UnsafeUrl(f"the host {where} {reason}; webhooks go to public addresses only")
    return VettedUrl(
        scheme=scheme, host=host, port=port, target=target, addresses=addresses, host_is_address=literal is not None
    )
