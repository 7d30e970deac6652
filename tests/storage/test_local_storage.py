"""The local folder implementation of the storage port."""

from __future__ import annotations

from pathlib import Path

import pytest

from marketplace.storage import InvalidStorageKey, LocalStorage, Storage, StoredObjectMissing, get_storage, use_storage


async def test_round_trip_replace_and_delete(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    assert isinstance(storage, Storage)
    await storage.put("listings/a/b", b"first", content_type="application/pdf")
    await storage.put("listings/a/b", b"second", content_type="application/pdf")
    assert await storage.get("listings/a/b") == b"second"
    assert [p.name for p in (tmp_path / "listings" / "a").iterdir()] == ["b"]  # no temporary files left
    await storage.delete("listings/a/b")
    await storage.delete("listings/a/b")  # deleting twice is fine
    with pytest.raises(StoredObjectMissing):
        await storage.get("listings/a/b")


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../b", "a//b", "", "a/.hidden", "a\\b"])
async def test_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path)
    with pytest.raises(InvalidStorageKey):
        await storage.put(key, b"x", content_type="text/plain")


def test_default_is_a_folder_under_the_data_dir(tmp_path: Path) -> None:
    default = get_storage()
    assert isinstance(default, LocalStorage)
    assert default.root.name == "files"
    replacement = LocalStorage(tmp_path)
    use_storage(replacement)
    try:
        assert get_storage() is replacement
    finally:
        use_storage(None)
