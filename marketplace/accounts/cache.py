"""A short-lived, per-process cache of API key lookups: authentication is on every request's path."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from marketplace.accounts.principal import Principal


@dataclass(slots=True)
class _Entry:
    principal: Principal
    last_used: datetime | None
    expires: float


class PrincipalCache:
    """Key hash -> caller, for `ttl` seconds. Changes made in this process evict at once; other
    processes see a revocation, role change or deactivation within `ttl` seconds."""

    def __init__(self, *, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def get(self, key_hash: str) -> tuple[Principal, datetime | None] | None:
        """The cached caller and last-used time, if fresh."""
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._entries.pop(key_hash, None)
            return None
        return entry.principal, entry.last_used

    def put(self, key_hash: str, principal: Principal, last_used: datetime | None) -> None:
        """Remember a lookup (a no-op when the TTL is 0)."""
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()  # crude but bounded; a full cache refills in one TTL
        self._entries[key_hash] = _Entry(principal, last_used, time.monotonic() + self.ttl)

    def forget(
        self,
        *,
        key_id: uuid.UUID | None = None,
        user_id: uuid.UUID | None = None,
        organization_id: uuid.UUID | None = None,
    ) -> None:
        """Evict every entry of a key, a user or an organisation."""
        for key_hash, entry in list(self._entries.items()):
            p = entry.principal
            if p.api_key_id == key_id or p.user_id == user_id or p.organization_id == organization_id:
                self._entries.pop(key_hash, None)

    def clear(self) -> None:
        """Evict everything."""
        self._entries.clear()


_cache: PrincipalCache | None = None


def principal_cache() -> PrincipalCache:
    """The process-wide cache, sized from the settings on first use."""
    global _cache
    if _cache is None:
        from marketplace.config import get_settings

        _cache = PrincipalCache(ttl=get_settings().auth_cache_seconds)
    return _cache
