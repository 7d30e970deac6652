"""A read-only copy of a PostgreSQL search index in the server process's memory (numpy arrays).

The PostgreSQL engine answers every search with one statement that matches, scores, sorts and counts
every facet over all matching rows. Broad queries match tens of thousands of rows, and on two cores
that statement is what keeps the engine far from its latency target. This module keeps, per index,
a snapshot of what that statement reads (each token's documents with the strongest field it occurs
in, the filter and facet columns, the titles) and evaluates the same plan (`ScorePlan`) with array
operations: the same matches, the same scores to the last bit, the same order, the same counts. Only
the page's stored documents are then read from PostgreSQL, in one statement that also returns the
index version: an answer is used only when that version is the snapshot's, so it is never staler
than the index (otherwise the statement path answers, and a fresh snapshot is loaded in the
background, at most once per `refresh_seconds`).

Snapshots are built only for indexes with at least `min_documents` documents: small indexes are fast
enough in PostgreSQL, and they change often in tests.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
import functools
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from search.model import Facet, SearchFilters, SortOrder
from search.prepare import BODY_LEVEL, KIND_FACTORS, LEVELS, PHRASE_BONUS, Alternative

if TYPE_CHECKING:
    from search.postgres import ScorePlan

__all__ = ["MemoryIndexes", "Segment", "load_segment"]

log = structlog.get_logger(__name__)

ABSENT = 4  # strength of a token a document does not have (0: title, 1: keywords, 2: holder/summary, 3: body)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NULL_LOW = np.iinfo(np.int64).max  # a missing price sorts last both ways (NULLS LAST)

_DOCS_SQL = text(
    """
    SELECT doc_id, published_at, trl, price_min, price_max, field_codes, trade_modes, ip_types,
           region_prefixes, province, holder_id, state_funded, has_auction, replace(title_norm, ' ', '') AS title
    FROM search.documents WHERE index = :index ORDER BY doc_id
    """
)
# Each token with its documents (by position in doc_id order) and the strongest weight it has there,
# packed as position * 10 + strength in one text value per token: parsed by numpy without Python loops.
_POSTINGS_SQL = text(
    """
    SELECT u.lexeme, string_agg((d.ord * 10 + CASE
        WHEN 'A' = ANY(u.weights) THEN 0 WHEN 'B' = ANY(u.weights) THEN 1
        WHEN 'C' = ANY(u.weights) THEN 2 ELSE 3 END)::text, ',')
    FROM (
        SELECT row_number() OVER (ORDER BY doc_id) - 1 AS ord, tsv FROM search.documents WHERE index = :index
    ) AS d, unnest(d.tsv) AS u
    GROUP BY u.lexeme
    """
)


@dataclass(frozen=True, slots=True)
class Multi:
    """A many-valued column (field codes, trade modes, IP types, region prefixes).

    Documents are grouped by their whole list of values (few distinct lists, as the statement path
    groups them): counting a facet is one bincount over the matches' lists, then each list's count
    spread over its values.
    """

    values: tuple[str, ...]
    lookup: dict[str, int]
    doc_list: np.ndarray
    """Each document's list (an index into the distinct lists)."""
    list_ptr: np.ndarray
    list_values: np.ndarray
    """Values of list i: list_values[list_ptr[i]:list_ptr[i + 1]] (a value listed twice counts twice)."""
    by_value: tuple[np.ndarray, ...]
    """The documents having each value."""
    order: np.ndarray
    """Each value's place in the sorted values (ties of facet counts go by value)."""

    @classmethod
    def build(cls, rows: Sequence[Sequence[str] | None]) -> Multi:
        lookup: dict[str, int] = {}
        lists: dict[tuple[str, ...], int] = {}
        doc_list = np.empty(len(rows), dtype=np.int32)
        docs_of: list[list[int]] = []
        for i, items in enumerate(rows):
            key = tuple(items or ())
            code = lists.get(key)
            if code is None:
                code = lists[key] = len(lists)
                for item in key:
                    if lookup.setdefault(item, len(lookup)) == len(docs_of):
                        docs_of.append([])
            doc_list[i] = code
            for item in dict.fromkeys(key):
                docs_of[lookup[item]].append(i)
        ptr = np.zeros(len(lists) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(key) for key in lists])
        flat = np.asarray([lookup[item] for key in lists for item in key], dtype=np.int64)
        by_value = tuple(np.asarray(d, dtype=np.int32) for d in docs_of)
        return cls(tuple(lookup), lookup, doc_list, ptr, flat, by_value, _value_order(tuple(lookup)))

    def having_any(self, wanted: Sequence[str], size: int) -> np.ndarray:
        """A mask of the documents with at least one of the values."""
        mask = np.zeros(size, dtype=bool)
        for value in wanted:
            code = self.lookup.get(value)
            if code is not None:
                mask[self.by_value[code]] = True
        return mask

    def counts(self, idx: np.ndarray) -> np.ndarray:
        """Per value, how many of the documents idx have it."""
        per_list = np.bincount(self.doc_list[idx], minlength=len(self.list_ptr) - 1)
        used = np.flatnonzero(per_list)
        lengths = self.list_ptr[used + 1] - self.list_ptr[used]
        starts = np.repeat(self.list_ptr[used] - np.cumsum(lengths) + lengths, lengths)
        positions = starts + np.arange(int(lengths.sum()))
        weights = np.repeat(per_list[used], lengths)
        return np.bincount(self.list_values[positions], weights=weights, minlength=len(self.values)).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Scalar:
    """A one-valued facet column as codes into its values (-1: none)."""

    values: tuple[str, ...]
    lookup: dict[str, int]
    codes: np.ndarray
    order: np.ndarray

    @classmethod
    def build(cls, rows: Sequence[Any]) -> Scalar:
        lookup: dict[str, int] = {}
        codes = np.full(len(rows), -1, dtype=np.int32)
        for i, value in enumerate(rows):
            if value is not None:
                name = str(value).lower() if isinstance(value, bool) else str(value)
                codes[i] = lookup.setdefault(name, len(lookup))
        return cls(tuple(lookup), lookup, codes, _value_order(tuple(lookup)))

    def counts(self, idx: np.ndarray) -> np.ndarray:
        codes = self.codes[idx]
        return np.bincount(codes[codes >= 0], minlength=len(self.values))


