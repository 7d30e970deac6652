"""The in-memory copy of a PostgreSQL index (search/memory.py) answers exactly as the SQL statement does.

Equality is checked field by field (hits in order, scores to the last bit, highlights, totals, every
facet, price range) on the judged relevance set with every sort order, filters and pages, and on
generated corpora built to produce ties (same dates, same scores), missing values and prefix, typo and
any-word fallbacks. The conformance suite also runs on the in-memory path (tests/search/conftest.py).
Then the background mode a server uses: nothing is answered from a copy older than the index.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine

from marketplace.config import to_asyncpg_url
from search import memory as memory_module
from search.evaluation import load_relevance_set
from search.memory import MemoryIndexes, decode_documents
from search.model import Facet, SearchDocument, SearchFilters, SearchQuery, SearchResult, SortOrder
from search.postgres import PostgresSearchBackend, TermCache
from search.prepare import KIND_FACTORS
from search.settings import index_settings

DATA = load_relevance_set(Path(__file__).parent / "relevance")
ALL_FACETS = tuple(Facet)


def comparable(result: SearchResult) -> dict:
    """Everything an answer says except how long it took."""
    return {
        "hits": [(h.id, h.score, dict(h.highlights), h.document.as_json(with_description=False)) for h in result.hits],
        "total": result.total,
        "facets": {f: [(c.value, c.count) for c in counts] for f, counts in result.facets.items()},
        "price_stats": result.price_stats,
        "terms": result.terms,
        "page": (result.page, result.per_page),
    }


class Pair:
    """The same index searched by the statement and by an in-memory copy loaded in the test's transaction."""

    def __init__(self, connection: AsyncConnection, index: str) -> None:
        cache = TermCache()
        self.index = index
        self.memory = MemoryIndexes(min_documents=0, inline=True)
        self.statement = PostgresSearchBackend(connection, cache=cache, settings={index: index_settings(index)})
        self.in_memory = PostgresSearchBackend(
            connection, cache=cache, settings={index: index_settings(index)}, memory=self.memory
        )

    async def check(self, query: SearchQuery) -> SearchResult:
        expected = await self.statement.search(self.index, query)
        answers = self.memory.answers
        got = await self.in_memory.search(self.index, query)
        assert self.memory.answers == answers + 1, "the in-memory copy did not answer"
        assert comparable(got) == comparable(expected), query
        return got


async def test_relevance_set_answers_are_identical(connection: AsyncConnection) -> None:
    pair = Pair(connection, "relevance")
    await pair.statement.apply_settings(index_settings("relevance"))
    await pair.statement.upsert("relevance", DATA.documents)
    await pair.statement.refresh_statistics("relevance")
    filters = [
        SearchFilters(),
        SearchFilters(field_codes=("1",)),
        SearchFilters(trl_min=5, trade_modes=("exclusive_licence", "transfer")),
        SearchFilters(price_max_fen=500_000_000),
        SearchFilters(region_prefix="44", state_funded=False),
    ]
    checked = 0
    for q in DATA.queries:
        for sort in SortOrder:
            for f in filters[:2] if sort is not SortOrder.relevance else filters:
                await pair.check(SearchQuery(text=q.query, filters=f, facets=ALL_FACETS, sort=sort, per_page=10))
                checked += 1
        await pair.check(SearchQuery(text=q.query, per_page=5, page=2))
    for sort in SortOrder:
        for f in filters:
            result = await pair.check(SearchQuery(text="", filters=f, facets=ALL_FACETS, sort=sort, per_page=7))
            checked += 1
    assert checked > 200
    assert result.total > 0


# -- generated corpora ------------------------------------------------------------------------------

WORDS = ["激光", "雷达", "锂电池", "储能", "芯片", "传感器", "光伏", "电池", "材料", "机器人", "氢能", "疫苗"]
LATIN = ["laser", "lidar", "battery", "storage", "sensor", "graphene", "robotics", "perovskite"]
HOLDERS = [str(uuid.UUID(int=i)) for i in range(1, 6)]


