"""Standard Webhooks signing (https://www.standardwebhooks.com): secrets, signatures, headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
USER_AGENT = "marketplace-webhooks/1.0"


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key inside a `whsec_` secret."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64 HMAC-SHA256>` signature over `{id}.{timestamp}.{body}`."""
    message = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), message, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def webhook_headers(*, msg_id: str, timestamp: int, body: bytes, secrets_in_use: Iterable[str]) -> dict[str, str]:
    """The request headers of one attempt; during a secret rotation both secrets sign (space-separated)."""
    signatures = " ".join(signature(s, msg_id=msg_id, timestamp=timestamp, body=body) for s in secrets_in_use)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }
