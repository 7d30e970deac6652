"""Search rules: turning query parameters into a search, keeping the index in step with the catalogue."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.demands.service import today_at
from marketplace.kit.pagination import InvalidCursor, decode_cursor, encode_cursor
from marketplace.kit.time import utcnow
from marketplace.listings.models import IPAssetType, TradeMode
from marketplace.reference.fields import is_valid_field
from marketplace.reference.regions import is_valid_region
from marketplace.search_api.documents import (
    demand_document,
    is_searchable_demand,
    is_searchable_listing,
    listing_document,
)
from marketplace.search_api.errors import InvalidSearchParameter, SearchEngineUnavailable
from marketplace.search_api.repository import SearchRepository
from search.engine import SearchEngine, get_search_engine
from search.model import (
    MAX_PER_PAGE,
    MAX_QUERY_CHARS,
    MAX_RESULT_WINDOW,
    Facet,
    InvalidSearchQuery,
    SearchDocument,
    SearchError,
    SearchFilters,
    SearchQuery,
    SearchResult,
    SortOrder,
    Suggestion,
)
from search.settings import DEMANDS, INDEXES, LISTINGS

log = structlog.get_logger("marketplace.search")
LISTING_FACETS = tuple(Facet)
DEMAND_FACETS = (Facet.field_codes, Facet.trl, Facet.trade_modes, Facet.region, Facet.holder)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_TRADE_MODES = frozenset(m.value for m in TradeMode)
_IP_TYPES = frozenset(t.value for t in IPAssetType)
MAX_SUGGEST_CHARS = 100


@dataclass(frozen=True, slots=True)
class SearchParams:
    """Query parameters of a search as they came in (strings, checked by `build_query`)."""

    q: str | None = None
    fields: Sequence[str] = ()
    trl_min: int | None = None
    trl_max: int | None = None
    trade_modes: Sequence[str] = ()
    ip_types: Sequence[str] = ()
    price_min: int | None = None
    price_max: int | None = None
    region: str | None = None
    holder: str | None = None
    state_funded: str | None = None
    auction: str | None = None
    facets: Sequence[str] = ()
    sort: str | None = None
    page: int | None = None
    limit: int | None = None
    cursor: str | None = None
    highlight: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    """Public parameter names where they differ from the field names (demands say budget_min ...)."""

    def name(self, key: str) -> str:
        """The parameter's name as the client sent it."""
        return self.names.get(key, key)


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _flag(params: SearchParams, key: str) -> bool | None:
    raw = getattr(params, key)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidSearchParameter.of(params.name(key), f"{raw!r} is not true or false")


def _region(params: SearchParams) -> str | None:
    raw = (params.region or "").strip()
    if not raw:
        return None
    padded = raw + "0" * (6 - len(raw)) if len(raw) in (2, 4) else raw
    if not raw.isdigit() or len(raw) not in (2, 4, 6) or not is_valid_region(padded):
        raise InvalidSearchParameter.of(params.name("region"), f"{raw!r} is not a province, prefecture or county code")
    return raw


def _query_digest(index: str, text: str, filters: SearchFilters, sort: SortOrder) -> str:
    raw = repr((index, text, filters, sort.value)).encode()
    return hashlib.blake2b(raw, digest_size=6).hexdigest()


