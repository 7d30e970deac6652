"""A read-only copy of a PostgreSQL search index in the server process's memory (numpy arrays).

The PostgreSQL engine answers every search with one statement that matches, scores, sorts and counts
every facet over all matching rows. Broad queries match tens of thousands of rows, and on two cores
that statement is what keeps the engine far from its latency target. This module keeps, per index,
a snapshot of what that statement reads (each token's documents with the strongest field it occurs
in, the filter and facet columns, the titles, the vocabulary's frequencies, each document as stored)
and evaluates the same plan (`ScorePlan`) with array operations: the same matches, the same scores
to the last bit, the same order, the same counts, the same documents. An answer is used only when
the index version is the snapshot's: as announced to the process (`VersionWatch`: writers NOTIFY
the new version at commit), else read per search. Otherwise the statement path answers, and the
snapshot is brought up to date in the background from the rows written since it was taken, at most
once per `refresh_seconds`.

Snapshots are built only for indexes with at least `min_documents` documents: small indexes are fast
enough in PostgreSQL, and they change often in tests.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import ctypes
import dataclasses
import datetime as dt
import functools
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from search.model import Facet, FacetCount, SearchDocument, SearchFilters, SearchQuery, SortOrder
from search.prepare import BODY_LEVEL, KIND_FACTORS, LEVELS, PHRASE_BONUS, Alternative

if TYPE_CHECKING:
    from search.postgres import ScorePlan

__all__ = [
    "VERSION_CHANNEL",
    "Answer",
    "MemoryIndexes",
    "Segment",
    "Snapshot",
    "VersionWatch",
    "decode_documents",
    "load_snapshot",
]

log = structlog.get_logger(__name__)

_PHRASE_CHECK_EACH = 3_000  # up to this many matches, each one's title is searched for the phrase bonus
_NO_LOW = np.iinfo(np.int64).max
_NO_HIGH = np.iinfo(np.int64).min
ABSENT = 4  # strength of a token a document does not have (0: title, 1: keywords, 2: holder/summary, 3: body)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_DOCS_SQL = text(
    """
    SELECT d.doc_id, d.published_at, d.trl, d.price_min, d.price_max, d.field_codes, d.trade_modes, d.ip_types,
           d.region_prefixes, d.province, d.holder_id, d.state_funded, d.has_auction,
           replace(d.title_norm, ' ', '') AS title, convert_to(CAST(s.doc AS text), 'UTF8') AS stored
    FROM search.documents d LEFT JOIN search.stored s ON s.index = d.index AND s.doc_id = d.doc_id
    WHERE d.index = :index AND d.version > :since ORDER BY d.doc_id
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
        SELECT row_number() OVER (ORDER BY doc_id) - 1 AS ord, tsv FROM search.documents
        WHERE index = :index AND version > :since
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
    list_of: np.ndarray
    """For each position of list_values, the list it belongs to."""

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
        list_of = np.repeat(np.arange(len(lists)), np.diff(ptr))
        return cls(tuple(lookup), lookup, doc_list, ptr, flat, by_value, _value_order(tuple(lookup)), list_of)

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
        weights = per_list[self.list_of]
        return np.bincount(self.list_values, weights=weights, minlength=len(self.values)).astype(np.int64)


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
        """Per value, how many of the documents idx have it (documents without one are not counted)."""
        return np.bincount(self.codes[idx] + 1, minlength=len(self.values) + 1)[1:]