def generated(rng: random.Random, n: int) -> list[SearchDocument]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        words = rng.sample(WORDS, rng.randint(1, 3))
        latin = rng.sample(LATIN, rng.randint(0, 2))
        low = rng.choice([None, 1_000_000, 50_000_000, 200_000_000])
        docs.append(
            SearchDocument(
                id=f"g{rng.randint(0, 10**6):07d}-{i}",
                title="".join(words[:2]) + (" " + latin[0] if latin else ""),
                title_en=" ".join(latin) or None,
                keywords=tuple(rng.sample(WORDS, rng.randint(0, 2))),
                summary="，".join(rng.sample(WORDS + LATIN, 3)) + "。",
                description=" ".join(rng.sample(WORDS + LATIN, 4)),
                published_at=base + timedelta(days=rng.randint(0, 3)),  # many ties: order falls to the id
                holder_id=rng.choice([*HOLDERS, None]),
                field_codes=tuple(rng.sample(["1.1", "1.5", "3.2", "6.3", "7"], rng.randint(0, 2))),
                trl=rng.choice([None, 3, 5, 7, 9]),
                trade_modes=tuple(rng.sample(["transfer", "exclusive_licence", "co_development"], rng.randint(0, 2))),
                ip_types=tuple(rng.sample(["invention_patent", "know_how"], rng.randint(0, 2))),
                price_min_fen=low,
                price_max_fen=None if low is None else low * rng.choice([1, 3]),
                region_code=rng.choice([None, "440300", "310100", "110000"]),
                state_funded=rng.random() < 0.3,
                has_auction=rng.random() < 0.2,
            )
        )
    return docs


def random_query(rng: random.Random) -> SearchQuery:
    roll = rng.random()
    if roll < 0.15:
        words = ""
    elif roll < 0.3:
        word = rng.choice(LATIN)
        words = word[: rng.randint(2, len(word) - 1)]  # a prefix being typed
    elif roll < 0.45:
        word = rng.choice([w for w in LATIN if len(w) >= 6])
        i = rng.randrange(len(word))
        words = word[:i] + word[i + 1 :]  # one letter missing: a typo
    else:
        words = " ".join(rng.sample(WORDS + LATIN, rng.randint(1, 3)))
    f = SearchFilters(
        field_codes=tuple(rng.sample(["1", "3.2", "7"], rng.randint(0, 1))),
        trl_min=rng.choice([None, None, 5]),
        price_min_fen=rng.choice([None, None, 40_000_000]),
        holder_id=rng.choice([None, None, None, HOLDERS[0]]),
        has_auction=rng.choice([None, None, True]),
    )
    return SearchQuery(
        text=words,
        filters=f,
        facets=ALL_FACETS if rng.random() < 0.7 else (Facet.holder, Facet.trl),
        sort=rng.choice(list(SortOrder)),
        page=rng.choice([1, 1, 2]),
        per_page=rng.choice([3, 10]),
        prefix=rng.random() < 0.8,
    )


@pytest.mark.parametrize("check_each", [3_000, 0], ids=["titles-one-by-one", "titles-scanned-whole"])
async def test_generated_corpora_answers_are_identical(
    connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch, check_each: int
) -> None:
    monkeypatch.setattr(memory_module, "_PHRASE_CHECK_EACH", check_each)  # both ways of finding the phrase bonus
    checked = 0
    for seed in range(12):
        rng = random.Random(seed)
        index = f"generated{seed}"
        pair = Pair(connection, index)
        await pair.statement.apply_settings(index_settings(index))
        await pair.statement.upsert(index, generated(rng, rng.randint(5, 60)))
        if seed % 2:
            await pair.statement.refresh_statistics(index)
        for _ in range(25):
            await pair.check(random_query(rng))
            checked += 1
    assert checked == 300


async def test_the_copy_follows_writes_in_the_same_transaction(connection: AsyncConnection) -> None:
    pair = Pair(connection, "follow")
    await pair.statement.apply_settings(index_settings("follow"))
    docs = generated(random.Random(5), 20)
    await pair.statement.upsert("follow", docs)
    before = await pair.check(SearchQuery(text="", per_page=50))
    await pair.statement.delete("follow", [docs[0].id])
    after = await pair.check(SearchQuery(text="", per_page=50))
    assert before.total == 20 and after.total == 19
    assert docs[0].id not in {h.id for h in after.hits}
    assert pair.memory.loads == 2
    snapshot = pair.memory.snapshot("follow")
    assert snapshot is not None and snapshot.delta is not None  # the base, less one: nothing was read again


