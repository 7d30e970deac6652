"""The default engine: full-text search in PostgreSQL tables of its own (schema `search`).

Storage (built by migration 0003):

- ``search.documents``: one narrow row per (index, doc_id): ``tsv`` holds every token of the
  document as analysed by search/text.py (no re-splitting by PostgreSQL), weighted by field (title A,
  keywords B, holder and summary C, description D) and matched through a GIN index; ranking reads it
  for each matching row, so it stays uncompressed in the row. Filter, facet and sort columns.
- ``search.stored``: the document as hits show it, read for one page at a time.
- ``search.terms``: the vocabulary with document frequencies, for typo tolerance (pg_trgm candidates
  checked by edit distance), rarity weights and as-you-type completions.
- ``search.indexes``: the settings applied to each index, and its ``version``: every write sets it
  to a fresh value of the sequence ``search.index_version`` (migration 0008), so answers can be
  cached by (index, version, query) and are never staler than the index (``ResultCache``).
- ``search.documents.version``: the index version that wrote the row (migration 0010), so the
  in-memory copies of search/memory.py are brought up to date from the rows written since.

Searches of big indexes are answered from an in-memory copy when each API process holds one as new
as the index (search/memory.py evaluates the same `ScorePlan` with arrays: same answers); otherwise,
and for small indexes, by the statement below.

Matching: every query word (with its synonyms, dictionary parts, typo corrections and, for the last
word, prefix completions) must be present, words in more than a quarter of the documents aside;
when that finds little, any word (or part of a compound word) will do. Ranking: each word scores by
the strongest field it occurs in, weighted by its rarity; a title containing the whole query gets a
bonus; ties go to the newest document.
"""

from __future__ import annotations

import functools
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from search.highlight import document_highlights, query_highlighter
from search.memory import TYPO_LIMIT, TYPO_THRESHOLD, VERSION_CHANNEL, MemoryIndexes, Snapshot
from search.model import (
    BackendHealth,
    Facet,
    FacetCount,
    IndexSettings,
    PriceStats,
    SearchDocument,
    SearchHit,
    SearchQuery,
    SearchResult,
    SortOrder,
    Suggestion,
)
from search.prepare import (
    BODY_LEVEL,
    FIELD_WEIGHTS,
    KIND_FACTORS,
    LEVELS,
    PHRASE_BONUS,
    Alternative,
    PreparedQuery,
    QueryGroup,
    document_tokens,
    osa_distance,
    prepare_query,
    typo_budget,
)
from search.text import Analyzer, get_default_analyzer

__all__ = [
    "PostgresSearchBackend",
    "PreparedBatch",
    "RelevanceSql",
    "ResultCache",
    "TermCache",
    "tsquery_of",
    "tsvector_literal",
]

_HEAD_SUMMARY_CHARS = 400  # the start of the summary ranks as summary; the rest as description
_HEAD_BASES = {"title": 1, "keywords": 400, "holder": 1400, "summary": 1700}
_BODY_POSITION = 16383
_COMMON_SHARE = 0.25  # words in more than this share of documents only rank, they do not match alone
_COMMON_MIN_DOCS = 200
_ALL_WORDS_ENOUGH = 10  # fewer documents with every word: search again with any word
_TRIGRAM_KEY = "search.trigram_threshold"  # in a pooled connection's info: the threshold is set for it
# In session.info: this session wrote to an index (it reads its own version). Given a connection instead,
# the mark stays with the pooled connection, which then always reads the version: slower, never wrong.
_WROTE_KEY = "search.wrote_index"
_MAX_TYPO_CANDIDATES = 8


_QUOTED: dict[str, str] = {}  # the vocabulary repeats from document to document: quote each word once
_QUOTED_MAX = 300_000


def _quote(token: str) -> str:
    quoted = _QUOTED.get(token)
    if quoted is None:
        quoted = "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"
        if len(_QUOTED) < _QUOTED_MAX:
            _QUOTED[token] = quoted
    return quoted


def tsvector_literal(entries: Sequence[tuple[str, int, str]]) -> str:
    """A tsvector in its text form from (token, position, weight) entries (positions clamp at 16383)."""
    by_token: dict[str, list[str]] = {}
    for token, position, weight in entries:
        if token:
            label = f"{position if 0 < position < 16384 else min(max(position, 1), 16383)}{weight}"
            labels = by_token.get(token)
            if labels is None:
                by_token[token] = [label]
            else:
                labels.append(label)
    quote = _quote
    return " ".join(
        [f"{quote(t)}:{p[0]}" if len(p) == 1 else f"{quote(t)}:{','.join(p[:256])}" for t, p in by_token.items()]
    )


def _alternative_query(alt: Alternative, weights: str = "") -> str:
    parts = []
    for i, token in enumerate(alt.tokens):
        star = "*" if alt.prefix and i == len(alt.tokens) - 1 else ""
        suffix = f":{star}{weights}" if star or weights else ""
        parts.append(_quote(token) + suffix)
    return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"


def tsquery_of(alternatives: Sequence[Alternative], weights: str = "") -> str:
    """A tsquery (text form) true when any alternative is present, optionally only in some weights."""
    return " | ".join(_alternative_query(a, weights) for a in alternatives)