def _top(values: tuple[str, ...], order: np.ndarray, counts: np.ndarray, limit: int) -> tuple[FacetCount, ...]:
    """The `limit` values with most documents, ties by value (`order`: each value's place in sorted order)."""
    nonzero = np.flatnonzero(counts)
    chosen = nonzero[np.lexsort((order[nonzero], -counts[nonzero]))[:limit]]
    return tuple(FacetCount(values[v], n) for v, n in zip(chosen.tolist(), counts[chosen].tolist(), strict=True))


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
    published: np.ndarray
    """published_at in microseconds since 1970."""
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
    """Every title without spaces, joined by NUL (phrase bonus over many matches: one substring scan)."""
    title_starts: np.ndarray
    title_list: list[str]
    """The same titles one by one (phrase bonus over few matches)."""
    stored: list[bytes | None]
    """Each document as stored for display (JSON, the page's hits are decoded from it; None: not stored)."""
    lowest: np.ndarray
    """price_min, or the largest int64 where there is none (the price range of matches in one min)."""
    highest: np.ndarray
    """price_max, or the smallest int64 where there is none."""
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
                dense[docs] = np.minimum(dense[docs], strength)  # a lexeme's documents are distinct
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
            if not alts:
                here = np.zeros(self.size, dtype=bool)
            else:  # the strongest alternative of each document, then one comparison
                best = self.strength(alts[0]).copy() if len(alts) > 1 else self.strength(alts[0])
                for alt in alts[1:]:
                    np.minimum(best, self.strength(alt), out=best)
                here = best < ABSENT
            if out is None:
                out = here
            elif every:
                out &= here
            else:
                out |= here
        return out if out is not None else np.zeros(self.size, dtype=bool)

    def phrase(self, compact: str, idx: np.ndarray) -> np.ndarray:
        """For each of the documents idx, whether its title (without spaces) contains `compact`.

        Few documents: each title is checked; many: one scan of all titles, remembered per phrase.
        """
        found = self._phrases.get(compact)
        if found is None and len(idx) <= _PHRASE_CHECK_EACH:
            titles = self.title_list
            return np.fromiter((compact in titles[i] for i in idx.tolist()), bool, len(idx))
        if found is None:
            found = self._find(compact)
            if len(self._phrases) > 1024:
                self._phrases.clear()
            self._phrases[compact] = found
        mask = np.zeros(self.size, dtype=bool)
        mask[found] = True
        return mask[idx]

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
            # The best of a group's kinds of match. The level tables hold no negative score, so starting
            # from the first kind's values gives what starting from zeros would (tests/search/test_memory.py).
            levels: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # head, body, weakest strength
            for tag, alts in group.kinds:
                best = self.strength(alts[0])[idx]  # a new array: updated in place below
                for alt in alts[1:]:
                    np.minimum(best, self.strength(alt)[idx], out=best)
                head_table, body_table = _level_tables(tag)
                if levels is None:
                    levels = (head_table[best], body_table[best], best)
                else:
                    head, body, weakest = levels
                    np.maximum(head, head_table[best], out=head)
                    np.maximum(body, body_table[best], out=body)
                    np.minimum(weakest, best, out=weakest)
            if levels is None:
                term = group.weight * np.zeros(len(idx))
            else:
                head, body, weakest = levels
                term = group.weight * np.where(weakest <= 2, head, body)
            total = term if total is None else total + term
        assert total is not None
        if plan.phrase:
            total = total + np.where(self.phrase(plan.phrase, idx), PHRASE_BONUS, 0.0)
        return total

    def facet_counts(self, facet: Facet, idx: np.ndarray) -> tuple[Multi | Scalar, np.ndarray]:
        """The facet's column and, per value, how many of the documents idx have it."""
        column = _MULTI_FACETS.get(facet)
        if column is not None:
            return self.multi[column], self.multi[column].counts(idx)
        return self.scalars[facet], self.scalars[facet].counts(idx)

    def price_stats(self, idx: np.ndarray) -> tuple[int | None, int | None]:
        """The lowest price floor and the highest price ceiling among the documents idx (None: no prices)."""
        if not len(idx):
            return None, None
        low = int(self.lowest[idx].min())
        high = int(self.highest[idx].max())
        return (low if low != _NO_LOW else None, high if high != _NO_HIGH else None)

    def sort_key(self, sort: SortOrder, idx: np.ndarray, score: np.ndarray | None) -> np.ndarray | None:
        """The primary key (ascending) of a sort order for the documents idx; None: the tie-break alone."""
        if sort is SortOrder.relevance and score is not None:
            return -score
        if sort is SortOrder.price_asc:
            return self.lowest[idx]  # a missing price sorts last both ways (NULLS LAST)
        if sort is SortOrder.price_desc:
            return np.where(self.has_price_max[idx], -self.price_max[idx], _NO_LOW)
        return None


_MULTI_FACETS = {Facet.field_codes: "field_codes", Facet.trade_modes: "trade_modes", Facet.ip_types: "ip_types"}


