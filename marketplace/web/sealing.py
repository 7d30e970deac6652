"""Idempotency records keep no readable secret: the key is stored hashed, the answer sealed under the raw key.

A first answer may carry a secret shown once (a new API key, a webhook signing secret). A retry with the same
Idempotency-Key must get that same answer back, so the answer is kept; but the database only ever holds a
one-way digest of the key and the answer encrypted (AES-256-GCM) under a key derived from the raw
Idempotency-Key, which only the client has. Someone reading the table learns neither. Clients should use
random keys (a UUID), as the Idempotency-Key draft recommends; a guessable key protects the answer less.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_LOOKUP = b"marketplace idempotency lookup v1\0"
_SEAL = b"marketplace idempotency seal v1\0"
NONCE_BYTES = 12


def _material(label: bytes, principal: str, key: str) -> bytes:
    return hashlib.sha256(label + principal.encode() + b"\0" + key.encode()).digest()


def lookup_id(principal: str, key: str) -> str:
    """What the records table stores instead of the key (64 hex characters)."""
    return _material(_LOOKUP, principal, key).hex()


def seal(principal: str, key: str, plaintext: bytes) -> bytes:
    """Encrypt an answer under the raw key: nonce followed by ciphertext and tag."""
    nonce = os.urandom(NONCE_BYTES)
    aad = lookup_id(principal, key).encode()
    return nonce + AESGCM(_material(_SEAL, principal, key)).encrypt(nonce, plaintext, aad)


def unseal(principal: str, key: str, sealed: bytes) -> bytes:
    """Decrypt an answer sealed by seal (raises cryptography's InvalidTag if it was altered)."""
    nonce, body = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    aad = lookup_id(principal, key).encode()
    return AESGCM(_material(_SEAL, principal, key)).decrypt(nonce, body, aad)