@dataclass
class TermCache:
    """Process-wide memo of term frequencies, typo candidates and index sizes (short-lived entries)."""

    ttl: float = 120.0
    max_entries: int = 200_000
    _df: dict[tuple[str, str], tuple[float, int, int]] = field(default_factory=dict)
    """(index, term) -> (when, frequency, the index's write generation then)."""
    _writes: dict[str, int] = field(default_factory=dict)
    _typos: dict[tuple[str, str], tuple[float, tuple[tuple[str, int], ...]]] = field(default_factory=dict)
    _sizes: dict[str, tuple[float, int]] = field(default_factory=dict)

    def _fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < self.ttl

    def df(self, index: str, term: str) -> int | None:
        """A cached document frequency, or None."""
        hit = self._df.get((index, term))
        if hit is None or not self._fresh(hit[0]):
            return None
        if hit[1] == 0 and hit[2] != self._writes.get(index, 0):
            return None  # absent then; written since, so perhaps not any more
        return hit[1]

    def put_df(self, index: str, values: Mapping[str, int]) -> None:
        """Remember document frequencies."""
        if len(self._df) > self.max_entries:
            self._df.clear()
        now = time.monotonic()
        writes = self._writes.get(index, 0)
        for term, df in values.items():
            self._df[(index, term)] = (now, df, writes)

    def typos(self, index: str, word: str) -> tuple[tuple[str, int], ...] | None:
        """Cached typo corrections (term, df) of a word, or None."""
        hit = self._typos.get((index, word))
        return hit[1] if hit and self._fresh(hit[0]) else None

    def put_typos(self, index: str, word: str, found: tuple[tuple[str, int], ...]) -> None:
        """Remember a word's typo corrections."""
        if len(self._typos) > self.max_entries:
            self._typos.clear()
        self._typos[(index, word)] = (time.monotonic(), found)

    def size(self, index: str) -> int | None:
        """A cached document count, or None."""
        hit = self._sizes.get(index)
        return hit[1] if hit and self._fresh(hit[0]) else None

    def put_size(self, index: str, size: int) -> None:
        """Remember a document count."""
        self._sizes[index] = (time.monotonic(), size)

    def forget_after_write(self, index: str) -> None:
        """After a write: words remembered as absent (frequency 0) may be in the vocabulary now, and a
        size that was counted (no statistics yet) has changed. (A new write generation: no walk over the cache.)"""
        self._writes[index] = self._writes.get(index, 0) + 1
        self._sizes.pop(index, None)

    def forget(self, index: str | None = None) -> None:
        """Drop what is cached (for one index, or all)."""
        if index is None:
            self._df.clear()
            self._typos.clear()
            self._sizes.clear()
            return
        self._df = {k: v for k, v in self._df.items() if k[0] != index}
        self._typos = {k: v for k, v in self._typos.items() if k[0] != index}
        self._sizes.pop(index, None)


_SHARED_CACHE = TermCache()


class ResultCache:
    """Answers of this process keyed by (index, index version, query): valid exactly while the index is unchanged.

    Every write to a PostgreSQL index gives it a new version (a fresh value of a sequence, never
    reused, not even after a rollback; see `PostgresSearchBackend.version`), so an answer cached under
    the version read before the search is exactly what the search would find again. Entries also
    expire after `ttl` seconds; the least recently used go first when `max_entries` are held (0: none).
    Values are whatever the caller keeps (the search routes keep encoded pages: bytes, which the
    garbage collector never has to walk, unlike result objects).
    """

    def __init__(self, max_entries: int = 1000, ttl: float = 300.0) -> None:
        """A cache of at most max_entries answers, each kept at most ttl seconds."""
        self.max_entries = max_entries
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether anything is kept."""
        return self.max_entries > 0

    def get(self, key: Hashable) -> Any | None:
        """The cached value, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() - entry[0] >= self.ttl:
                if entry is not None:
                    del self._entries[key]
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember a value (dropping the least recently used beyond the size)."""
        if not self.enabled:
            return
        with self._lock:
            self._entries[key] = (time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """Analysed documents, ready to write."""

    index: str
    rows: list[dict[str, Any]]
    stored: list[dict[str, Any]]
    vocabulary: list[str]


@dataclass(frozen=True, slots=True)
class RelevanceSql:
    """A query's ranking as SQL: `score` reads the row `d` (search.documents) and the row `q` of `columns`."""

    prepared: PreparedQuery
    score: str
    every_word: str
    """tsquery text true when every (uncommon) word is present."""
    any_word: str
    """tsquery text true when any (uncommon) word or part of a compound word is present."""
    params: dict[str, Any]
    columns: list[str]
    """Select-list items of the one-row subquery `q` that `score` refers to."""
    frequencies: dict[str, int] = field(default_factory=dict)
    """Document frequency of every token of the query (as of the last statistics run)."""
    size: int = 0
    """Documents in the index (as of the last statistics run)."""


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """One query word's part of the ranking: its weight, and its alternatives by kind of match."""

    weight: float
    """The word's share of the score (rarer words weigh more; the weights of a query sum to one)."""
    kinds: tuple[tuple[str, tuple[Alternative, ...]], ...]
    """("s": exact or synonym, "l": parts, typos, prefixes, "p": one part of a compound) with their alternatives."""
    alternatives: tuple[Alternative, ...]


@dataclass(frozen=True, slots=True)
class ScorePlan:
    """How a query matches and ranks, independent of how it runs (SQL here, arrays in search/memory.py)."""

    groups: tuple[GroupPlan, ...]
    every: tuple[tuple[Alternative, ...], ...]
    """A document matches when, for each of these, one of the alternatives is present."""
    anything: tuple[tuple[Alternative, ...], ...]
    """The looser match used when `every` finds too little: any alternative of any of these."""
    phrase: str | None
    """The whole query without spaces: a title containing it gets a bonus (multi-word queries)."""

    @property
    def every_word(self) -> str:
        """`every` as tsquery text."""
        return " & ".join(f"({tsquery_of(alts)})" for alts in self.every)

    @property
    def any_word(self) -> str:
        """`anything` as tsquery text."""
        return " | ".join(f"({tsquery_of(alts)})" for alts in self.anything)


# Facet columns (as the CTE m names them) and how a group's key becomes the facet's values.
_FACET_KEYS: dict[Facet, str] = {
    Facet.field_codes: "field_codes",
    Facet.trade_modes: "trade_modes",
    Facet.ip_types: "ip_types",
    Facet.trl: "trl",
    Facet.region: "province",
    Facet.holder: "holder_id",
    Facet.state_funded: "state_funded",
    Facet.has_auction: "has_auction",
}
_ARRAY_FACETS = frozenset({Facet.field_codes, Facet.trade_modes, Facet.ip_types})


def _aggregate_sql(facets: Sequence[Facet], max_values: int, source: str = "m") -> str:
    """One pass over the matches: the total and price range, and a count per facet key (as JSON text).

    Array facets are grouped by the whole array (few distinct ones) and split into values in Python,
    which is much cheaper than unnesting every matching row. A scalar facet's values are its groups,
    so only its `max_values` largest (ties by value, byte order as Python sorts them) leave the
    database: a broad match has thousands of holders, and shipping and decoding them all cost more
    than counting them.
    """
    if not facets:
        return f"""
            (SELECT CAST(json_agg(json_build_array(-1, NULL, n, lo, hi)) AS text)
             FROM (SELECT count(*) AS n, min(price_min) AS lo, max(price_max) AS hi FROM {source}) g) AS aggregates
        """
    columns = [_FACET_KEYS[f] for f in facets]
    sets = ", ".join(["()", *(f"({c})" for c in columns)])
    which = " ".join(f"WHEN GROUPING({c}) = 0 THEN {i}" for i, c in enumerate(columns))
    key = " ".join(f"WHEN GROUPING({c}) = 0 THEN to_json({c})" for c in columns)
    label = " ".join(f"WHEN GROUPING({c}) = 0 THEN CAST({c} AS text)" for c in columns)
    arrays = [str(i) for i, f in enumerate(facets) if f in _ARRAY_FACETS] or ["-2"]
    return f"""
        (SELECT CAST(json_agg(json_build_array(w, k, n, lo, hi)) AS text) FROM (
            SELECT g.*, row_number() OVER (
                PARTITION BY w, t IS NULL ORDER BY n DESC, t COLLATE "C"
            ) AS r
            FROM (
                SELECT CASE {which} ELSE -1 END AS w, CASE {key} END AS k, CASE {label} END AS t,
                       count(*) AS n, min(price_min) AS lo, max(price_max) AS hi
                FROM {source} GROUP BY GROUPING SETS ({sets})
            ) g
        ) g WHERE w = -1 OR w IN ({", ".join(arrays)}) OR (t IS NOT NULL AND r <= {int(max_values)})) AS aggregates
    """


_ORDER_SQL: dict[SortOrder, str] = {
    SortOrder.relevance: "score DESC, published_at DESC, doc_id DESC",
    SortOrder.newest: "published_at DESC, doc_id DESC",
    SortOrder.price_asc: "price_min ASC NULLS LAST, published_at DESC, doc_id DESC",
    SortOrder.price_desc: "price_max DESC NULLS LAST, published_at DESC, doc_id DESC",
}

_UPSERT_SQL = text(
    """
    INSERT INTO search.documents (
        index, doc_id, tsv, title_norm, field_codes, trl, trade_modes, ip_types, price_min, price_max,
        region_prefixes, province, holder_id, state_funded, has_auction, published_at, fingerprint, version
    ) VALUES (
        :index, :doc_id, CAST(:tsv AS tsvector), :title_norm, CAST(:field_codes AS text[]), :trl,
        CAST(:trade_modes AS text[]), CAST(:ip_types AS text[]), :price_min, :price_max,
        CAST(:region_prefixes AS text[]), :province, :holder_id, :state_funded, :has_auction, :published_at,
        :fingerprint, currval('search.index_version')
    )
    ON CONFLICT (index, doc_id) DO UPDATE SET
        tsv = excluded.tsv, title_norm = excluded.title_norm, field_codes = excluded.field_codes,
        trl = excluded.trl, trade_modes = excluded.trade_modes, ip_types = excluded.ip_types,
        price_min = excluded.price_min, price_max = excluded.price_max, region_prefixes = excluded.region_prefixes,
        province = excluded.province, holder_id = excluded.holder_id, state_funded = excluded.state_funded,
        has_auction = excluded.has_auction, published_at = excluded.published_at, fingerprint = excluded.fingerprint,
        version = excluded.version
    """
)

_STORE_SQL = text(
    """
    INSERT INTO search.stored (index, doc_id, doc, indexed_at)
    VALUES (:index, :doc_id, CAST(:doc AS jsonb), now())
    ON CONFLICT (index, doc_id) DO UPDATE SET doc = excluded.doc, indexed_at = excluded.indexed_at
    """
)

_TOUCH_SQL = text(
    f"""
    WITH touched AS (
        INSERT INTO search.indexes (name, digest, settings, applied_at, version)
        VALUES (:index, '', '{{}}', now(), nextval('search.index_version'))
        ON CONFLICT (name) DO UPDATE SET version = excluded.version
        RETURNING name, version
    )
    SELECT pg_notify('{VERSION_CHANNEL}', name || ' ' || version) FROM touched
    """
)

_BEGIN_SQL = text(
    "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('work_mem', '32MB', true)"
)

_VERSION_SQL = text("SELECT version FROM search.indexes WHERE name = :index")

_TERMS_SQL = text(
    """
    INSERT INTO search.terms (index, term, df)
    SELECT :index, t, 1 FROM unnest(CAST(:terms AS text[])) AS t ORDER BY t
    ON CONFLICT (index, term) DO NOTHING
    """
)


