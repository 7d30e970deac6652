"""File storage behind one port: put, get, delete by key (local folder today; S3-compatible when boto3 is there)."""

from __future__ import annotations

from marketplace.storage.local import LocalStorage
from marketplace.storage.ports import InvalidStorageKey, Storage, StoredObjectMissing
from marketplace.storage.provider import get_storage, use_storage

__all__ = ["InvalidStorageKey", "LocalStorage", "Storage", "StoredObjectMissing", "get_storage", "use_storage"]