async def test_snapshots_updated_from_what_changed_answer_as_the_statement(connection: AsyncConnection) -> None:
    """Writes after the base: new documents, replaced ones (other text, date, price), deleted ones."""
    checked = 0
    for seed in range(6):
        rng = random.Random(100 + seed)
        index = f"delta{seed}"
        pair = Pair(connection, index)
        await pair.statement.apply_settings(index_settings(index))
        docs = generated(rng, 40)
        await pair.statement.upsert(index, docs)
        await pair.check(SearchQuery(text=""))
        for _round in range(3):
            fresh = generated(rng, rng.randint(1, 6))
            replaced = [
                dataclasses.replace(new, id=old.id)
                for old, new in zip(rng.sample(docs, 3), generated(rng, 3), strict=True)
            ]
            gone = [d.id for d in rng.sample(docs, 2)]
            await pair.statement.upsert(index, fresh + replaced)
            await pair.statement.delete(index, gone)
            docs = [d for d in docs if d.id not in gone] + fresh
            for _ in range(15):
                await pair.check(random_query(rng))
                checked += 1
            snapshot = pair.memory.snapshot(index)
            assert snapshot is not None and snapshot.delta is not None and snapshot.delta.size > 0
    assert checked == 270


async def test_a_copy_ranks_with_the_vocabulary_the_statement_reads(connection: AsyncConnection) -> None:
    """The copy keeps the vocabulary's frequencies (no round trip per search). A word written and then
    rewritten away since the copy was taken stays in the vocabulary (frequency 1, as the statement reads
    it) though no document has it: the copy then reads the vocabulary whole, and ranks as the statement."""
    pair = Pair(connection, "vocabulary")
    await pair.statement.apply_settings(index_settings("vocabulary"))
    docs = generated(random.Random(21), 40)
    await pair.statement.upsert("vocabulary", docs)
    await pair.statement.refresh_statistics("vocabulary")
    await pair.check(SearchQuery(text="激光 perovskite"))  # the copy, with statistics
    passing = dataclasses.replace(docs[0], title="zanzibarite " + docs[0].title)
    await pair.statement.upsert("vocabulary", [passing])
    await pair.statement.upsert("vocabulary", [docs[0]])  # the word is gone from every document again
    fresh = dataclasses.replace(generated(random.Random(22), 1)[0], title="quokkaline 激光")
    await pair.statement.upsert("vocabulary", [fresh])
    for text_ in ("zanzibarite 激光", "quokkaline 激光", "zanzibarite quokkaline", "激光 perovskite"):
        await pair.check(SearchQuery(text=text_, facets=ALL_FACETS))
    snapshot = pair.memory.snapshot("vocabulary")
    assert snapshot is not None and snapshot.delta is not None
    assert snapshot.frequencies({"zanzibarite", "quokkaline", "nowhere"}) == {
        "zanzibarite": 1,
        "quokkaline": 1,
        "nowhere": 0,
    }
    await pair.statement.refresh_statistics("vocabulary")  # recounted: the orphan word leaves the vocabulary
    await pair.check(SearchQuery(text="zanzibarite 激光"))
    assert pair.memory.snapshot("vocabulary").frequencies({"zanzibarite"}) == {"zanzibarite": 0}  # type: ignore[union-attr]


def test_a_write_makes_remembered_absences_and_counted_sizes_unknown_again() -> None:
    """The statement path remembers frequencies for a while; after a write to an index, a word remembered
    as absent may be there now (the copy would rank with it), and a counted size has changed. Other
    indexes and known frequencies keep what they remembered."""
    cache = TermCache()
    cache.put_df("a", {"gone": 0, "here": 3})
    cache.put_df("b", {"gone": 0})
    cache.put_size("a", 40)
    cache.forget_after_write("a")
    assert (cache.df("a", "gone"), cache.df("a", "here"), cache.df("b", "gone"), cache.size("a")) == (None, 3, 0, None)
    cache.put_df("a", {"gone": 0})  # looked up again after the write: remembered again
    assert cache.df("a", "gone") == 0


def misspelled(rng: random.Random, word: str) -> str:
    """One or two random edits (drop, insert, replace, swap neighbours) of a word."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(word))
        edit = rng.choice(["drop", "insert", "replace", "swap"])
        if edit == "drop" and len(word) > 3:
            word = word[:i] + word[i + 1 :]
        elif edit == "insert":
            word = word[:i] + rng.choice(letters) + word[i:]
        elif edit == "swap" and i + 1 < len(word):
            word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        else:
            word = word[:i] + rng.choice(letters) + word[i + 1 :]
    return word


async def test_typo_candidates_from_a_copy_are_the_statement_s(connection: AsyncConnection) -> None:
    """A copy finds a word's typo candidates without a round trip, computing pg_trgm's similarity itself:
    for 600 words (misspellings of the vocabulary's words, the words themselves, and others) the candidates
    are PostgreSQL's own, in its order, to the last similarity; and so are the corrections a search uses."""
    pair = Pair(connection, "typos")
    await pair.statement.apply_settings(index_settings("typos"))
    await pair.statement.upsert("typos", DATA.documents)
    await pair.statement.refresh_statistics("typos")
    await pair.check(SearchQuery(text="batery"))  # loads the copy
    snapshot = pair.memory.snapshot("typos")
    assert snapshot is not None
    vocabulary = sorted(t for t in snapshot.statistics.df if t.isascii() and t.isalpha() and len(t) >= 4)
    assert len(vocabulary) >= 150
    rng = random.Random(31)
    words = sorted(
        {misspelled(rng, rng.choice(vocabulary)) for _ in range(450)}
        | set(rng.sample(vocabulary, 100))
        | {"".join(rng.choices("etaoinshrdlu", k=rng.randint(5, 11))) for _ in range(50)}
    )
    await connection.execute(text("SELECT set_config('pg_trgm.similarity_threshold', '0.15', true)"))
    rows = (
        await connection.execute(
            text(
                """
                SELECT q.word, c.term, c.df FROM unnest(CAST(:words AS text[])) AS q(word)
                CROSS JOIN LATERAL (
                    SELECT t.term, t.df FROM search.terms t
                    WHERE t.index = 'typos' AND t.term % q.word AND t.term <> q.word
                    ORDER BY similarity(t.term, q.word) DESC, t.df DESC, t.term LIMIT 40
                ) AS c
                """
            ),
            {"words": words},
        )
    ).all()
    expected: dict[str, list[tuple[str, int]]] = {w: [] for w in words}
    for word, term, df in rows:
        expected[word].append((term, df))
    answered = 0
    for word in words:
        got = snapshot.typo_candidates(word)
        if got is not None:  # (None: a tie at the 40th place, which the statement breaks by chance)
            answered += 1
            assert got == expected[word], word
    assert answered >= 580 and sum(len(v) for v in expected.values()) > 1_000
    settings = index_settings("typos")
    from_statement = await PostgresSearchBackend(connection, cache=TermCache())._typos("typos", set(words), settings)
    from_copy = await PostgresSearchBackend(connection, cache=TermCache())._typos(
        "typos", set(words), settings, snapshot
    )
    assert from_copy == from_statement and sum(map(len, from_copy.values())) > 200


# -- the background mode a server runs -----------------------------------------------------------


@pytest.fixture
async def committed(database_url: str) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """An engine on the test database and an index name of its own; its rows are deleted afterwards."""
    engine = create_async_engine(to_asyncpg_url(database_url))
    index = f"memtest_{uuid.uuid4().hex[:8]}"
    try:
        yield engine, index
    finally:
        async with engine.begin() as conn:
            for table in ("documents", "stored", "terms"):
                await conn.execute(text(f"DELETE FROM search.{table} WHERE index = :i"), {"i": index})
            await conn.execute(text("DELETE FROM search.indexes WHERE name = :i"), {"i": index})
        await engine.dispose()


async def test_a_server_never_answers_from_a_copy_older_than_the_index(committed: tuple[AsyncEngine, str]) -> None:
    engine, index = committed
    memory = MemoryIndexes(min_documents=10, refresh_seconds=0.001)
    docs = generated(random.Random(9), 30)

    def backend(session: AsyncSession) -> PostgresSearchBackend:
        return PostgresSearchBackend(session, settings={index: index_settings(index)}, memory=memory)

    async with AsyncSession(engine) as session:
        await backend(session).apply_settings(index_settings(index))
        await backend(session).upsert(index, docs)
        await session.commit()
    query = SearchQuery(text="", per_page=100, facets=(Facet.holder,))
    async with AsyncSession(engine) as session:
        first = await backend(session).search(index, query)  # no copy yet: the statement answers, a load starts
    assert memory.answers == 0 and first.total == 30
    await memory.wait()
    assert memory.status() == {index: memory.snapshot(index).version}  # type: ignore[union-attr]
    async with AsyncSession(engine) as session:
        second = await backend(session).search(index, query)
    assert memory.answers == 1 and comparable(second) == comparable(first)

    async with AsyncSession(engine) as session:  # a write: the copy is now older than the index
        await backend(session).delete(index, [docs[0].id])
        await session.commit()
        written = await backend(session).version(index)  # read: this session wrote
    await announced(memory, index, written)
    async with AsyncSession(engine) as session:
        stale = await backend(session).search(index, query)
    assert memory.answers == 1 and memory.stale == 1  # the statement answered
    assert stale.total == 29 and docs[0].id not in {h.id for h in stale.hits}
    await memory.wait()
    assert memory.snapshot(index).delta is not None  # type: ignore[union-attr]  # brought up to date, not reloaded
    async with AsyncSession(engine) as session:
        fresh = await backend(session).search(index, query)
    assert memory.answers == 2 and comparable(fresh) == comparable(stale)
    await memory.aclose()


async def wait_until(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def announced(memory: MemoryIndexes, index: str, version: int | None, seconds: float = 10.0) -> None:
    """Wait until the process knows `version` (announced), or knows it must ask (the watch is not listening)."""
    await wait_until(lambda: memory.announced(index) in (None, version), seconds)


async def test_writes_announce_the_new_version_at_commit(committed: tuple[AsyncEngine, str]) -> None:
    """A server learns a new index version from PostgreSQL's announcement, not from a read per search:
    the watch re-reads only every 60 s here, so the version it knows within seconds came by NOTIFY.
    Until the write commits, nothing is announced; a rolled-back write announces nothing."""
    engine, index = committed
    memory = MemoryIndexes(min_documents=10, refresh_seconds=0.001, watch_seconds=60)
    docs = generated(random.Random(5), 20)
    setup = PostgresSearchBackend
    async with AsyncSession(engine) as session:
        await setup(session, settings={index: index_settings(index)}).upsert(index, docs)
        await session.commit()
    memory.versions.start(engine)
    try:
        await wait_until(lambda: memory.versions.live)
        async with AsyncSession(engine) as session:
            first = await setup(session).version(index)
        assert memory.announced(index) == first is not None
        async with AsyncSession(engine) as session:
            writer = setup(session, settings={index: index_settings(index)}, memory=memory)
            await writer.delete(index, [docs[0].id])
            second = await writer.version(index)  # the writing session reads its own version, not the announced one
            assert second is not None and second > first
            await asyncio.sleep(0.2)
            assert memory.announced(index) == first  # not committed yet
            await session.rollback()
        await asyncio.sleep(0.2)
        assert memory.announced(index) == first  # rolled back: nothing announced
        async with AsyncSession(engine) as session:
            await setup(session).delete(index, [docs[1].id])
            await session.commit()
            third = await setup(session).version(index)
        await wait_until(lambda: memory.announced(index) == third, seconds=5)
        assert memory.versions.connections == 1
    finally:
        await memory.aclose()
    assert memory.announced(index) is None  # stopped: searches ask the database


async def test_a_lost_version_watch_falls_back_to_reading_and_reconnects(committed: tuple[AsyncEngine, str]) -> None:
    """Without a listening watch, searches read the version and answer right; a watch whose connection
    is killed notices, reconnects and knows the current version again."""
    engine, index = committed
    memory = MemoryIndexes(min_documents=10, refresh_seconds=0.001, watch_seconds=0.05)
    docs = generated(random.Random(6), 30)

    def backend(session: AsyncSession) -> PostgresSearchBackend:
        return PostgresSearchBackend(session, settings={index: index_settings(index)}, memory=memory)

    async with AsyncSession(engine) as session:
        await backend(session).upsert(index, docs)
        await session.commit()
    query = SearchQuery(text="", per_page=100)
    try:
        async with AsyncSession(engine) as session:
            await backend(session).search(index, query)  # starts the load and the watch
        await memory.wait()
        await wait_until(lambda: memory.versions.live)
        await memory.versions.aclose()  # not listening: every search reads the version
        assert memory.announced(index) is None
        async with AsyncSession(engine) as session:
            await backend(session).delete(index, [docs[0].id])
            await session.commit()
        async with AsyncSession(engine) as session:
            answer = await backend(session).search(index, query)
        assert answer.total == 29 and docs[0].id not in {h.id for h in answer.hits}

        memory.versions.start(engine)
        await wait_until(lambda: memory.versions.live)
        async with engine.connect() as conn:
            killed = await conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": memory.versions.pid})
        assert killed is True
        await wait_until(lambda: memory.versions.connections == 3 and memory.versions.live)
        async with AsyncSession(engine) as session:
            await backend(session).delete(index, [docs[1].id])
            await session.commit()
            current = await backend(session).version(index)
        await announced(memory, index, current)
        assert memory.announced(index) == current  # listening again, and the write was announced
        await memory.wait()
        async with AsyncSession(engine) as session:
            again = await backend(session).search(index, query)
        assert again.total == 28 and not {docs[0].id, docs[1].id} & {h.id for h in again.hits}
    finally:
        await memory.aclose()


async def test_typo_lookups_keep_their_threshold_in_autocommit_reads(committed: tuple[AsyncEngine, str]) -> None:
    """Servers read in autocommit mode (GET requests), where a transaction-local setting ends with its own
    statement. "snesor" is one transposition from "sensor" but shares few trigrams with it (similarity 0.27,
    under pg_trgm's default threshold of 0.3): it is corrected only if the lookup's threshold (0.15) holds."""
    engine, index = committed
    doc = dataclasses.replace(generated(random.Random(8), 1)[0], title="柔性压力sensor阵列", title_en="")
    async with AsyncSession(engine) as session:
        await PostgresSearchBackend(session, settings={index: index_settings(index)}).upsert(index, [doc])
        await session.commit()
    async with engine.connect() as plain:
        conn = await plain.execution_options(isolation_level="AUTOCOMMIT")
        for _ in range(2):  # a fresh connection, then one that remembers having the threshold set
            backend = PostgresSearchBackend(conn, settings={index: index_settings(index)}, cache=TermCache())
            found = await backend.search(index, SearchQuery(text="snesor"))
            assert [h.id for h in found.hits] == [doc.id]
            assert "<mark>sensor</mark>" in found.hits[0].highlights["title"]
            assert conn.info.get("search.trigram_threshold") is True


async def test_a_failed_load_is_tried_again_without_a_search_asking(
    committed: tuple[AsyncEngine, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that fails (here a statement timeout, as two processes loading a bloated index at once hit)
    is retried on its own: a server that failed at start-up still gets its copy."""
    engine, index = committed
    async with AsyncSession(engine) as session:
        await PostgresSearchBackend(session, settings={index: index_settings(index)}).upsert(
            index, generated(random.Random(4), 12)
        )
        await session.commit()
    real = memory_module.load_snapshot
    failures = []

    async def failing_once(conn: AsyncConnection, name: str, previous: object = None) -> object:
        if not failures:
            failures.append(name)
            raise TimeoutError("canceling statement due to statement timeout")
        return await real(conn, name, previous)  # type: ignore[arg-type]

    monkeypatch.setattr(memory_module, "load_snapshot", failing_once)
    memory = MemoryIndexes(min_documents=10, refresh_seconds=0.01)
    memory.retry_seconds = 0.05
    try:
        memory.refresh_soon(index, engine)
        await wait_until(lambda: memory.snapshot(index) is not None)
        assert failures == [index] and memory.loads == 1
    finally:
        await memory.aclose()


async def test_small_indexes_are_not_copied(committed: tuple[AsyncEngine, str]) -> None:
    engine, index = committed
    memory = MemoryIndexes(min_documents=100, refresh_seconds=0.01)
    async with AsyncSession(engine) as session:
        backend = PostgresSearchBackend(session, settings={index: index_settings(index)}, memory=memory)
        await backend.apply_settings(index_settings(index))
        await backend.upsert(index, generated(random.Random(3), 12))
        await session.commit()
        result = await backend.search(index, SearchQuery(text=""))
        await memory.wait()
        again = await backend.search(index, SearchQuery(text=""))
    assert result.total == again.total == 12
    assert memory.snapshot(index) is None and memory.answers == 0 and memory.loads == 0


def test_stored_documents_are_decoded_straight_into_their_type_and_older_gaps_still_read() -> None:
    """The page's stored documents are decoded by msgspec into SearchDocument; a document stored with nulls
    where text is expected (as an older version could write) is read the tolerant way, not refused."""
    doc = generated(random.Random(7), 1)[0]
    stored = doc.as_json(with_description=False)
    assert decode_documents(json.dumps([stored])) == [dataclasses.replace(doc, description="")]
    older = {**stored, "title_en": None, "summary": None, "keywords": None}
    (read,) = decode_documents(json.dumps([older]))
    assert (read.summary, read.keywords, read.title) == ("", (), doc.title)
    assert decode_documents(None) == []


def test_level_tables_hold_no_negative_score() -> None:
    """Segment.score starts a group from its first kind's scores instead of zeros: equal only while no level
    scores below zero."""
    for tag in KIND_FACTORS:
        head, body = memory_module._level_tables(tag)
        assert (head >= 0).all() and (body >= 0).all() and head.max() > 0