def build_query(index: str, params: SearchParams, *, facets_allowed: Sequence[Facet]) -> SearchQuery:
    """Check every parameter (422 naming the first bad one) and build the engine query."""
    text = params.q or ""
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearchParameter.of(
            "q", f"is {len(text)} characters long; at most {MAX_QUERY_CHARS} are accepted (shorten the text)"
        )
    fields = _split(params.fields)
    for code in fields:
        if not is_valid_field(code):
            raise InvalidSearchParameter.of(
                params.name("fields"), f"{code!r} is not a field code of the SEI 2018 classification"
            )
    modes = _split(params.trade_modes)
    for mode in modes:
        if mode not in _TRADE_MODES:
            raise InvalidSearchParameter.of(
                params.name("trade_modes"), f"{mode!r} is not one of {', '.join(sorted(_TRADE_MODES))}"
            )
    ip_types = _split(params.ip_types)
    for ip_type in ip_types:
        if ip_type not in _IP_TYPES:
            raise InvalidSearchParameter.of(
                params.name("ip_types"), f"{ip_type!r} is not one of {', '.join(sorted(_IP_TYPES))}"
            )
    for key in ("trl_min", "trl_max"):
        value = getattr(params, key)
        if value is not None and not 1 <= value <= 9:
            raise InvalidSearchParameter.of(params.name(key), "must be from 1 to 9")
    for key in ("price_min", "price_max"):
        value = getattr(params, key)
        if value is not None and value < 0:
            raise InvalidSearchParameter.of(params.name(key), "must not be negative")
    holder = (params.holder or "").strip() or None
    if holder is not None:
        try:
            holder = str(uuid.UUID(holder))
        except ValueError as exc:
            raise InvalidSearchParameter.of(params.name("holder"), f"{holder!r} is not an organisation id") from exc
    wanted: list[Facet] = []
    for name in _split(params.facets):
        if name == "all":
            wanted.extend(facets_allowed)
            continue
        try:
            facet = Facet(name)
        except ValueError:
            facet = None
        if facet is None or facet not in facets_allowed:
            allowed = ", ".join(["all", *(f.value for f in facets_allowed)])
            raise InvalidSearchParameter.of("facets", f"{name!r} is not one of {allowed}")
        wanted.append(facet)
    try:
        sort = SortOrder(params.sort or SortOrder.relevance.value)
    except ValueError as exc:
        choices = ", ".join(s.value for s in SortOrder)
        raise InvalidSearchParameter.of("sort", f"{params.sort!r} is not one of {choices}") from exc
    highlight = _flag(params, "highlight")
    try:
        filters = SearchFilters(
            field_codes=tuple(dict.fromkeys(fields)),
            trl_min=params.trl_min,
            trl_max=params.trl_max,
            trade_modes=tuple(dict.fromkeys(modes)),
            ip_types=tuple(dict.fromkeys(ip_types)),
            price_min_fen=params.price_min,
            price_max_fen=params.price_max,
            region_prefix=_region(params),
            holder_id=holder,
            state_funded=_flag(params, "state_funded"),
            has_auction=_flag(params, "auction"),
        )
    except InvalidSearchQuery as exc:
        raise InvalidSearchParameter.of(params.name(exc.parameter), exc.detail) from exc
    page = 1 if params.page is None else params.page
    limit = 20 if params.limit is None else params.limit
    digest = _query_digest(index, text, filters, sort)
    if params.cursor:
        try:
            values = decode_cursor(params.cursor) or []
        except InvalidCursor as exc:
            # Search names every bad parameter the same way (422), the cursor included.
            raise InvalidSearchParameter.of("cursor", "not a cursor this service issued") from exc
        if len(values) != 3 or values[2] != digest or not all(isinstance(v, int) for v in values[:2]):
            raise InvalidSearchParameter.of("cursor", "belongs to another query; start again without it")
        page, limit = values[0], values[1]
    if not 1 <= limit <= MAX_PER_PAGE:
        raise InvalidSearchParameter.of("limit", f"must be from 1 to {MAX_PER_PAGE}")
    if page < 1:
        raise InvalidSearchParameter.of("page", "must be 1 or more")
    if page * limit > MAX_RESULT_WINDOW:
        raise InvalidSearchParameter.of(
            "page", f"only the first {MAX_RESULT_WINDOW} results can be paged through; narrow the query"
        )
    return SearchQuery(
        text=text,
        filters=filters,
        facets=tuple(dict.fromkeys(wanted)),
        sort=sort,
        page=page,
        per_page=limit,
        highlight=highlight is not False,
    )


def next_cursor(index: str, query: SearchQuery, result: SearchResult) -> str | None:
    """The cursor of the page after this one, or None on the last page."""
    if not result.has_more or (query.page + 1) * query.per_page > MAX_RESULT_WINDOW:
        return None
    return encode_cursor([query.page + 1, query.per_page, _query_digest(index, query.text, query.filters, query.sort)])


RenderPage = Callable[[SearchResult, str | None], bytes]
"""Encodes a result page (with the cursor of the next one) as the route answers it."""


class SearchService:
    """Runs searches and suggestions on whichever engine is configured."""

    def __init__(self, session: AsyncSession, engine: SearchEngine | None = None) -> None:
        self.engine = engine or get_search_engine()
        self.backend = self.engine.backend(session)

    async def page(self, index: str, query: SearchQuery, render: RenderPage) -> tuple[bytes, tuple[str, ...], float]:
        """A page as `render` encodes it, the query's terms and the milliseconds it took.

        Encoded pages are kept in the process's result cache under the index version read before the
        search, so a repeated search is answered from memory until the index changes in any way (or
        the entry expires); engines that cannot tell their version are always asked.
        """
        started = time.perf_counter()
        cache = self.engine.results
        version = await self.backend.version(index) if cache.enabled else None
        key = (index, version, query)
        if version is not None and (cached := cache.get(key)) is not None:
            head, terms = cached
            return head, terms, (time.perf_counter() - started) * 1000
        result = await self.search(index, query)
        head, terms = render(result, next_cursor(index, query, result)), result.terms
        if version is not None:
            cache.put(key, (head, terms))
        return head, terms, result.took_ms

    async def search(self, index: str, query: SearchQuery) -> SearchResult:
        """One search; engine trouble becomes a 503."""
        try:
            return await self.backend.search(index, query)
        except InvalidSearchQuery as exc:
            raise InvalidSearchParameter.of(exc.parameter, exc.detail) from exc
        except SearchError as exc:  # down, timing out, or refusing: the engine's problem, not the caller's
            log.warning("search engine failed", error=str(exc))
            raise SearchEngineUnavailable(
                "the search engine is not answering; retry shortly", headers={"Retry-After": "2"}
            ) from exc

    async def suggest(self, index: str, text: str, *, limit: int) -> list[Suggestion]:
        """As-you-type suggestions."""
        if len(text) > MAX_SUGGEST_CHARS:
            raise InvalidSearchParameter.of("q", f"at most {MAX_SUGGEST_CHARS} characters")
        if not 1 <= limit <= 20:
            raise InvalidSearchParameter.of("limit", "must be from 1 to 20")
        try:
            return await self.backend.suggest(index, text, limit=limit)
        except SearchError as exc:
            log.warning("search engine failed", error=str(exc))
            raise SearchEngineUnavailable(
                "the search engine is not answering; retry shortly", headers={"Retry-After": "2"}
            ) from exc


class IndexSync:
    """Brings single documents in step with the database (from outbox jobs)."""

    def __init__(self, session: AsyncSession, engine: SearchEngine | None = None) -> None:
        self.session = session
        self.repo = SearchRepository(session)
        self.engine = engine or get_search_engine()
        self.backend = self.engine.backend(session)

    async def listing(self, listing_id: uuid.UUID) -> bool:
        """Index the listing if it is published, else remove it; return whether it is in the index now."""
        row = await self.repo.listing(listing_id)
        if row is not None and is_searchable_listing(row[0]):
            listing, holder_name, ip_types = row
            await self.backend.upsert(LISTINGS, [listing_document(listing, holder_name=holder_name, ip_types=ip_types)])
            return True
        await self.backend.delete(LISTINGS, [str(listing_id)])
        return False

    async def demand(self, demand_id: uuid.UUID) -> bool:
        """Index the demand if it is open, else remove it; return whether it is in the index now."""
        row = await self.repo.demand(demand_id)
        if row is not None and is_searchable_demand(row[0], today_at(utcnow())):
            demand, holder_name = row
            await self.backend.upsert(DEMANDS, [demand_document(demand, holder_name=holder_name)])
            return True
        await self.backend.delete(DEMANDS, [str(demand_id)])
        return False

    async def organization(self, organization_id: uuid.UUID) -> int:
        """Re-index an organisation's listings and demands (its name is in their documents)."""
        count = 0
        for listing_id in await self.repo.listing_ids_of(organization_id):
            count += await self.listing(listing_id)
        for demand_id in await self.repo.demand_ids_of(organization_id):
            count += await self.demand(demand_id)
        return count


async def source_batch(
    session: AsyncSession, index: str, *, after: uuid.UUID | None, limit: int
) -> tuple[list[SearchDocument], uuid.UUID | None]:
    """One batch of the documents the index should hold, in id order, and the id to continue after."""
    repo = SearchRepository(session)
    if index == LISTINGS:
        listings = await repo.published_listings(after=after, limit=limit)
        docs = [listing_document(row[0], holder_name=row[1], ip_types=row[2]) for row in listings]
        return docs, listings[-1][0].id if listings else None
    if index == DEMANDS:
        demands = await repo.open_demands(today=today_at(utcnow()), after=after, limit=limit)
        return [demand_document(row[0], holder_name=row[1]) for row in demands], demands[-1][0].id if demands else None
    raise ValueError(f"unknown index {index!r}; known: {', '.join(INDEXES)}")