class PostgresSearchBackend:
    """Search on PostgreSQL, through the caller's session or connection (so writes join its transaction)."""

    engine = "postgres"

    def __init__(
        self,
        db: AsyncSession | AsyncConnection,
        *,
        settings: Mapping[str, IndexSettings] | None = None,
        analyzer: Analyzer | None = None,
        cache: TermCache | None = None,
        memory: MemoryIndexes | None = None,
    ) -> None:
        """Bind to a session or connection; settings give each index its typo budget.

        memory: the process's in-memory copies of big indexes (search/memory.py), which answer searches
        whenever they are as new as the index; None: every search runs as a statement.
        """
        self.db = db
        self.settings = dict(settings or {})
        self.analyzer = analyzer or get_default_analyzer()
        self.cache = cache if cache is not None else _SHARED_CACHE
        self.memory = memory

    async def _run(self, sql: Any, params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None) -> Any:
        statement = text(sql) if isinstance(sql, str) else sql
        if isinstance(params, Sequence) and not isinstance(params, Mapping):
            return await self.db.execute(statement, list(params))
        return await self.db.execute(statement, dict(params or {}))

    def _index_settings(self, index: str) -> IndexSettings:
        return self.settings.get(index) or IndexSettings(name=index)

    # -- settings and writes --------------------------------------------------------------------

    async def apply_settings(self, settings: IndexSettings) -> None:
        """Record the settings (synonyms and segmentation are applied at query time by the analyzer)."""
        self.settings[settings.name] = settings
        await self._run(
            """
            INSERT INTO search.indexes (name, digest, settings, applied_at)
            VALUES (:name, :digest, CAST(:settings AS jsonb), now())
            ON CONFLICT (name) DO UPDATE
            SET digest = excluded.digest, settings = excluded.settings, applied_at = excluded.applied_at
            """,
            {"name": settings.name, "digest": settings.digest, "settings": _settings_json(settings)},
        )

    async def _touch(self, index: str) -> None:
        """Give the index a new version (first, before any document row is locked: one lock order).

        The version is announced to the servers' version watches when the transaction commits; the
        session remembers that it wrote, so its own searches read the version it sees instead.
        """
        await self._run(_TOUCH_SQL, {"index": index})
        self.db.info[_WROTE_KEY] = True

    def _announced(self, index: str) -> int | None:
        """The index's committed version as announced to this process, unless this session wrote to the index."""
        if self.memory is None or self.db.info.get(_WROTE_KEY):
            return None
        return self.memory.announced(index)

    def _row(self, index: str, doc: SearchDocument) -> tuple[dict[str, Any], dict[str, Any], set[str]]:
        analysed = document_tokens(doc, self.analyzer)
        # Ranking needs each token's strongest field, not every occurrence: the first offset per weight.
        # Everything else (the description, the summary past its start, single characters of the
        # summary) carries one weight-D position, so weight-restricted checks never see it.
        ranked: dict[tuple[str, str], int] = {}
        every: set[str] = set(analysed.description)
        for name, tokens in analysed.fields.items():
            base, weight = _HEAD_BASES[name], FIELD_WEIGHTS[name]
            summary = name == "summary"
            for token, offset in tokens:
                every.add(token)
                if summary and (offset >= _HEAD_SUMMARY_CHARS or len(token) == 1):
                    continue
                ranked.setdefault((token, weight), base + offset)
        entries = [(t, position, w) for (t, w), position in ranked.items()]
        placed = {t for t, _ in ranked}
        entries.extend((t, _BODY_POSITION, "D") for t in every if t not in placed)
        row = {
            "index": index,
            "doc_id": doc.id,
            "tsv": tsvector_literal(entries),
            "title_norm": analysed.title_norm,
            "field_codes": list(doc.expanded_field_codes),
            "trl": doc.trl,
            "trade_modes": list(doc.trade_modes),
            "ip_types": list(doc.ip_types),
            "price_min": doc.price_range[0],
            "price_max": doc.price_range[1],
            "region_prefixes": list(doc.region_prefixes),
            "province": doc.province,
            "holder_id": doc.holder_id,
            "state_funded": doc.state_funded,
            "has_auction": doc.has_auction,
            "published_at": doc.published_at,
            "fingerprint": doc.fingerprint,
        }
        stored = {
            "index": index,
            "doc_id": doc.id,
            "doc": msgspec.json.encode(doc.as_json(with_description=False)).decode(),
        }
        return row, stored, every

    def prepare(self, index: str, documents: Sequence[SearchDocument]) -> PreparedBatch:
        """Analyse documents into rows (CPU only: may run in a worker thread while another batch is written)."""
        latest: dict[str, SearchDocument] = {d.id: d for d in documents}
        rows: list[dict[str, Any]] = []
        stored: list[dict[str, Any]] = []
        vocabulary: set[str] = set()
        for doc in sorted(latest.values(), key=lambda d: d.id):  # one lock order for concurrent writers
            row, display, words = self._row(index, doc)
            rows.append(row)
            stored.append(display)
            vocabulary |= words
        vocabulary = {w for w in vocabulary if len(w) > 1 or not w.isascii()}
        return PreparedBatch(index=index, rows=rows, stored=stored, vocabulary=sorted(vocabulary))

    async def write(self, batch: PreparedBatch) -> None:
        """Write prepared rows; their new words join the vocabulary."""
        if batch.rows:
            await self._touch(batch.index)
            await self._run(_UPSERT_SQL, batch.rows)
            await self._run(_STORE_SQL, batch.stored)
            await self._run(_TERMS_SQL, {"index": batch.index, "terms": batch.vocabulary})
            self.cache.forget_after_write(batch.index)

    async def upsert(self, index: str, documents: Sequence[SearchDocument]) -> None:
        """Analyse and write documents."""
        if documents:
            await self.write(self.prepare(index, documents))

    async def delete(self, index: str, ids: Sequence[str]) -> None:
        """Remove documents by id."""
        if ids:
            params = {"index": index, "ids": sorted(set(ids))}
            await self._touch(index)
            await self._run(
                "DELETE FROM search.documents WHERE index = :index AND doc_id = ANY(CAST(:ids AS text[]))", params
            )
            await self._run(
                "DELETE FROM search.stored WHERE index = :index AND doc_id = ANY(CAST(:ids AS text[]))", params
            )
            self.cache.forget_after_write(index)

    async def clear(self, index: str) -> None:
        """Remove every document and the vocabulary of the index."""
        await self._touch(index)
        for table in ("documents", "stored", "terms"):
            await self._run(f"DELETE FROM search.{table} WHERE index = :index", {"index": index})
        # Statistics are exact again (there are none); a new stats_at tells in-memory copies that the
        # vocabulary changed other than by new words (search/memory.py reads it whole then).
        await self._run(
            "UPDATE search.indexes SET stats_at = clock_timestamp(), documents = 0 WHERE name = :index",
            {"index": index},
        )
        self.cache.forget(index)

    async def refresh_statistics(self, index: str) -> None:
        """Recount document frequencies from the index (and drop words no document has any more)."""
        await self._touch(index)
        await self._run(
            """
            WITH s AS (
                SELECT word, ndoc FROM ts_stat(
                    format('SELECT tsv FROM search.documents WHERE index = %L', CAST(:index AS text))
                )
            ), gone AS (
                DELETE FROM search.terms t
                WHERE t.index = :index AND NOT EXISTS (SELECT 1 FROM s WHERE s.word = t.term)
            )
            INSERT INTO search.terms (index, term, df)
            SELECT :index, word, ndoc FROM s WHERE length(word) > 1 OR word !~ '^[[:ascii:]]$' ORDER BY word
            ON CONFLICT (index, term) DO UPDATE SET df = excluded.df WHERE search.terms.df <> excluded.df
            """,
            {"index": index},
        )
        await self._run(
            """
            INSERT INTO search.indexes (name, digest, settings, applied_at, stats_at, documents)
            VALUES (:index, '', '{}', now(), clock_timestamp(),
                    (SELECT count(*) FROM search.documents WHERE index = :index))
            ON CONFLICT (name) DO UPDATE SET stats_at = excluded.stats_at, documents = excluded.documents
            """,
            {"index": index},
        )
        self.cache.forget(index)

    # -- reading --------------------------------------------------------------------------------

    async def count(self, index: str) -> int:
        """How many documents the index holds."""
        result = await self._run("SELECT count(*) FROM search.documents WHERE index = :index", {"index": index})
        return int(result.scalar_one())

    async def version(self, index: str) -> int | None:
        """A number that changes with every write to the index (None before the first write).

        Writes set it to a fresh value of a sequence in their own transaction, so it changes exactly
        when their documents become visible, and a rolled-back write never leaves a version behind
        that could come back with other contents.
        """
        announced = self._announced(index)
        if announced is not None:
            return announced
        version = (await self._run(_VERSION_SQL, {"index": index})).scalar_one_or_none()
        return int(version) if version is not None else None

    async def _size(self, index: str) -> int:
        """The document count ranking weighs words against: as of the last statistics run, else counted."""
        size = self.cache.size(index)
        if size is None:
            result = await self._run("SELECT documents FROM search.indexes WHERE name = :index", {"index": index})
            recorded = result.scalar_one_or_none()
            size = int(recorded) if recorded is not None else await self.count(index)
            self.cache.put_size(index, size)
        return size

    async def fingerprints(self, index: str) -> AsyncIterator[tuple[str, str]]:  # type: ignore[override]
        """Every (document id, fingerprint) of the index, in id order."""
        after = ""
        while True:
            result = await self._run(
                """
                SELECT doc_id, fingerprint FROM search.documents
                WHERE index = :index AND doc_id > :after ORDER BY doc_id LIMIT 5000
                """,
                {"index": index, "after": after},
            )
            rows = result.all()
            for doc_id, fingerprint in rows:
                yield doc_id, fingerprint
            if len(rows) < 5000:
                return
            after = rows[-1][0]

    async def health(self) -> BackendHealth:
        """Whether the search tables answer, with document counts per index."""
        try:
            result = await self._run("SELECT index, count(*) FROM search.documents GROUP BY index")
            counts = {name: int(n) for name, n in result.all()}
        except Exception as exc:  # a missing schema or a lost connection: report, do not raise
            return BackendHealth(engine=self.engine, ok=False, detail=f"{type(exc).__name__}: {exc}")
        return BackendHealth(engine=self.engine, ok=True, documents=counts)

    async def _frequencies(self, index: str, tokens: set[str]) -> dict[str, int]:
        known: dict[str, int] = {}
        missing: list[str] = []
        for token in tokens:
            df = self.cache.df(index, token)
            if df is None:
                missing.append(token)
            else:
                known[token] = df
        if missing:
            result = await self._run(
                # A join on the primary key, not `term = ANY(...)`: with a parameter for the array the
                # planner picked the trigram index for that equality, ≈20-25 ms instead of 0.1 ms.
                "SELECT t.term, t.df FROM unnest(CAST(:terms AS text[])) AS q(term)"
                " JOIN search.terms t ON t.index = :index AND t.term = q.term",
                {"index": index, "terms": sorted(missing)},
            )
            found = {term: int(df) for term, df in result.all()}
            fetched = {t: found.get(t, 0) for t in missing}
            self.cache.put_df(index, fetched)
            known.update(fetched)
        return known

    async def _trigram_threshold(self) -> None:
        """Set pg_trgm's similarity threshold for the typo lookup (its `%` operator reads it).

        For the database session, not the transaction: servers read in autocommit mode, where a
        transaction-local setting ends with its own statement (only search uses pg_trgm's operators).
        In autocommit mode the setting stays with the pooled connection, which remembers it (one
        round trip less per lookup); in a transaction a rollback would undo it, so it is set each time.
        """
        conn = self.db if isinstance(self.db, AsyncConnection) else await self.db.connection()
        sync = conn.sync_connection
        autocommit = sync is not None and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if autocommit and conn.info.get(_TRIGRAM_KEY):
            return
        await self._run(f"SELECT set_config('pg_trgm.similarity_threshold', '{TYPO_THRESHOLD}', false)")
        if autocommit:
            conn.info[_TRIGRAM_KEY] = True

    async def _typos(
        self, index: str, words: set[str], settings: IndexSettings, snapshot: Snapshot | None = None
    ) -> dict[str, tuple[str, ...]]:
        """Indexed words within each word's typo budget (never the word itself).

        Candidates come from the lookup statement below, or from a snapshot of the index, which finds
        the same ones (search/memory.py `typo_candidates`) without a round trip.
        """
        out: dict[str, tuple[str, ...]] = {}
        missing: list[str] = []
        for word in words:
            cached = self.cache.typos(index, word)
            if cached is None:
                missing.append(word)
            else:
                out[word] = tuple(t for t, _ in cached)
        candidates: dict[str, list[tuple[str, int]]] = {}
        if snapshot is not None:
            for word in missing:
                from_copy = snapshot.typo_candidates(word)
                if from_copy is not None:
                    candidates[word] = from_copy
        asked = [w for w in missing if w not in candidates]
        if asked:
            await self._trigram_threshold()
            result = await self._run(
                f"""
                SELECT q.word, c.term, c.df FROM unnest(CAST(:words AS text[])) AS q(word)
                CROSS JOIN LATERAL (
                    SELECT t.term, t.df FROM search.terms t
                    WHERE t.index = :index AND t.term % q.word AND t.term <> q.word
                    ORDER BY similarity(t.term, q.word) DESC, t.df DESC LIMIT {TYPO_LIMIT}
                ) AS c
                """,
                {"index": index, "words": sorted(asked)},
            )
            candidates.update({w: [] for w in asked})
            for word, term, df in result.all():
                candidates[word].append((term, int(df)))
        for word in missing:
            budget = typo_budget(word, min_one=settings.typo_min_one, min_two=settings.typo_min_two)
            close = [
                (term, df)
                for term, df in candidates[word]
                if term.isascii() and term.isalpha() and osa_distance(word, term, budget) <= budget
            ]
            close.sort(key=lambda c: (osa_distance(word, c[0], budget), -c[1], c[0]))
            found = tuple(close[:_MAX_TYPO_CANDIDATES])
            self.cache.put_typos(index, word, found)
            out[word] = tuple(t for t, _ in found)
        return out

    async def _expand(
        self, index: str, prepared: PreparedQuery, settings: IndexSettings, snapshot: Snapshot | None = None
    ) -> PreparedQuery:
        fuzzy = {w for g in prepared.groups for w in g.fuzzy}
        if not fuzzy:
            return prepared
        typos = await self._typos(index, fuzzy, settings, snapshot)
        groups: list[QueryGroup] = []
        for group in prepared.groups:
            extra: list[Alternative] = []
            for alt in group.alternatives:
                if alt.kind != "exact" or alt.prefix:
                    continue
                for i, token in enumerate(alt.tokens):
                    for fix in typos.get(token, ()):
                        tokens = (*alt.tokens[:i], fix, *alt.tokens[i + 1 :])
                        extra.append(Alternative(tokens, "typo"))
            groups.append(group.with_alternatives(tuple(extra)) if extra else group)
        return PreparedQuery(prepared.text, prepared.words, tuple(groups))

    async def search(self, index: str, query: SearchQuery) -> SearchResult:
        """Match, filter, rank, page, count and facet in one statement.

        Documents must contain every query word (common ones aside); when that finds fewer than
        _ALL_WORDS_ENOUGH, the search is repeated with any word (and parts of compound words), the
        documents with more and rarer words ranking first.
        """
        started = time.perf_counter()
        settings = self._index_settings(index)
        prepared = _prepared(query.text, self.analyzer, query.prefix, settings.typo_min_one, settings.typo_min_two)
        if self.memory is not None:
            answer = await self._search_memory(index, query, prepared, settings, started)
            if answer is not None:
                return answer
        await self._run(_BEGIN_SQL)
        params: dict[str, Any] = {"index": index, "limit": query.per_page, "offset": query.offset}
        selects = ["d.doc_id", "d.published_at", "d.price_min", "d.price_max"]
        selects += [_FACET_COLUMN[f] for f in query.facets]
        where = ["d.index = :index", *_filter_sql(query, params)]
        qcols: list[str] = []
        sort = query.sort
        fallback: str | None = None
        if prepared.is_empty:
            selects.append("0.0::float8 AS score")
            if sort is SortOrder.relevance:
                sort = SortOrder.newest
        else:
            prepared = await self._expand(index, prepared, settings)
            score, every_word, any_word = await self._scoring(index, prepared, params, qcols)
            selects.append(f"({score})::float8 AS score")
            # A plain parameter (not a column of q), so the planner matches it through the GIN index.
            where.append("d.tsv @@ CAST(:mq AS tsquery)")
            params["mq"] = every_word
            if any_word != every_word:
                fallback = any_word
        source = "search.documents d"
        if qcols:
            source += ", (SELECT " + ", ".join(qcols) + ") AS q"
        order = _ORDER_SQL[sort]
        if prepared.is_empty:
            # Browsing: counts straight off the (covering) browse index, the page in its order; nothing
            # is materialised, and the page stops early when sorted by date.
            matches = f"search.documents d WHERE {' AND '.join(where)}"
            head = f"""
            WITH page AS (
                SELECT d.doc_id, 0.0::float8 AS score, d.published_at, d.price_min, d.price_max FROM {matches}
                ORDER BY {order} LIMIT :limit OFFSET :offset
            )"""
            aggregates = _aggregate_sql(query.facets, settings.max_facet_values, f"(SELECT d.* FROM {matches}) AS d")
        else:
            head = f"""
            WITH m AS MATERIALIZED (
                SELECT {", ".join(selects)} FROM {source} WHERE {" AND ".join(where)}
            ), page AS (
                SELECT doc_id, score, published_at, price_min, price_max FROM m ORDER BY {order}
                LIMIT :limit OFFSET :offset
            )"""
            aggregates = _aggregate_sql(query.facets, settings.max_facet_values)
        sql = f"""{head}
            SELECT
                {aggregates},
                (SELECT CAST(json_agg(json_build_array(doc_id, score, x.doc) ORDER BY {order}) AS text)
                   FROM page, LATERAL (
                       SELECT s.doc FROM search.stored s WHERE s.index = :index AND s.doc_id = page.doc_id
                   ) AS x) AS hits
        """
        # JSON comes back as text and is decoded here with msgspec (several times faster than the
        # driver's json.loads, which dominated the API's own time on broad matches).
        row = (await self._run(sql, params)).one()
        aggregate_rows = _decode(row.aggregates)
        if fallback is not None and _total(aggregate_rows) < _ALL_WORDS_ENOUGH:
            params["mq"] = fallback
            row = (await self._run(sql, params)).one()
            aggregate_rows = _decode(row.aggregates)
        counts: dict[Facet, dict[str, int]] = {f: {} for f in query.facets}
        total, low, high = 0, None, None
        for which, value, n, lo, hi in aggregate_rows or []:
            if which == -1:
                total, low, high = int(n), lo, hi
                continue
            facet = query.facets[which]
            for item in value if facet in _ARRAY_FACETS else [value]:
                if item is not None:
                    name = str(item).lower() if isinstance(item, bool) else str(item)
                    counts[facet][name] = counts[facet].get(name, 0) + int(n)
        facets = {
            f: tuple(
                sorted((FacetCount(v, c) for v, c in counts[f].items()), key=lambda c: (-c.count, c.value))[
                    : settings.max_facet_values
                ]
            )
            for f in query.facets
        }
        if not query.facets:
            low = high = None
        ranked = sort is SortOrder.relevance and not prepared.is_empty
        page = [
            (SearchDocument.from_json(doc), float(score) if ranked else None)
            for _doc_id, score, doc in _decode(row.hits) or []
        ]
        return _result(query, prepared, page, int(total), facets, low, high, started)

    async def _snapshot(self, index: str) -> Snapshot | None:
        """The in-memory snapshot to answer from (brought up to date now in inline mode), or None (asking for one)."""
        memory = self.memory
        assert memory is not None
        snapshot = memory.snapshot(index)
        if not memory.inline:
            if snapshot is None:
                memory.refresh_soon(index, self._engine())
            return snapshot
        conn = self.db if isinstance(self.db, AsyncConnection) else await self.db.connection()
        return await memory.update(conn, index)

    def _engine(self) -> AsyncEngine:
        db = self.db
        bind = db.engine if isinstance(db, AsyncConnection) else db.bind
        return bind.engine if isinstance(bind, AsyncConnection) else bind  # type: ignore[return-value]

    async def _search_memory(
        self, index: str, query: SearchQuery, prepared: PreparedQuery, settings: IndexSettings, started: float
    ) -> SearchResult | None:
        """`search` answered from the in-memory copy, or None when there is none as new as the index.

        Same matches, scores, order, counts, price range and documents as the statement. The copy answers
        only at the index's version (as announced to the process, else read): a different version means
        it is stale (a newer one is loaded in the background) and the statement answers.
        """
        snapshot = await self._snapshot(index)
        if snapshot is None:
            return None
        memory = self.memory
        assert memory is not None
        # (Inline, the snapshot was just brought to the version this transaction sees.)
        if not memory.inline and await self.version(index) != snapshot.version:
            memory.stale += 1
            if not memory.inline:
                memory.refresh_soon(index, self._engine())
            return None
        sort = query.sort
        plan: ScorePlan | None = None
        if prepared.is_empty:
            if sort is SortOrder.relevance:
                sort = SortOrder.newest
        else:
            prepared = await self._expand(index, prepared, settings, snapshot)
            plan = await self.plan(index, prepared, snapshot)
        answer = snapshot.evaluate(plan, query, sort, enough=_ALL_WORDS_ENOUGH, limit=settings.max_facet_values)
        docs = answer.documents()
        if docs is None:  # a document without a stored copy: the statement leaves it out of the page
            return None
        memory.answers += 1
        scores = answer.scores if sort is SortOrder.relevance else None
        page = [(doc, scores[i] if scores is not None else None) for i, doc in enumerate(docs)]
        return _result(query, prepared, page, answer.total, answer.facets, *answer.price, started)

    async def relevance_sql(
        self,
        index: str,
        prepared: PreparedQuery,
        *,
        boosts: Mapping[int, float] | None = None,
        typos: bool = True,
    ) -> RelevanceSql:
        """The ranking of `search` as SQL pieces, for callers that match and rank in statements of their own.

        Typo corrections are added first (unless `typos` is false); `boosts` multiplies the weight of some
        query words (by group position), the weights staying normalised to a sum of one.
        """
        if typos:
            prepared = await self._expand(index, prepared, self._index_settings(index))
        params: dict[str, Any] = {}
        qcols: list[str] = []
        score, every_word, any_word = await self._scoring(index, prepared, params, qcols)
        if boosts:
            weights = {int(k[1:]): v for k, v in params.items() if k.startswith("w") and k[1:].isdigit()}
            boosted = {i: w * boosts.get(i, 1.0) for i, w in weights.items()}
            total = sum(boosted.values()) or 1.0
            for i, w in boosted.items():
                params[f"w{i}"] = w / total
        tokens = {t for g in prepared.groups for a in g.alternatives for t in a.tokens}
        return RelevanceSql(
            prepared=prepared,
            score=score,
            every_word=every_word,
            any_word=any_word,
            params=params,
            columns=qcols,
            frequencies=await self._frequencies(index, tokens),
            size=await self._size(index),
        )

    async def plan(self, index: str, prepared: PreparedQuery, snapshot: Snapshot | None = None) -> ScorePlan:
        """How a (non-empty, typo-expanded) query matches and ranks: word weights and which words must be present.

        Each word weighs by its rarity (document frequencies as of the last statistics run); words in
        more than a quarter of the documents only rank, they do not have to be present. A snapshot of
        the index gives the frequencies and the size it was taken with (no round trip).
        """
        strong_tokens = {t for g in prepared.groups for a in g.alternatives if a.strong for t in a.tokens}
        partial_tokens = {t for g in prepared.groups for a in g.alternatives if a.partial for t in a.tokens}
        if snapshot is not None:
            frequencies = snapshot.frequencies(strong_tokens | partial_tokens)
            size = max(snapshot.statistics_size, 1)
        else:
            frequencies = await self._frequencies(index, strong_tokens | partial_tokens)
            size = max(await self._size(index), 1)

        def is_common(df: int) -> bool:
            return size >= _COMMON_MIN_DOCS and df > _COMMON_SHARE * size

        weights: list[float] = []
        group_df: list[int] = []
        for group in prepared.groups:
            df = sum(min(frequencies.get(t, 0) for t in a.tokens) for a in group.alternatives if a.strong)
            df = min(df, size)
            group_df.append(df)
            weights.append(math.log(1 + (size - df + 0.5) / (df + 0.5)))
        total_weight = sum(weights) or 1.0
        groups: list[GroupPlan] = []
        every: list[tuple[Alternative, ...]] = []
        anything: list[tuple[Alternative, ...]] = []
        for i, group in enumerate(prepared.groups):
            kinds = (
                ("s", tuple(a for a in group.alternatives if a.strong)),
                ("l", tuple(a for a in group.alternatives if not a.strong and not a.partial)),
                ("p", tuple(a for a in group.alternatives if a.partial)),
            )
            groups.append(
                GroupPlan(weights[i] / total_weight, tuple((t, alts) for t, alts in kinds if alts), group.alternatives)
            )
            whole = tuple(a for a in group.alternatives if not a.partial)
            if not is_common(group_df[i]):
                every.append(whole)
                anything.append(
                    tuple(
                        a for a in group.alternatives if not (a.partial and is_common(frequencies.get(a.tokens[0], 0)))
                    )
                )
        if not every:  # only common words: they must all be there
            every = [tuple(a for a in g.alternatives if not a.partial) for g in prepared.groups]
            anything = every
        phrase = prepared.compact if len(prepared.groups) > 1 and prepared.compact else None
        return ScorePlan(tuple(groups), tuple(every), tuple(anything), phrase)

    async def _scoring(
        self, index: str, prepared: PreparedQuery, params: dict[str, Any], qcols: list[str]
    ) -> tuple[str, str, str]:
        """The per-row score expression, the every-word and the any-word match tsqueries.

        Each query word scores by the best (field, kind of match) it has, weighted by its rarity;
        levels are checked strongest first behind one gate, so a title hit costs two tsquery checks.
        """
        plan = await self.plan(index, prepared)

        def bind(name: str, alternatives: Sequence[Alternative], tags: str = "") -> str:
            params[name] = tsquery_of(alternatives, tags)
            qcols.append(f"CAST(:{name} AS tsquery) AS {name}")
            return f"q.{name}"

        terms: list[str] = []
        for i, group in enumerate(plan.groups):
            head_levels: list[tuple[float, str]] = []
            body_levels: list[tuple[float, str]] = []
            for tag, alts in group.kinds:
                factor = KIND_FACTORS[tag]
                for tags, value in LEVELS:
                    head_levels.append((factor * value, f"d.tsv @@ {bind(f'{tag}{tags.lower()}{i}', alts, tags)}"))
                body_levels.append((factor * BODY_LEVEL, f"d.tsv @@ {bind(f'{tag}{i}', alts)}"))
            head_levels.sort(key=lambda level: -level[0])
            body_levels.sort(key=lambda level: -level[0])
            gate = bind(f"h{i}", group.alternatives, "ABC")
            head_case = " ".join(f"WHEN {cond} THEN {value:.4f}" for value, cond in head_levels)
            body_case = " ".join(f"WHEN {cond} THEN {value:.4f}" for value, cond in body_levels)
            expr = f"CASE WHEN d.tsv @@ {gate} THEN (CASE {head_case} ELSE 0 END) {body_case} ELSE 0 END"
            params[f"w{i}"] = group.weight
            terms.append(f"CAST(:w{i} AS float8) * {expr}")
        score = " + ".join(terms)
        if plan.phrase:
            params["phrase"] = plan.phrase
            score += f" + CASE WHEN strpos(replace(d.title_norm, ' ', ''), :phrase) > 0 THEN {PHRASE_BONUS} ELSE 0 END"
        return score, plan.every_word, plan.any_word

    async def suggest(self, index: str, text_: str, *, limit: int = 8) -> list[Suggestion]:
        """Completions of the word being typed (most frequent first), then the best matching titles."""
        prepared = prepare_query(text_, self.analyzer, prefix=True)
        out: list[Suggestion] = []
        if prepared.is_empty:
            return out
        last = prepared.words[-1] if prepared.words else ""
        norm = prepared.text
        if last and norm.endswith(last) and (len(last) >= 2 or not last.isascii()):
            pattern = last.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            result = await self._run(
                """
                SELECT term FROM search.terms
                WHERE index = :index AND term LIKE :pattern ESCAPE '\\' AND term <> :last
                  AND (length(term) > 1) AND df > 0
                ORDER BY df DESC, term LIMIT :limit
                """,
                {"index": index, "pattern": pattern, "last": last, "limit": max(1, limit // 2)},
            )
            head = norm[: len(norm) - len(last)]
            for (term,) in result.all():
                out.append(Suggestion(text=head + term, kind="term"))
        found = await self.search(
            index, SearchQuery(text=text_, per_page=max(1, limit - len(out)), highlight=True, prefix=True)
        )
        for hit in found.hits:
            title = hit.document.title
            out.append(Suggestion(text=title, kind="title", id=hit.id, highlighted=hit.highlights.get("title")))
        return out[:limit]


_FACET_COLUMN: dict[Facet, str] = {
    Facet.field_codes: "d.field_codes",
    Facet.trl: "d.trl",
    Facet.trade_modes: "d.trade_modes",
    Facet.ip_types: "d.ip_types",
    Facet.region: "d.province",
    Facet.holder: "d.holder_id",
    Facet.state_funded: "d.state_funded",
    Facet.has_auction: "d.has_auction",
}


def _result(
    query: SearchQuery,
    prepared: PreparedQuery,
    page: Sequence[tuple[SearchDocument, float | None]],
    total: int,
    facets: Mapping[Facet, tuple[FacetCount, ...]],
    low: int | None,
    high: int | None,
    started: float,
) -> SearchResult:
    """A search's answer from its page (stored documents with their scores), counts and price range."""
    highlighter = query_highlighter(prepared) if query.highlight and not prepared.is_empty else None
    hits = []
    for document, score in page:
        highlights = document_highlights(document, highlighter) if highlighter else {}
        hits.append(SearchHit(document=document, score=score, highlights=highlights))
    return SearchResult(
        hits=tuple(hits),
        total=total,
        page=query.page,
        per_page=query.per_page,
        facets=dict(facets),
        price_stats=PriceStats(int(low), int(high)) if low is not None and high is not None else None,
        terms=tuple(g.text for g in prepared.groups),
        took_ms=(time.perf_counter() - started) * 1000,
    )


@functools.lru_cache(maxsize=4096)
def _prepared(text: str, analyzer: Analyzer, prefix: bool, typo_min_one: int, typo_min_two: int) -> PreparedQuery:
    """`prepare_query`, remembered: the same words are searched again and again (and analysing them is
    ≈8 % of a search answered from memory). Prepared queries are immutable."""
    return prepare_query(text, analyzer, prefix=prefix, typo_min_one=typo_min_one, typo_min_two=typo_min_two)


def _decode(raw: str | None) -> Any:
    return msgspec.json.decode(raw) if raw is not None else None


def _total(aggregates: list[Any] | None) -> int:
    return next((int(n) for which, _key, n, _lo, _hi in aggregates or [] if which == -1), 0)


def _filter_sql(query: SearchQuery, params: dict[str, Any]) -> list[str]:
    f = query.filters
    out: list[str] = []
    if f.field_codes:
        params["f_fields"] = list(f.field_codes)
        out.append("d.field_codes && CAST(:f_fields AS text[])")
    if f.trl_min is not None:
        params["f_trl_min"] = f.trl_min
        out.append("d.trl >= :f_trl_min")
    if f.trl_max is not None:
        params["f_trl_max"] = f.trl_max
        out.append("d.trl <= :f_trl_max")
    if f.trade_modes:
        params["f_modes"] = list(f.trade_modes)
        out.append("d.trade_modes && CAST(:f_modes AS text[])")
    if f.ip_types:
        params["f_ip"] = list(f.ip_types)
        out.append("d.ip_types && CAST(:f_ip AS text[])")
    if f.price_min_fen is not None:
        params["f_price_min"] = f.price_min_fen
        out.append("d.price_max >= :f_price_min")
    if f.price_max_fen is not None:
        params["f_price_max"] = f.price_max_fen
        out.append("d.price_min <= :f_price_max")
    if f.region_prefix is not None:
        params["f_region"] = [f.region_prefix]
        out.append("d.region_prefixes @> CAST(:f_region AS text[])")
    if f.holder_id is not None:
        params["f_holder"] = f.holder_id
        out.append("d.holder_id = :f_holder")
    if f.state_funded is not None:
        params["f_state"] = f.state_funded
        out.append("d.state_funded = :f_state")
    if f.has_auction is not None:
        params["f_auction"] = f.has_auction
        out.append("d.has_auction = :f_auction")
    return out


def _settings_json(settings: IndexSettings) -> str:
    return json.dumps(
        {
            "searchable": settings.searchable,
            "filterable": settings.filterable,
            "sortable": settings.sortable,
            "synonym_groups": len(settings.synonyms),
            "typo_min_one": settings.typo_min_one,
            "typo_min_two": settings.typo_min_two,
            "max_total_hits": settings.max_total_hits,
            "max_facet_values": settings.max_facet_values,
        },
        ensure_ascii=False,
    )
