"""What an uploaded file really is, judged by its first bytes (never by its name)."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO

ATTACHMENT_MAX_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS_PER_LISTING = 30

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class FileType:
    """A recognised file type."""

    media_type: str
    extension: str


PDF = FileType("application/pdf", "pdf")
PNG = FileType("image/png", "png")
JPEG = FileType("image/jpeg", "jpg")
DOCX = FileType("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx")
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
PPTX = FileType("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx")
DOC = FileType("application/msword", "doc")
XLS = FileType("application/vnd.ms-excel", "xls")

ACCEPTED = (PDF, PNG, JPEG, DOCX, XLSX, PPTX, DOC, XLS)


def _office_open_xml(data: bytes | IO[bytes]) -> FileType | None:
    """DOCX/XLSX/PPTX: a zip holding [Content_Types].xml and the part folder of its kind (names only, nothing inflated)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data) if isinstance(data, bytes) else data) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    if "[Content_Types].xml" not in names:
        return None
    for prefix, kind in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
        if any(name.startswith(prefix) for name in names):
            return kind
    return None


def _ole(data: bytes) -> FileType | None:
    """DOC/XLS: an OLE compound file whose directory names a WordDocument or Workbook stream."""
    if "WordDocument".encode("utf-16-le") in data:
        return DOC
    if "Workbook".encode("utf-16-le") in data or "Book\x00".encode("utf-16-le") in data:
        return XLS
    return None


def sniff(data: bytes) -> FileType | None:
    """The accepted type these bytes are, or None."""
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(_ZIP_MAGIC):
        return _office_open_xml(data)
    if data.startswith(_OLE_MAGIC):
        return _ole(data)
    return None


_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(name: str | None, kind: FileType) -> str:
    """A display name safe to echo in headers: no folders, no control characters, the true extension."""
    base = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = _UNSAFE_RE.sub("_", base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:150] or "attachment"
    return f"{stem}.{kind.extension}"


CHUNK = 256 * 1024
_OLE_MARKERS = tuple(m.encode("utf-16-le") for m in ("WordDocument", "Workbook", "Book\x00"))


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What a stored-on-disk upload is: its type (None: not accepted), size and SHA-256."""

    kind: FileType | None
    size: int
    sha256: str


def inspect_file(source: IO[bytes]) -> FileFacts:
    """Judge a seekable file in chunks (an upload spooled to disk is never read whole into memory)."""
    source.seek(0)
    digest = hashlib.sha256()
    size = 0
    head = b""
    ole_seen: set[bytes] = set()
    tail = b""
    while chunk := source.read(CHUNK):
        if size == 0:
            head = chunk[:16]
        size += len(chunk)
        digest.update(chunk)
        if head.startswith(_OLE_MAGIC):
            window = tail + chunk  # markers may straddle two chunks
            ole_seen.update(m for m in _OLE_MARKERS if m in window)
            tail = chunk[-32:]
    kind: FileType | None
    if head.startswith(_ZIP_MAGIC):
        source.seek(0)
        kind = _office_open_xml(source)
    elif head.startswith(_OLE_MAGIC):
        kind = DOC if _OLE_MARKERS[0] in ole_seen else XLS if ole_seen else None
    else:
        kind = sniff(head)
    source.seek(0)
    return FileFacts(kind=kind, size=size, sha256=digest.hexdigest())