async def source_documents(
    session: AsyncSession, index: str, *, batch: int = 500
) -> AsyncIterator[list[SearchDocument]]:
    """Every document the index should hold, built from the database, a batch at a time."""
    after: uuid.UUID | None = None
    while True:
        docs, last = await source_batch(session, index, after=after, limit=batch)
        if docs:
            yield docs
        if last is None or len(docs) < batch:
            return
        after = last


async def source_count(session: AsyncSession, index: str) -> int:
    """How many documents the index should hold."""
    repo = SearchRepository(session)
    if index == LISTINGS:
        return await repo.count_published_listings()
    return await repo.count_open_demands(today=today_at(utcnow()))


@dataclass
class Drift:
    """How an index differs from the database."""

    index: str
    in_database: int = 0
    in_index: int = 0
    missing: list[str] = field(default_factory=list)
    """In the database, not in the index."""
    stale: list[str] = field(default_factory=list)
    """In both, but the index holds an older version."""
    orphaned: list[str] = field(default_factory=list)
    """In the index, but no longer public (or gone) in the database."""

    @property
    def clean(self) -> bool:
        """Whether the index matches the database exactly."""
        return not (self.missing or self.stale or self.orphaned)


async def measure_drift(
    sessionmaker: async_sessionmaker[AsyncSession], engine: SearchEngine, index: str, *, batch: int = 1000
) -> Drift:
    """Compare the documents the database implies with what the index holds (by fingerprint)."""
    drift = Drift(index=index)
    expected: dict[str, str] = {}
    async with sessionmaker() as session:
        async for docs in source_documents(session, index, batch=batch):
            expected.update((d.id, d.fingerprint) for d in docs)
        held: dict[str, str] = {}
        async for doc_id, fingerprint in engine.backend(session).fingerprints(index):
            held[doc_id] = fingerprint
    drift.in_database, drift.in_index = len(expected), len(held)
    for doc_id, fingerprint in expected.items():
        if doc_id not in held:
            drift.missing.append(doc_id)
        elif held[doc_id] != fingerprint:
            drift.stale.append(doc_id)
    drift.orphaned = sorted(set(held) - set(expected))
    drift.missing.sort()
    drift.stale.sort()
    return drift


@dataclass
class Rebuild:
    """What a rebuild did."""

    index: str
    before: Drift
    after: Drift
    written: int
    removed: int
    seconds: float


async def rebuild_index(
    sessionmaker: async_sessionmaker[AsyncSession],
    engine: SearchEngine,
    index: str,
    *,
    batch: int = 500,
    on_progress: Callable[[str, int, int], Any] | None = None,
) -> Rebuild:
    """Apply settings, write every document from the database, remove orphans, recount statistics.

    Each batch commits on its own, so a long rebuild shows progress and an interrupted one resumes
    by running again; searches keep working (on a mix of old and new documents) meanwhile.
    """
    started = time.perf_counter()
    progress = on_progress or (lambda phase, done, total: None)
    before = await measure_drift(sessionmaker, engine, index)
    async with sessionmaker() as session, session.begin():
        await engine.backend(session).apply_settings(engine.indexes[index])
    total = before.in_database
    progress("index", 0, total)

    async def batches() -> AsyncIterator[list[SearchDocument]]:
        cursor: uuid.UUID | None = None
        while True:
            # A short read per batch: no transaction stays open for the whole rebuild.
            async with sessionmaker() as reader, reader.begin():
                docs, last = await source_batch(reader, index, after=cursor, limit=batch)
            if docs:
                yield docs
            if last is None or len(docs) < batch:
                return
            cursor = last

    @asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session, session.begin():
            yield session

    written = await engine.bulk_upsert(
        index, batches(), transaction=transaction, on_written=lambda n: progress("index", n, max(total, n))
    )
    removed = 0
    if before.orphaned:
        progress("remove", 0, len(before.orphaned))
        for start in range(0, len(before.orphaned), batch):
            chunk = before.orphaned[start : start + batch]
            async with sessionmaker() as writer, writer.begin():
                await engine.backend(writer).delete(index, chunk)
            removed += len(chunk)
            progress("remove", removed, len(before.orphaned))
    progress("statistics", 0, 1)
    async with sessionmaker() as session, session.begin():
        await engine.backend(session).refresh_statistics(index)
    progress("statistics", 1, 1)
    after = await measure_drift(sessionmaker, engine, index)
    return Rebuild(
        index=index, before=before, after=after, written=written, removed=removed, seconds=time.perf_counter() - started
    )