def _top(values: tuple[str, ...], order: np.ndarray, counts: np.ndarray, limit: int) -> list[tuple[str, int]]:
    """The `limit` values with most documents, ties by value (`order`: each value's place in sorted order)."""
    nonzero = np.flatnonzero(counts)
    chosen = nonzero[np.lexsort((order[nonzero], -counts[nonzero]))[:limit]]
    return [(values[v], int(counts[v])) for v in chosen]


def _value_order(values: tuple[str, ...]) -> np.ndarray:
    order = np.empty(len(values), dtype=np.int64)
    order[sorted(range(len(values)), key=values.__getitem__)] = np.arange(len(values))
    return order


@dataclass(slots=True)
class Segment:
    """One index's documents as arrays: position i is the i-th document in doc_id order (the database's collation)."""

    index: str
    version: int
    doc_ids: list[str]
    rank: np.ndarray
    """Each document's place in (published_at DESC, doc_id DESC): the tie-break of every sort order."""
    trl: np.ndarray
    has_trl: np.ndarray
    price_min: np.ndarray
    price_max: np.ndarray
    has_price_min: np.ndarray
    has_price_max: np.ndarray
    state_funded: np.ndarray
    has_auction: np.ndarray
    holder: Scalar
    multi: dict[str, Multi]
    scalars: dict[Facet, Scalar]
    postings: dict[str, tuple[np.ndarray, np.ndarray]]
    """Token -> (documents, strongest weight: 0 A .. 3 D)."""
    lexemes: list[str]
    titles: str
    """Every title without spaces, joined by NUL (phrase bonus: one substring scan)."""
    title_starts: np.ndarray
    loaded_seconds: float = 0.0
    _dense: dict[tuple[str, bool], np.ndarray] = field(default_factory=dict)
    _phrases: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.doc_ids)

    # -- matching and ranking ------------------------------------------------------------------

    def strength(self, alt: Alternative) -> np.ndarray:
        """Per document, the weakest of the alternative's tokens at its strongest field (ABSENT: not all there)."""
        out: np.ndarray | None = None
        last = len(alt.tokens) - 1
        for i, token in enumerate(alt.tokens):
            one = self._token(token, prefix=alt.prefix and i == last)
            out = one if out is None else np.maximum(out, one)
        assert out is not None
        return out

    def _token(self, token: str, *, prefix: bool) -> np.ndarray:
        key = (token, prefix)
        cached = self._dense.get(key)
        if cached is not None:
            return cached
        dense = np.full(self.size, ABSENT, dtype=np.int8)
        if prefix:
            start = bisect.bisect_left(self.lexemes, token)
            for lexeme in self.lexemes[start:]:
                if not lexeme.startswith(token):
                    break
                docs, strength = self.postings[lexeme]
                _min_into(dense, docs, strength)
        elif (posting := self.postings.get(token)) is not None:
            dense[posting[0]] = posting[1]
        if len(self._dense) > 256:
            self._dense.clear()
        self._dense[key] = dense
        return dense

    def present(self, groups: Sequence[Sequence[Alternative]], *, every: bool) -> np.ndarray:
        """Documents where, for every (or any) group, some alternative is present."""
        out: np.ndarray | None = None
        for alts in groups:
            here = np.zeros(self.size, dtype=bool)
            for alt in alts:
                here |= self.strength(alt) < ABSENT
            out = here if out is None else (out & here if every else out | here)
        return out if out is not None else np.zeros(self.size, dtype=bool)

    def phrase(self, compact: str) -> np.ndarray:
        """A mask of the documents whose title (without spaces) contains `compact`."""
        mask = np.zeros(self.size, dtype=bool)
        found = self._phrases.get(compact)
        if found is None:
            found = self._find(compact)
            if len(self._phrases) > 1024:
                self._phrases.clear()
            self._phrases[compact] = found
        mask[found] = True
        return mask

    def _find(self, compact: str) -> np.ndarray:
        hits: list[int] = []
        at = self.titles.find(compact)
        while at != -1:
            hits.append(at)
            at = self.titles.find(compact, at + 1)
        if not hits:
            return np.zeros(0, dtype=np.int64)
        return np.unique(np.searchsorted(self.title_starts, np.asarray(hits), side="right") - 1)

    # -- filters ---------------------------------------------------------------------------------

    def filtered(self, f: SearchFilters) -> np.ndarray | None:
        """The documents passing the filters (None: no filter)."""
        if f.is_empty:
            return None
        mask = np.ones(self.size, dtype=bool)
        if f.field_codes:
            mask &= self.multi["field_codes"].having_any(f.field_codes, self.size)
        if f.trl_min is not None:
            mask &= self.has_trl & (self.trl >= f.trl_min)
        if f.trl_max is not None:
            mask &= self.has_trl & (self.trl <= f.trl_max)
        if f.trade_modes:
            mask &= self.multi["trade_modes"].having_any(f.trade_modes, self.size)
        if f.ip_types:
            mask &= self.multi["ip_types"].having_any(f.ip_types, self.size)
        if f.price_min_fen is not None:
            mask &= self.has_price_max & (self.price_max >= f.price_min_fen)
        if f.price_max_fen is not None:
            mask &= self.has_price_min & (self.price_min <= f.price_max_fen)
        if f.region_prefix is not None:
            mask &= self.multi["region_prefixes"].having_any([f.region_prefix], self.size)
        if f.holder_id is not None:
            code = self.holder.lookup.get(f.holder_id)
            mask &= self.holder.codes == code if code is not None else False
        if f.state_funded is not None:
            mask &= self.state_funded == f.state_funded
        if f.has_auction is not None:
            mask &= self.has_auction == f.has_auction
        return mask

    # -- answers ---------------------------------------------------------------------------------

    def top(self, idx: np.ndarray, primary: np.ndarray | None, k: int) -> np.ndarray:
        """Positions in idx of its first k documents by (primary ASC, rank ASC): a linear selection, then a sort of k."""
        pos = np.arange(len(idx))
        if k <= 0 or len(idx) == 0:
            return pos[:0]
        rank = self.rank[idx]
        if primary is None:
            if len(idx) > k:
                pos = np.argpartition(rank, k - 1)[:k]
            return pos[np.argsort(rank[pos], kind="stable")]
        if len(idx) > k:
            threshold = np.partition(primary, k - 1)[k - 1]
            strict = np.nonzero(primary < threshold)[0]
            tied = np.nonzero(primary == threshold)[0]
            need = k - len(strict)
            if len(tied) > need:
                tied = tied[np.argpartition(rank[tied], need - 1)[:need]]
            pos = np.concatenate([strict, tied])
        return pos[np.lexsort((rank[pos], primary[pos]))]

    def score(self, plan: ScorePlan, idx: np.ndarray) -> np.ndarray:
        """The statement path's score of the documents idx, computed the same way (same values, same float8 sums)."""
        total: np.ndarray | None = None
        for group in plan.groups:
            head = np.zeros(len(idx))
            body = np.zeros(len(idx))
            weakest = np.full(len(idx), ABSENT, dtype=np.int8)
            for tag, alts in group.kinds:
                best = np.full(len(idx), ABSENT, dtype=np.int8)
                for alt in alts:
                    best = np.minimum(best, self.strength(alt)[idx])
                head_table, body_table = _level_tables(tag)
                head = np.maximum(head, head_table[best])
                body = np.maximum(body, body_table[best])
                weakest = np.minimum(weakest, best)
            term = group.weight * np.where(weakest <= 2, head, body)
            total = term if total is None else total + term
        assert total is not None
        if plan.phrase:
            total = total + np.where(self.phrase(plan.phrase)[idx], PHRASE_BONUS, 0.0)
        return total

    def facet_counts(self, facets: Sequence[Facet], idx: np.ndarray, limit: int) -> dict[Facet, list[tuple[str, int]]]:
        out: dict[Facet, list[tuple[str, int]]] = {}
        for facet in facets:
            column = _MULTI_FACETS.get(facet)
            if column is not None:
                source: Multi | Scalar = self.multi[column]
                counts = self.multi[column].counts(idx)
            else:
                source = self.scalars[facet]
                counts = self.scalars[facet].counts(idx)
            out[facet] = _top(source.values, source.order, counts, limit)
        return out

    def price_stats(self, idx: np.ndarray) -> tuple[int | None, int | None]:
        low = self.price_min[idx][self.has_price_min[idx]]
        high = self.price_max[idx][self.has_price_max[idx]]
        return (int(low.min()) if len(low) else None, int(high.max()) if len(high) else None)

    def sort_key(self, sort: SortOrder, idx: np.ndarray, score: np.ndarray | None) -> np.ndarray | None:
        """The primary key (ascending) of a sort order for the documents idx; None: the tie-break alone."""
        if sort is SortOrder.relevance and score is not None:
            return -score
        if sort is SortOrder.price_asc:
            return np.where(self.has_price_min[idx], self.price_min[idx], _NULL_LOW)
        if sort is SortOrder.price_desc:
            return np.where(self.has_price_max[idx], -self.price_max[idx], _NULL_LOW)
        return None