@functools.cache
def _level_tables(tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Score of a kind of match by strength 0..4, in a title-to-summary field and anywhere, as the SQL writes them."""
    factor = KIND_FACTORS[tag]
    head = [float(f"{factor * value:.4f}") for _, value in LEVELS] + [0.0, 0.0]
    body = [float(f"{factor * BODY_LEVEL:.4f}")] * 4 + [0.0]
    return np.asarray(head), np.asarray(body)


async def _read(conn: AsyncConnection, index: str, since: int) -> tuple[list[Any], list[Any]]:
    params = {"index": index, "since": since}
    rows = (await conn.execute(_DOCS_SQL, params)).all()
    postings = (await conn.execute(_POSTINGS_SQL, params)).all()
    return list(rows), list(postings)


async def load_snapshot(conn: AsyncConnection, index: str, previous: Snapshot | None = None) -> Snapshot | None:
    """The index as it is now (None: it has no version yet), from `previous` when that is cheaper.

    A snapshot is a base segment plus the documents written since it was loaded (a delta segment
    read through the index on (index, version)); when those are more than a tenth of the base, the
    whole index is read again. The statements must see one snapshot of the database: run this in a
    repeatable-read transaction (or in the transaction that wrote the index).
    """
    started = time.perf_counter()
    meta = (
        await conn.execute(
            text("SELECT version, stats_at, documents FROM search.indexes WHERE name = :index"), {"index": index}
        )
    ).one_or_none()
    if meta is None or meta.version is None:
        return None
    version = meta.version
    if previous is not None and previous.version == version:
        return previous
    statistics = Statistics(meta.stats_at, meta.documents, {})
    if previous is not None:
        base = previous.base
        changed = (
            await conn.execute(
                text("SELECT count(*) FROM search.documents WHERE index = :index AND version > :since"),
                {"index": index, "since": base.version},
            )
        ).scalar_one()
        if changed <= max(1_000, base.size // 10):
            ids = (
                await conn.execute(
                    text("SELECT doc_id FROM search.documents WHERE index = :index ORDER BY doc_id"), {"index": index}
                )
            ).scalars()
            ordered = list(ids)
            rows, postings = await _read(conn, index, base.version)
            await _vocabulary(conn, index, previous.statistics, statistics, postings)
            snapshot = await asyncio.to_thread(_with_delta, base, int(version), ordered, rows, postings, started)
            snapshot.statistics = statistics
            return snapshot
    rows, postings = await _read(conn, index, -1)
    await _vocabulary(conn, index, None, statistics, postings)
    base = await asyncio.to_thread(_build, index, int(version), rows, postings, started)
    return Snapshot(
        index=index, version=int(version), base=base, statistics=statistics, loaded_seconds=base.loaded_seconds
    )


@dataclass(slots=True)
class Statistics:
    """What the statement path ranks with, as of the snapshot's version: the vocabulary's document
    frequencies (search.terms), the document count of the last statistics run, and the vocabulary as
    pg_trgm sees it (for typo lookups)."""

    stats_at: dt.datetime | None
    documents: int | None
    df: dict[str, int]
    trigrams: tuple[TrigramPart, ...] = ()


_TERMS_SQL = text("SELECT term, df, show_trgm(term) FROM search.terms WHERE index = :index")
_SOME_TERMS_SQL = text(
    "SELECT term, df, show_trgm(term) FROM search.terms WHERE index = :index AND term = ANY(CAST(:terms AS text[]))"
)
_TERM_COUNT_SQL = text("SELECT count(*) FROM search.terms WHERE index = :index")
_MAX_TRIGRAM_PARTS = 16  # more parts (one per update that brought new words): the vocabulary is read whole


async def _vocabulary(
    conn: AsyncConnection, index: str, previous: Statistics | None, now: Statistics, postings: Sequence[Any]
) -> None:
    """Fill in the vocabulary now (frequencies and trigrams), from the previous snapshot's when that is cheaper.

    Between statistics runs (same stats_at) the vocabulary only gains words, each with frequency 1
    (search/postgres.py), and only words of the documents written: the previous vocabulary plus the
    written documents' new words, when that adds up to the vocabulary's size; otherwise (a word of a
    document rewritten again or deleted since) the whole vocabulary is read.
    """
    if previous is not None and previous.stats_at == now.stats_at and len(previous.trigrams) < _MAX_TRIGRAM_PARTS:
        new = sorted({lexeme for lexeme, _ in postings if lexeme not in previous.df})
        rows = list((await conn.execute(_SOME_TERMS_SQL, {"index": index, "terms": new})).all()) if new else []
        merged = {**previous.df, **{row[0]: row[1] for row in rows}}
        if (await conn.execute(_TERM_COUNT_SQL, {"index": index})).scalar_one() == len(merged):
            now.df = merged
            now.trigrams = previous.trigrams
            if rows:
                now.trigrams += (await asyncio.to_thread(TrigramPart.build, rows),)
            return
    rows = list((await conn.execute(_TERMS_SQL, {"index": index})).all())
    now.df = {row[0]: row[1] for row in rows}
    now.trigrams = (await asyncio.to_thread(TrigramPart.build, rows),)


TYPO_LIMIT = 40  # the typo lookup's LIMIT (search/postgres.py): candidates by similarity, then frequency
TYPO_THRESHOLD = 0.15  # pg_trgm.similarity_threshold of the typo lookup


@dataclass(frozen=True, slots=True)
class TrigramPart:
    """Words of the vocabulary as pg_trgm sees them: the words with a trigram of ASCII characters (the
    only ones a query word can share), each one's count of distinct trigrams (all of them, as `show_trgm`
    lists them) and, per ASCII trigram, the words having it."""

    terms: list[str]
    sizes: np.ndarray
    postings: dict[str, np.ndarray]

    @classmethod
    def build(cls, rows: Sequence[Any]) -> TrigramPart:
        """From (term, df, show_trgm(term)) rows."""
        terms: list[str] = []
        sizes: list[int] = []
        lists: dict[str, list[int]] = {}
        for term, _, trigrams in rows:
            # The others are hashes of non-ASCII trigrams ("0x..."): no query word has one.
            ascii_trigrams = [t for t in trigrams if len(t) == 3]
            if ascii_trigrams:
                for trigram in ascii_trigrams:
                    lists.setdefault(trigram, []).append(len(terms))
                terms.append(term)
                sizes.append(len(trigrams))
        postings = {t: np.asarray(p, dtype=np.int32) for t, p in lists.items()}
        return cls(terms, np.asarray(sizes, dtype=np.int32), postings)


def word_trigrams(word: str) -> set[str]:
    """pg_trgm's trigrams of one lowercase ASCII word: padded with two spaces before it and one after."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def typo_candidates(parts: Sequence[TrigramPart], df: dict[str, int], word: str) -> list[tuple[str, int]] | None:
    """What the typo lookup's statement returns for a lowercase ASCII word, computed as pg_trgm does
    (similarity = shared / (both counts - shared) in single precision, at least the threshold; by
    similarity, then frequency; the first 40): (term, frequency) pairs. None when the 40th and 41st
    are tied, an order the statement leaves to chance."""
    trigrams = word_trigrams(word)
    found: list[tuple[float, int, str]] = []
    for part in parts:
        shared = np.zeros(len(part.terms), dtype=np.int32)
        for trigram in trigrams:
            posting = part.postings.get(trigram)
            if posting is not None:
                shared[posting] += 1  # a word appears once in a trigram's posting
        at = np.flatnonzero(shared)
        common = shared[at].astype(np.float32)
        similarity = common / (np.float32(len(trigrams)) + part.sizes[at].astype(np.float32) - common)
        keep = similarity.astype(np.float64) >= TYPO_THRESHOLD
        for i, sim in zip(at[keep].tolist(), similarity[keep].tolist(), strict=True):
            term = part.terms[i]
            if term != word:
                found.append((-sim, -df[term], term))
    found.sort()
    if len(found) > TYPO_LIMIT and found[TYPO_LIMIT - 1][:2] == found[TYPO_LIMIT][:2]:
        return None
    return [(term, -df) for _, df, term in found[:TYPO_LIMIT]]


