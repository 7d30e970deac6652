"""Dashboard session tokens: the key's and user's ids and an expiry, signed with HMAC-SHA256."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

_VERSION = "v1"


@dataclass(frozen=True, slots=True)
class Session:
    """Who a valid token names (the key is checked again against the database on every request)."""

    api_key_id: uuid.UUID
    user_id: uuid.UUID
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), f"{_VERSION}.{payload}".encode(), hashlib.sha256).digest())


def issue(secret: str, *, api_key_id: uuid.UUID, user_id: uuid.UUID, now: datetime, ttl: timedelta) -> str:
    """A token good until now + ttl."""
    payload = f"{api_key_id.hex}.{user_id.hex}.{int((now + ttl).timestamp())}"
    return f"{_VERSION}.{payload}.{_sign(secret, payload)}"


def verify(secret: str, token: str | None, *, now: datetime) -> Session | None:
    """The session a token names, if its signature holds and it has not expired."""
    if not token or len(token) > 200:
        return None
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != _VERSION:
        return None
    payload = ".".join(parts[1:4])
    if not hmac.compare_digest(_sign(secret, payload), parts[4]):
        return None
    try:
        key_id, user_id, expires = uuid.UUID(hex=parts[1]), uuid.UUID(hex=parts[2]), int(parts[3])
    except ValueError:
        return None
    if expires <= now.timestamp():
        return None
    return Session(api_key_id=key_id, user_id=user_id, expires_at=datetime.fromtimestamp(expires, tz=now.tzinfo))
