"""Files in a local folder (MARKETPLACE_DATA_DIR/files by default)."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from marketplace.storage.ports import StoredObjectMissing, check_key


class LocalStorage:
    """Stores each object as one file under a root folder, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Write to a temporary file next to the target, then rename it into place."""
        await asyncio.to_thread(self._write, key, lambda handle: handle.write(data))

    async def put_file(self, key: str, source: IO[bytes], *, content_type: str) -> None:
        """Copy a file in chunks to a temporary file next to the target, then rename it into place."""
        source.seek(0)
        await asyncio.to_thread(self._write, key, lambda handle: shutil.copyfileobj(source, handle, 256 * 1024))

    def _write(self, key: str, fill: Callable[[IO[bytes]], object]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        """Read the whole file."""
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise StoredObjectMissing(key) from exc

    async def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        path = self._path(key)
        await asyncio.to_thread(path.unlink, missing_ok=True)