def _with_delta(
    base: Segment, version: int, ordered: list[str], rows: list[Any], postings: list[Any], started: float
) -> Snapshot:
    """The base with the documents written since (`rows`, `postings`) over it; `ordered`: every id in id order."""
    delta = _build(base.index, version, rows, postings, started)
    current = set(ordered)
    replaced = set(delta.doc_ids)
    alive = np.fromiter((d in current and d not in replaced for d in base.doc_ids), bool, base.size)
    place = {d: i for i, d in enumerate(ordered)}
    # One tie-break order over both segments: published_at DESC, then doc_id DESC as the database sorts ids.
    position = np.fromiter((place.get(d, -1) for d in base.doc_ids), np.int64, base.size)
    position = np.concatenate([position, np.fromiter((place[d] for d in delta.doc_ids), np.int64, delta.size)])
    published = np.concatenate([base.published, delta.published])
    rank = np.empty(len(position), dtype=np.int32)
    rank[np.lexsort((-position, -published))] = np.arange(len(position), dtype=np.int32)
    return Snapshot(
        index=base.index,
        version=version,
        base=dataclasses.replace(base, rank=rank[: base.size]),
        alive=alive,
        delta=dataclasses.replace(delta, rank=rank[base.size :]),
        loaded_seconds=time.perf_counter() - started,
    )


