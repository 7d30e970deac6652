"""Index versions and the result cache: a cached answer is reused exactly while its index is unchanged."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from search.model import SearchDocument
from search.postgres import PostgresSearchBackend, ResultCache, TermCache

INDEX = "versioned"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def backend(connection: AsyncConnection) -> PostgresSearchBackend:
    return PostgresSearchBackend(connection, cache=TermCache())


def doc(n: int, title: str) -> SearchDocument:
    return SearchDocument(id=f"v{n:04d}", title=title, published_at=T0)


async def test_every_kind_of_write_gives_the_index_a_new_version(backend: PostgresSearchBackend) -> None:
    assert await backend.version(INDEX) is None  # never written
    seen = []
    await backend.upsert(INDEX, [doc(1, "石墨烯导热膜"), doc(2, "钙钛矿电池")])
    seen.append(await backend.version(INDEX))
    await backend.upsert(INDEX, [doc(1, "石墨烯导热膜（第二版）")])
    seen.append(await backend.version(INDEX))
    await backend.delete(INDEX, ["v0002"])
    seen.append(await backend.version(INDEX))
    await backend.refresh_statistics(INDEX)
    seen.append(await backend.version(INDEX))
    await backend.clear(INDEX)
    seen.append(await backend.version(INDEX))
    assert None not in seen and len(set(seen)) == len(seen)
    assert seen == sorted(seen)  # a sequence: later writes, higher versions
    assert await backend.version("another") is None  # versions are per index


async def test_a_rolled_back_write_never_leaves_its_version_to_come_back(
    backend: PostgresSearchBackend, connection: AsyncConnection
) -> None:
    await backend.upsert(INDEX, [doc(1, "氢燃料电池")])
    before = await backend.version(INDEX)
    savepoint = await connection.begin_nested()
    await backend.upsert(INDEX, [doc(2, "固态电池")])
    inside = await backend.version(INDEX)
    await savepoint.rollback()
    assert await backend.version(INDEX) == before
    await backend.upsert(INDEX, [doc(3, "钠离子电池")])
    after = await backend.version(INDEX)
    assert after not in (before, inside)  # another state of the index: never the rolled-back one's version


def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache = ResultCache(max_entries=2)
    cache.put(("i", 1, "a"), b"A")
    cache.put(("i", 1, "b"), b"B")
    assert cache.get(("i", 1, "a")) == b"A"  # now the most recently used
    cache.put(("i", 1, "c"), b"C")
    assert cache.get(("i", 1, "b")) is None and cache.get(("i", 1, "a")) == b"A" and cache.get(("i", 1, "c")) == b"C"
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1
    assert cache.get(("i", 2, "a")) is None  # another version: another key
    cache.forget()
    assert len(cache) == 0


def test_entries_expire_and_a_zero_size_cache_keeps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    cache = ResultCache(max_entries=10, ttl=5.0)
    cache.put("k", b"v")
    now[0] += 4.9
    assert cache.get("k") == b"v"
    now[0] += 0.2
    assert cache.get("k") is None and len(cache) == 0
    off = ResultCache(max_entries=0)
    off.put("k", b"v")
    assert not off.enabled and off.get("k") is None and len(off) == 0
