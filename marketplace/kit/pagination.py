"""Cursor pagination: opaque cursors over a stable (sort key, id) order, one helper for every list route."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar

from litestar.params import QueryParameter
from pydantic import BaseModel, Field

from marketplace.kit.errors import AppError, FieldProblem

T = TypeVar("T")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100

LimitParam = Annotated[
    int, QueryParameter(name="limit", ge=1, le=MAX_LIMIT, description=f"Page size, at most {MAX_LIMIT}.")
]
CursorParam = Annotated[
    str | None,
    QueryParameter(name="cursor", max_length=512, description="Opaque cursor from the previous page's next_cursor."),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; follow next_cursor until it is null."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= to get the next page.")


def encode_cursor(values: Sequence[Any]) -> str:
    """Pack the last row's sort values into an opaque, URL-safe cursor."""
    raw = json.dumps([str(v) if isinstance(v, uuid.UUID) else v for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """Unpack a cursor made by encode_cursor, or say clearly that it is not one."""
    if cursor is None or cursor == "":
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise bad_cursor() from exc
    if not isinstance(values, list) or not values:
        raise bad_cursor()
    return values


def decode_id_cursor(cursor: str | None) -> uuid.UUID | None:
    """A cursor over id order (ids are UUIDv7, so this is creation order)."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return uuid.UUID(str(values[0]))
    except ValueError as exc:
        raise bad_cursor() from exc


def page_by_id(rows: Sequence[Any], *, limit: int, key: str = "id") -> tuple[list[Any], str | None]:
    """Split limit+1 fetched rows into a page and the cursor for the next one."""
    items = list(rows[:limit])
    next_cursor = encode_cursor([getattr(items[-1], key)]) if len(rows) > limit and items else None
    return items, next_cursor


class InvalidCursor(AppError):
    """A cursor this service did not issue: a malformed request (400), like any other bad query parameter."""

    status_code = 400
    title = "Invalid cursor"


def bad_cursor() -> InvalidCursor:
    """The error for a cursor that does not decode."""
    return InvalidCursor(
        "cursor is not one this service issued",
        errors=[FieldProblem(detail="not a valid cursor", parameter="cursor", location="query")],
    )
