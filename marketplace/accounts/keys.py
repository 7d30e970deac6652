"""API key material: generation, the recognisable prefix, and the stored hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "mkt_"
PREFIX_LEN = len(KEY_PREFIX) + 8


def generate_key() -> str:
    """A new secret key: the fixed prefix, then 43 URL-safe characters (256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 of the key; keys carry 256 bits of entropy, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The part of a key that may be shown and logged to recognise it."""
    return key[:PREFIX_LEN]


def looks_like_key(value: str) -> bool:
    """Whether a string has the shape of one of our keys."""
    return value.startswith(KEY_PREFIX) and 20 <= len(value) <= 100