@dataclass(slots=True)
class Snapshot:
    """An index at one version: a base segment (less the documents changed since) and a delta segment."""

    index: str
    version: int
    base: Segment
    alive: np.ndarray | None = None
    """Which base documents are still current (None: all)."""
    delta: Segment | None = None
    loaded_seconds: float = 0.0
    statistics: Statistics = field(default_factory=lambda: Statistics(None, None, {}))

    def frequencies(self, tokens: set[str]) -> dict[str, int]:
        """Document frequencies of the tokens as the statement path reads them (0: not in the vocabulary)."""
        df = self.statistics.df
        return {token: df.get(token, 0) for token in tokens}

    def typo_candidates(self, word: str) -> list[tuple[str, int]] | None:
        """The typo lookup's candidates for a lowercase ASCII word, as the statement finds them (None: ask it)."""
        return typo_candidates(self.statistics.trigrams, self.statistics.df, word)

    @property
    def statistics_size(self) -> int:
        """The document count words are weighed against: the last statistics run's, else the documents held."""
        recorded = self.statistics.documents
        return int(recorded) if recorded is not None else self.size

    @property
    def size(self) -> int:
        alive = self.base.size if self.alive is None else int(self.alive.sum())
        return alive + (self.delta.size if self.delta is not None else 0)

    def parts(self) -> list[tuple[Segment, np.ndarray | None]]:
        out: list[tuple[Segment, np.ndarray | None]] = [(self.base, self.alive)]
        if self.delta is not None and self.delta.size:
            out.append((self.delta, None))
        return out

    def evaluate(
        self, plan: ScorePlan | None, query: SearchQuery, sort: SortOrder, *, enough: int, limit: int
    ) -> Answer:
        """Match, rank and count as the statement does; `enough`: below this many matches, any word will do."""
        parts = self.parts()
        allowed = [segment.filtered(query.filters) for segment, _ in parts]

        def matches(every: bool) -> list[np.ndarray]:
            out = []
            for (segment, alive), ok in zip(parts, allowed, strict=True):
                if plan is None:
                    mask = ok.copy() if ok is not None else np.ones(segment.size, dtype=bool)
                else:
                    mask = segment.present(plan.every if every else plan.anything, every=every)
                    if ok is not None:
                        mask &= ok
                if alive is not None:
                    mask &= alive
                out.append(mask)
            return out

        masks = matches(True)
        if plan is not None and plan.any_word != plan.every_word and sum(int(m.sum()) for m in masks) < enough:
            masks = matches(False)
        idxs = [np.flatnonzero(m) for m in masks]
        scores = [seg.score(plan, idx) if plan is not None else None for (seg, _), idx in zip(parts, idxs, strict=True)]
        k = query.offset + query.per_page
        picked: list[tuple[int, int]] = []  # (part, position in its idx)
        if len(parts) == 1:
            segment = parts[0][0]
            top = segment.top(idxs[0], segment.sort_key(sort, idxs[0], scores[0]), k)
            picked = [(0, int(p)) for p in top]
        else:
            keys: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
            for i, ((segment, _), idx, score) in enumerate(zip(parts, idxs, scores, strict=True)):
                primary = segment.sort_key(sort, idx, score)
                top = segment.top(idx, primary, k)
                first = primary[top] if primary is not None else np.zeros(len(top))
                keys.append((first.astype(np.float64), segment.rank[idx[top]], np.full(len(top), i), top))
            first, rank, part, position = (np.concatenate(column) for column in zip(*keys, strict=True))
            order = np.lexsort((rank, first))[:k]
            picked = [(int(part[o]), int(position[o])) for o in order]
        page = picked[query.offset :]
        facets: dict[Facet, tuple[FacetCount, ...]] = {}
        for facet in query.facets:
            if len(parts) == 1:
                column, counts = parts[0][0].facet_counts(facet, idxs[0])
                facets[facet] = _top(column.values, column.order, counts, limit)
                continue
            merged: dict[str, int] = {}
            for (segment, _), idx in zip(parts, idxs, strict=True):
                column, counts = segment.facet_counts(facet, idx)
                for v in np.flatnonzero(counts):
                    name = column.values[v]
                    merged[name] = merged.get(name, 0) + int(counts[v])
            ranked = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:limit]
            facets[facet] = tuple(FacetCount(value, count) for value, count in ranked)
        lows, highs = [], []
        if query.facets:
            for (segment, _), idx in zip(parts, idxs, strict=True):
                low, high = segment.price_stats(idx)
                lows += [low] if low is not None else []
                highs += [high] if high is not None else []
        positions = [(parts[i][0], int(idxs[i][p])) for i, p in page]
        return Answer(
            ids=[segment.doc_ids[at] for segment, at in positions],
            stored=[segment.stored[at] for segment, at in positions],
            scores=[float(scores[i][p]) for i, p in page] if plan is not None else None,  # type: ignore[index]
            total=sum(len(idx) for idx in idxs),
            facets=facets,
            price=(min(lows) if lows else None, max(highs) if highs else None),
        )