_MULTI_FACETS = {Facet.field_codes: "field_codes", Facet.trade_modes: "trade_modes", Facet.ip_types: "ip_types"}


@functools.cache
def _level_tables(tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Score of a kind of match by strength 0..4, in a title-to-summary field and anywhere, as the SQL writes them."""
    factor = KIND_FACTORS[tag]
    head = [float(f"{factor * value:.4f}") for _, value in LEVELS] + [0.0, 0.0]
    body = [float(f"{factor * BODY_LEVEL:.4f}")] * 4 + [0.0]
    return np.asarray(head), np.asarray(body)


def _min_into(dense: np.ndarray, docs: np.ndarray, strength: np.ndarray) -> None:
    dense[docs] = np.minimum(dense[docs], strength)


async def load_segment(conn: AsyncConnection, index: str) -> Segment | None:
    """Read an index into arrays (None: the index has no version yet).

    The statements must see one snapshot: run this in a repeatable-read transaction (or in the
    transaction that wrote the index).
    """
    started = time.perf_counter()
    version = (
        await conn.execute(text("SELECT version FROM search.indexes WHERE name = :index"), {"index": index})
    ).scalar_one_or_none()
    if version is None:
        return None
    rows = (await conn.execute(_DOCS_SQL, {"index": index})).all()
    postings_rows = (await conn.execute(_POSTINGS_SQL, {"index": index})).all()
    return await asyncio.to_thread(_build, index, int(version), rows, postings_rows, started)


def _build(index: str, version: int, rows: Sequence[Any], postings_rows: Sequence[Any], started: float) -> Segment:
    n = len(rows)
    doc_ids = [r[0] for r in rows]
    published = np.fromiter(((r[1] - _EPOCH) // dt.timedelta(microseconds=1) for r in rows), np.int64, n)
    order = np.lexsort((-np.arange(n), -published))  # published_at DESC, doc_id DESC
    rank = np.empty(n, dtype=np.int32)
    rank[order] = np.arange(n, dtype=np.int32)

    def ints(column: int, fill: int) -> tuple[np.ndarray, np.ndarray]:
        values = [r[column] for r in rows]
        present = np.fromiter((v is not None for v in values), bool, n)
        return np.fromiter((fill if v is None else v for v in values), np.int64, n), present

    trl, has_trl = ints(2, -1)
    price_min, has_min = ints(3, 0)
    price_max, has_max = ints(4, 0)
    multi = {
        "field_codes": Multi.build([r[5] for r in rows]),
        "trade_modes": Multi.build([r[6] for r in rows]),
        "ip_types": Multi.build([r[7] for r in rows]),
        "region_prefixes": Multi.build([r[8] for r in rows]),
    }
    holder = Scalar.build([r[10] for r in rows])
    scalars = {
        Facet.trl: Scalar.build([r[2] for r in rows]),
        Facet.region: Scalar.build([r[9] for r in rows]),
        Facet.holder: holder,
        Facet.state_funded: Scalar.build([bool(r[11]) for r in rows]),
        Facet.has_auction: Scalar.build([bool(r[12]) for r in rows]),
    }
    postings: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for lexeme, packed in postings_rows:
        values = np.asarray(packed.split(","), dtype=np.int64) if packed else np.zeros(0, np.int64)
        docs = (values // 10).astype(np.int32)
        order_docs = np.argsort(docs, kind="stable")
        postings[lexeme] = (docs[order_docs], (values % 10).astype(np.int8)[order_docs])
    titles = [r[13] or "" for r in rows]
    starts = np.zeros(n, dtype=np.int64)
    if n:
        starts[1:] = np.cumsum([len(t) + 1 for t in titles[:-1]])
    return Segment(
        index=index,
        version=version,
        doc_ids=doc_ids,
        rank=rank,
        trl=trl.astype(np.int16),
        has_trl=has_trl,
        price_min=price_min,
        price_max=price_max,
        has_price_min=has_min,
        has_price_max=has_max,
        state_funded=np.fromiter((bool(r[11]) for r in rows), bool, n),
        has_auction=np.fromiter((bool(r[12]) for r in rows), bool, n),
        holder=holder,
        multi=multi,
        scalars=scalars,
        postings=postings,
        lexemes=sorted(postings),
        titles="\0".join(titles),
        title_starts=starts,
        loaded_seconds=time.perf_counter() - started,
    )


class MemoryIndexes:
    """This process's snapshots, one per index, and their background refreshes."""

    def __init__(self, *, min_documents: int = 20_000, refresh_seconds: float = 5.0, inline: bool = False) -> None:
        """Snapshots of indexes with at least min_documents, reloaded at most every refresh_seconds.

        inline: load through the searching session, before the search, whenever the index version
        changed (sees the session's own uncommitted writes: for tests; a server loads in the background).
        """
        self.min_documents = min_documents
        self.refresh_seconds = refresh_seconds
        self.inline = inline
        self._segments: dict[str, Segment] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._tried: dict[str, float] = {}
        self.loads = 0
        self.answers = 0
        """Searches answered from a copy."""
        self.stale = 0
        """Searches that found their copy older than the index (the statement answered them)."""

    def segment(self, index: str) -> Segment | None:
        """The latest snapshot of the index (possibly older than the index: check its version)."""
        return self._segments.get(index)

    def refresh_soon(self, index: str, engine: AsyncEngine) -> None:
        """Load a new snapshot in the background, unless one is loading or one was tried recently."""
        running = self._tasks.get(index)
        if running is not None and not running.done():
            return
        now = time.monotonic()
        if now - self._tried.get(index, -1e9) < self.refresh_seconds:
            return
        self._tried[index] = now
        self._tasks[index] = asyncio.get_running_loop().create_task(self.refresh(index, engine))

    async def refresh(self, index: str, engine: AsyncEngine) -> None:
        """Load the index when it is big enough and has changed since the snapshot (errors are logged)."""
        try:
            async with engine.connect() as plain:
                conn = await plain.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    head = (
                        await conn.execute(
                            text(
                                "SELECT version, (SELECT count(*) FROM search.documents WHERE index = :index)"
                                " FROM search.indexes WHERE name = :index"
                            ),
                            {"index": index},
                        )
                    ).one_or_none()
                    current = self._segments.get(index)
                    if head is None or head[1] < self.min_documents:
                        self._segments.pop(index, None)
                        return
                    if current is not None and current.version == head[0]:
                        return
                    segment = await load_segment(conn, index)
            if segment is not None:
                self.put(segment)
        except Exception as exc:  # a lost connection or a missing schema: the statement path keeps answering
            log.warning("search snapshot not loaded", index=index, error=f"{type(exc).__name__}: {exc}")

    def put(self, segment: Segment) -> None:
        """Make a loaded snapshot the index's current one.

        What is alive now (the snapshot, the application) lives long: it is moved out of the garbage
        collector's reach (gc.freeze), so full collections only walk what came after. They took
        ≈180 ms each in a server process under load, the slowest 1% of its answers. Frozen objects
        are still freed when nothing refers to them (the snapshot this one replaces).
        """
        self._segments[segment.index] = segment
        self.loads += 1
        if not self.inline:
            gc.collect(1)
            gc.freeze()
        log.info(
            "search snapshot loaded",
            index=segment.index,
            version=segment.version,
            documents=segment.size,
            seconds=round(segment.loaded_seconds, 2),
        )

    async def wait(self) -> None:
        """Wait for loads in progress (tests, benchmarks)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def status(self) -> dict[str, int]:
        """The index version each loaded snapshot holds."""
        return {name: segment.version for name, segment in self._segments.items()}

    def forget(self) -> None:
        """Drop every snapshot."""
        self._segments.clear()
        self._tried.clear()

    async def aclose(self) -> None:
        """Stop loads in progress (at shutdown)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
