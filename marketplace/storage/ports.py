"""The storage port every implementation satisfies."""

from __future__ import annotations

import re
from typing import IO, Protocol, runtime_checkable

_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


class StoredObjectMissing(LookupError):
    """Nothing is stored under this key."""


class InvalidStorageKey(ValueError):
    """Keys are slash-separated names of letters, digits, '.', '_' and '-' (no '..', no leading '/')."""


def check_key(key: str) -> str:
    """The key itself when it is safe to use as a path or object name."""
    if len(key) > 200 or not _KEY_RE.match(key) or ".." in key:
        raise InvalidStorageKey(f"not a valid storage key: {key!r}")
    return key


@runtime_checkable
class Storage(Protocol):
    """Where uploaded files live."""

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store data under key, replacing what was there."""
        ...

    async def put_file(self, key: str, source: IO[bytes], *, content_type: str) -> None:
        """Store a file's content under key, copied in chunks (large uploads never sit whole in memory)."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under key (StoredObjectMissing when there are none)."""
        ...

    async def delete(self, key: str) -> None:
        """Remove what is stored under key (no error when nothing is)."""
        ...