@dataclass(frozen=True, slots=True)
class Answer:
    """What a snapshot found: the page's ids (and scores), the total, facet counts and the price range."""

    ids: list[str]
    stored: list[bytes | None]
    """The page's documents as stored (None where a document has no stored copy)."""
    scores: list[float] | None
    total: int
    facets: dict[Facet, tuple[FacetCount, ...]]
    price: tuple[int | None, int | None]

    def documents(self) -> list[SearchDocument] | None:
        """The page's documents, decoded from the copy (None: one has no stored copy)."""
        if any(raw is None for raw in self.stored):
            return None
        return decode_documents(b"[" + b",".join(self.stored) + b"]")  # type: ignore[arg-type]


_DOCUMENTS = msgspec.json.Decoder(list[SearchDocument])


def decode_documents(raw: bytes | str | None) -> list[SearchDocument]:
    """Stored documents (a JSON array of `as_json` objects) decoded straight into their type; a document
    stored by an older version with gaps `from_json` tolerates (nulls for text) is read by it."""
    if raw is None:
        return []
    try:
        return _DOCUMENTS.decode(raw)
    except msgspec.ValidationError:
        return [SearchDocument.from_json(doc) for doc in msgspec.json.decode(raw)]


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
        published=published,
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
        title_list=titles,
        stored=[r[14] for r in rows],
        lowest=np.where(has_min, price_min, _NO_LOW),
        highest=np.where(has_max, price_max, _NO_HIGH),
        title_starts=starts,
        loaded_seconds=time.perf_counter() - started,
    )


def _return_free_memory() -> None:
    """Give the C allocator's free pages back to the system (glibc only): loading leaves ≈100 MB of them."""
    with contextlib.suppress(OSError, AttributeError):  # another C library: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


VERSION_CHANNEL = "search_index_version"
"""Every write to an index announces its new version here (`<index> <version>`, delivered at commit)."""


