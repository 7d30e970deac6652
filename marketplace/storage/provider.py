"""Which storage the service uses: the configured one, or one a test put in place."""

from __future__ import annotations

from marketplace.config import get_settings
from marketplace.storage.local import LocalStorage
from marketplace.storage.ports import Storage

_override: Storage | None = None


def get_storage() -> Storage:
    """The storage in use: an override if set, else a LocalStorage under MARKETPLACE_DATA_DIR/files."""
    if _override is not None:
        return _override
    return LocalStorage(get_settings().marketplace_data_dir / "files")


def use_storage(storage: Storage | None) -> None:
    """Put a storage in place for the whole process (None: back to the configured one)."""
    global _override
    _override = storage
