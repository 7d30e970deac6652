"""Listing tests keep uploaded files in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from marketplace.storage import LocalStorage, use_storage


@pytest.fixture(autouse=True)
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    """A LocalStorage in the test's temporary folder, in place for the app."""
    store = LocalStorage(tmp_path / "files")
    use_storage(store)
    yield store
    use_storage(None)