class VersionWatch:
    """The committed version of every index, kept current by PostgreSQL's announcements (LISTEN).

    A search answered from a snapshot must know that the snapshot is as new as the index; reading the
    version costs a round trip per search (≈20 % of an answer's CPU here). Writers announce each new
    version with NOTIFY, delivered to listeners when the write commits; this keeps the latest per
    index. The versions are also read again every `poll_seconds` on the same connection, which catches
    a dead connection (the read fails or times out) and anything missed. While the connection is not
    up (starting, lost, reconnecting), `version` answers None and searches read the version themselves.
    """

    def __init__(self, *, poll_seconds: float = 1.0) -> None:
        self.poll_seconds = poll_seconds
        self._versions: dict[str, int] = {}
        self._read_at = 0.0
        """When the versions were last read on a listening connection (0: not listening)."""
        self._task: asyncio.Task[None] | None = None
        self.connections = 0
        """Connections the watch has opened (1 unless it lost one)."""
        self.pid: int | None = None
        """The server process of the watch's connection (None: not connected)."""

    def version(self, index: str) -> int | None:
        """The index's version as last committed (None: not known without asking the database).

        Known only while listening and the last read is recent: a connection that died without a
        word (no announcements, reads hanging) stops counting after three poll intervals.
        """
        return self._versions.get(index) if self.live else None

    @property
    def live(self) -> bool:
        """Whether the watch is listening and has read the versions within three poll intervals."""
        return time.monotonic() - self._read_at <= 3 * self.poll_seconds

    def start(self, engine: AsyncEngine) -> None:
        """Listen in the background (once; again after `aclose`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch(engine))

    def _announced(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        index, _, version = payload.rpartition(" ")
        if index and version.isdigit() and int(version) > self._versions.get(index, -1):
            self._versions[index] = int(version)  # versions only grow; announcements may cross a read

    async def _watch(self, engine: AsyncEngine) -> None:
        delay = self.poll_seconds
        while True:
            opened = self.connections
            try:
                async with engine.connect() as conn:
                    try:
                        await self._listen(conn)
                    finally:
                        await conn.invalidate()  # never back to the pool still listening
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # lost, refused, timed out: searches ask the database meanwhile
                log.warning("search version watch lost its connection", error=f"{type(exc).__name__}: {exc}")
            delay = self.poll_seconds if self.connections > opened else min(delay * 2, 30.0)
            await asyncio.sleep(delay)

    async def _listen(self, conn: AsyncConnection) -> None:
        raw = (await conn.get_raw_connection()).driver_connection
        assert raw is not None
        lost = asyncio.Event()
        raw.add_termination_listener(lambda _conn: lost.set())
        await raw.add_listener(VERSION_CHANNEL, self._announced)
        self.connections += 1
        self.pid = raw.get_server_pid()
        try:
            while not lost.is_set():
                # Listening first, then reading: a version committed in between is announced or read.
                rows = await raw.fetch("SELECT name, version FROM search.indexes", timeout=2 * self.poll_seconds + 1)
                self._versions = {name: max(int(version), self._versions.get(name, -1)) for name, version in rows}
                self._read_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), self.poll_seconds)
        finally:
            self._read_at = 0.0
            self.pid = None

    async def aclose(self) -> None:
        """Stop listening."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._read_at = 0.0


