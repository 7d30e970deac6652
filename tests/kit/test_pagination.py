"""Cursors are opaque, round-trip, and bad ones are a clear 400-class error."""

from __future__ import annotations

import uuid

import pytest

from marketplace.kit.ids import uuid7
from marketplace.kit.pagination import InvalidCursor, decode_cursor, decode_id_cursor, encode_cursor


def test_round_trip() -> None:
    ident = uuid7()
    assert decode_id_cursor(encode_cursor([ident])) == ident
    assert decode_cursor(encode_cursor(["2026-01-01", 5])) == ["2026-01-01", 5]


@pytest.mark.parametrize("bad", ["!!!", "bm90IGpzb24", encode_cursor([]).replace("W10", "e30"), "W10"])
def test_bad_cursor(bad: str) -> None:
    with pytest.raises(InvalidCursor) as info:
        decode_id_cursor(bad)
    assert info.value.status_code == 400 and info.value.errors[0].parameter == "cursor"


def test_uuid7_is_time_ordered_and_version_7() -> None:
    ids = [uuid7() for _ in range(200)]
    assert all(i.version == 7 for i in ids)
    assert [i.int >> 80 for i in ids] == sorted(i.int >> 80 for i in ids)
    assert len(set(ids)) == 200
    assert isinstance(ids[0], uuid.UUID)