class MemoryIndexes:
    """This process's snapshots, one per index, and their background refreshes."""

    def __init__(
        self,
        *,
        min_documents: int = 20_000,
        refresh_seconds: float = 1.0,
        inline: bool = False,
        watch_seconds: float = 1.0,
    ) -> None:
        """Snapshots of indexes with at least min_documents, refreshed at most every refresh_seconds.

        inline: refresh through the searching session, before the search, whenever the index version
        changed (sees the session's own uncommitted writes: for tests; a server refreshes in the background).
        watch_seconds: how often the version watch reads the versions again besides listening (VersionWatch).
        """
        self.min_documents = min_documents
        self.refresh_seconds = refresh_seconds
        self.inline = inline
        self.versions = VersionWatch(poll_seconds=watch_seconds)
        self._snapshots: dict[str, Snapshot] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._not_before: dict[str, float] = {}
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self.retry_seconds = 5.0
        """After a failed load, the next try comes this long after (searches need not ask for it)."""
        self.loads = 0
        """Snapshots taken (whole or from the previous one plus what changed)."""
        self.answers = 0
        """Searches answered from a snapshot."""
        self.stale = 0
        """Searches that found their snapshot older than the index (the statement answered them)."""

    def snapshot(self, index: str) -> Snapshot | None:
        """The latest snapshot of the index (possibly older than the index: check its version)."""
        return self._snapshots.get(index)

    def refresh_soon(self, index: str, engine: AsyncEngine) -> None:
        """Bring the snapshot up to date in the background, unless that is under way or was tried just now.

        Also starts watching the index versions (background mode only: inline snapshots are read with
        the searching transaction).
        """
        if not self.inline:
            self.versions.start(engine)
        running = self._tasks.get(index)
        if running is not None and not running.done():
            return
        now = time.monotonic()
        if now < self._not_before.get(index, -1e9):
            return
        self._not_before[index] = now + self.refresh_seconds
        self._tasks[index] = asyncio.get_running_loop().create_task(self.refresh(index, engine))

    async def refresh(self, index: str, engine: AsyncEngine) -> None:
        """Take a new snapshot when the index is big enough and has changed (errors are logged, not raised)."""
        try:
            async with engine.connect() as plain:
                conn = await plain.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    # A background read of the whole index: not bound by the requests' statement timeout.
                    await conn.execute(text("SELECT set_config('statement_timeout', :limit, true)"), {"limit": "600s"})
                    snapshot = await self.update(conn, index)
            if snapshot is None:
                self._snapshots.pop(index, None)
        except Exception as exc:  # a lost connection or a missing schema: the statement path keeps answering
            log.warning("search snapshot not loaded", index=index, error=f"{type(exc).__name__}: {exc}")
            # Try again later even if no search asks for it (a server that failed at start-up).
            loop = asyncio.get_running_loop()
            self._retries[index] = loop.call_later(
                max(self.refresh_seconds, self.retry_seconds), self.refresh_soon, index, engine
            )

    async def update(self, conn: AsyncConnection, index: str) -> Snapshot | None:
        """The index's snapshot as of conn's view of the database (None: too small, or no index)."""
        previous = self._snapshots.get(index)
        if previous is None:
            count = (
                await conn.execute(text("SELECT count(*) FROM search.documents WHERE index = :index"), {"index": index})
            ).scalar_one()
            if count < self.min_documents:
                return None
        snapshot = await load_snapshot(conn, index, previous)
        if snapshot is None or snapshot.size < self.min_documents:
            self._snapshots.pop(index, None)
            return None
        if snapshot is not previous:
            self.put(snapshot)
            if snapshot.delta is None and previous is not None:
                # Read whole again (much had changed, as while `marketplace reindex` runs): wait twice as
                # long as that took before the next refresh, so a rebuild is not chased load after load.
                self._not_before[index] = time.monotonic() + max(self.refresh_seconds, 2 * snapshot.loaded_seconds)
        return snapshot

    def put(self, snapshot: Snapshot) -> None:
        """Make a snapshot the index's current one.

        What is alive now (the snapshot, the application) lives long: it is moved out of the garbage
        collector's reach (gc.freeze), so full collections only walk what came after. They took
        ≈180 ms each in a server process under load, the slowest 1% of its answers. Frozen objects
        are still freed when nothing refers to them (the snapshot this one replaces).
        """
        self._snapshots[snapshot.index] = snapshot
        self.loads += 1
        if not self.inline:
            gc.collect(1)
            gc.freeze()
            _return_free_memory()
        log.info(
            "search snapshot loaded",
            index=snapshot.index,
            version=snapshot.version,
            documents=snapshot.size,
            changed=snapshot.delta.size if snapshot.delta is not None else None,
            seconds=round(snapshot.loaded_seconds, 2),
        )

    async def wait(self) -> None:
        """Wait for refreshes under way (tests, benchmarks)."""
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def announced(self, index: str) -> int | None:
        """The index's committed version as announced to this process (None: not known without asking)."""
        return None if self.inline else self.versions.version(index)

    def status(self) -> dict[str, int]:
        """The index version each snapshot holds."""
        return {name: snapshot.version for name, snapshot in self._snapshots.items()}

    def forget(self) -> None:
        """Drop every snapshot."""
        self._snapshots.clear()
        self._not_before.clear()

    async def aclose(self) -> None:
        """Stop refreshes under way and planned, and the version watch (at shutdown)."""
        for retry in self._retries.values():
            retry.cancel()
        self._retries.clear()
        await self.versions.aclose()
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
