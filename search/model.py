"""Typed objects every engine speaks: documents, queries, filters, facets, results and index settings."""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = [
    "MAX_FACET_VALUES",
    "MAX_PER_PAGE",
    "MAX_QUERY_CHARS",
    "MAX_QUERY_TERMS",
    "MAX_RESULT_WINDOW",
    "BackendHealth",
    "Facet",
    "FacetCount",
    "IndexSettings",
    "InvalidSearchQuery",
    "PriceStats",
    "SearchDocument",
    "SearchError",
    "SearchFilters",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "SortOrder",
    "Suggestion",
]

MAX_PER_PAGE = 100
"""Largest page a search returns."""
MAX_RESULT_WINDOW = 10_000
"""Hits beyond this rank are not reachable by paging (page * per_page); narrow the query instead."""
MAX_QUERY_CHARS = 1_000
"""Longest query text accepted (a pasted paragraph fits; a whole document does not)."""
MAX_QUERY_TERMS = 32
"""Words of a query that take part in matching; the rest of a very long query is ignored."""
MAX_FACET_VALUES = 100
"""Most values one facet reports (the most frequent first)."""


class SearchError(Exception):
    """Base of the errors a search engine raises on purpose."""


class InvalidSearchQuery(SearchError):
    """A query or filter value no engine can accept; names the offending parameter."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"{parameter}: {detail}")
        self.parameter = parameter
        self.detail = detail


class SearchUnavailable(SearchError):
    """The engine did not answer (down, timing out, or misconfigured)."""


class Facet(enum.StrEnum):
    """Facets a search can count, each matching one filter."""

    field_codes = "field_codes"
    trl = "trl"
    trade_modes = "trade_modes"
    ip_types = "ip_types"
    region = "region"
    """Counted per province (the first two digits of the region code)."""
    holder = "holder"
    state_funded = "state_funded"
    has_auction = "has_auction"


class SortOrder(enum.StrEnum):
    """Result orders; ties always fall back to newest first, then id."""

    relevance = "relevance"
    newest = "newest"
    price_asc = "price_asc"
    price_desc = "price_desc"


_FIELD_CODE_RE = re.compile(r"[1-9](?:\.[0-9]{1,2})?")
_SLUG_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_REGION_PREFIX_RE = re.compile(r"[0-9]{2}(?:[0-9]{2}(?:[0-9]{2})?)?")
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_FEN = 10**15  # a price above ten trillion yuan is a typo, not a listing


def _check_all(parameter: str, values: Sequence[str], pattern: re.Pattern[str], what: str) -> None:
    for value in values:
        if not isinstance(value, str) or pattern.fullmatch(value) is None:
            raise InvalidSearchQuery(parameter, f"{value!r} is not {what}")


def _check_fen(parameter: str, value: int | None) -> None:
    if value is not None and not (0 <= value <= MAX_FEN):
        raise InvalidSearchQuery(parameter, f"must be between 0 and {MAX_FEN} fen")


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """Structured filters; values within one filter are alternatives (OR), filters combine with AND.

    Values are checked for shape here (engines build filter syntax from them); whether a value is a
    known code is the caller's business.
    """

    field_codes: tuple[str, ...] = ()
    """Strategic-emerging-industry codes; a top-level code ("1") also matches its children ("1.5")."""
    trl_min: int | None = None
    trl_max: int | None = None
    trade_modes: tuple[str, ...] = ()
    ip_types: tuple[str, ...] = ()
    price_min_fen: int | None = None
    """Documents whose price range reaches at least this much (documents without a price drop out)."""
    price_max_fen: int | None = None
    """Documents whose price range starts at most this high (documents without a price drop out)."""
    region_prefix: str | None = None
    """A province ("44" or "440000"), prefecture ("4403" or "440300") or county ("440305")."""
    holder_id: str | None = None
    state_funded: bool | None = None
    has_auction: bool | None = None

    def __post_init__(self) -> None:
        _check_all("field_code", self.field_codes, _FIELD_CODE_RE, "a field code such as 1 or 1.5")
        _check_all("trade_mode", self.trade_modes, _SLUG_RE, "a trade mode")
        _check_all("ip_type", self.ip_types, _SLUG_RE, "an IP type")
        for name in ("trl_min", "trl_max"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int) and 1 <= value <= 9):
                raise InvalidSearchQuery(name, "must be a whole number from 1 to 9")
        if self.trl_min is not None and self.trl_max is not None and self.trl_min > self.trl_max:
            raise InvalidSearchQuery("trl_min", "must not be greater than trl_max")
        _check_fen("price_min", self.price_min_fen)
        _check_fen("price_max", self.price_max_fen)
        if (
            self.price_min_fen is not None
            and self.price_max_fen is not None
            and self.price_min_fen > self.price_max_fen
        ):
            raise InvalidSearchQuery("price_min", "must not be greater than price_max")
        if self.region_prefix is not None:
            if _REGION_PREFIX_RE.fullmatch(self.region_prefix) is None:
                raise InvalidSearchQuery("region", "must be 2, 4 or 6 digits of a region code")
            prefix = self.region_prefix
            while len(prefix) > 2 and prefix.endswith("00"):
                prefix = prefix[:-2]  # 440300 is the prefecture 4403, 440000 the province 44
            object.__setattr__(self, "region_prefix", prefix)
        if self.holder_id is not None and _ID_RE.fullmatch(self.holder_id) is None:
            raise InvalidSearchQuery("holder", "is not an identifier")

    @property
    def is_empty(self) -> bool:
        """Whether no filter is set."""
        return self == _NO_FILTERS


_NO_FILTERS = SearchFilters()


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """One search: text (may be empty: browse), filters, facets to count, order and page."""

    text: str = ""
    filters: SearchFilters = field(default_factory=SearchFilters)
    facets: tuple[Facet, ...] = ()
    sort: SortOrder = SortOrder.relevance
    page: int = 1
    per_page: int = 20
    highlight: bool = True
    prefix: bool = True
    """Whether the last word may be the start of a longer one (as-you-type)."""

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InvalidSearchQuery("q", "must be text")
        if len(self.text) > MAX_QUERY_CHARS:
            raise InvalidSearchQuery(
                "q", f"is {len(self.text)} characters long; at most {MAX_QUERY_CHARS} are accepted"
            )
        if not (1 <= self.per_page <= MAX_PER_PAGE):
            raise InvalidSearchQuery("per_page", f"must be between 1 and {MAX_PER_PAGE}")
        if self.page < 1:
            raise InvalidSearchQuery("page", "must be 1 or more")
        if self.page * self.per_page > MAX_RESULT_WINDOW:
            raise InvalidSearchQuery(
                "page", f"only the first {MAX_RESULT_WINDOW} results can be paged through; narrow the query"
            )

    @property
    def offset(self) -> int:
        """Hits skipped before this page."""
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class SearchDocument:
    """What an engine indexes for one listing or demand: public text, filter values and display data.

    Only public text belongs here: whatever is put in a document can be found and is shown in hits.
    """

    id: str
    title: str
    published_at: datetime
    title_en: str | None = None
    keywords: tuple[str, ...] = ()
    summary: str = ""
    description: str = ""
    """Searchable, never returned with hits."""
    holder_id: str | None = None
    holder_name: str | None = None
    field_codes: tuple[str, ...] = ()
    trl: int | None = None
    trade_modes: tuple[str, ...] = ()
    ip_types: tuple[str, ...] = ()
    price_min_fen: int | None = None
    price_max_fen: int | None = None
    region_code: str | None = None
    state_funded: bool = False
    has_auction: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    """JSON-able display data returned with hits as is (not searchable, not filterable)."""

    def __post_init__(self) -> None:
        if _ID_RE.fullmatch(self.id or "") is None:
            raise ValueError(f"document id {self.id!r} is not an identifier")
        if self.published_at.tzinfo is None:
            raise ValueError("published_at must be timezone-aware")

    @property
    def expanded_field_codes(self) -> tuple[str, ...]:
        """The codes with their top-level parents, so that filtering by "1" finds "1.5"."""
        out: dict[str, None] = {}
        for code in self.field_codes:
            if "." in code:
                out.setdefault(code.split(".", 1)[0])
            out.setdefault(code)
        return tuple(sorted(out))

    @property
    def region_prefixes(self) -> tuple[str, ...]:
        """Province, prefecture and county prefixes of the region code (what a region filter matches)."""
        code = self.region_code or ""
        if len(code) != 6 or not code.isdigit():
            return ()
        prefixes = [code[:2]]
        if code[2:4] != "00":
            prefixes.append(code[:4])
            if code[4:] != "00":
                prefixes.append(code)
        return tuple(prefixes)

    @property
    def province(self) -> str | None:
        """The province code prefix ("44"), the region facet's value."""
        prefixes = self.region_prefixes
        return prefixes[0] if prefixes else None

    @property
    def price_range(self) -> tuple[int | None, int | None]:
        """(lowest, highest) price in fen; a single price is both; (None, None) when negotiable."""
        low, high = self.price_min_fen, self.price_max_fen
        if low is None:
            low = high
        if high is None:
            high = low
        return low, high

    @property
    def published_ts(self) -> int:
        """Publication time in whole seconds since the epoch."""
        return int(self.published_at.timestamp())

    def as_json(self, *, with_description: bool = True) -> dict[str, Any]:
        """A JSON-able dict that from_json turns back into an equal document."""
        out: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "title_en": self.title_en,
            "keywords": list(self.keywords),
            "summary": self.summary,
            "holder_id": self.holder_id,
            "holder_name": self.holder_name,
            "field_codes": list(self.field_codes),
            "trl": self.trl,
            "trade_modes": list(self.trade_modes),
            "ip_types": list(self.ip_types),
            "price_min_fen": self.price_min_fen,
            "price_max_fen": self.price_max_fen,
            "region_code": self.region_code,
            "state_funded": self.state_funded,
            "has_auction": self.has_auction,
            "published_at": self.published_at.astimezone(UTC).isoformat(),
            "extra": dict(self.extra),
        }
        if with_description:
            out["description"] = self.description
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SearchDocument:
        """Rebuild a document from as_json output."""
        return cls(
            id=str(data["id"]),
            title=data.get("title") or "",
            title_en=data.get("title_en"),
            keywords=tuple(data.get("keywords") or ()),
            summary=data.get("summary") or "",
            description=data.get("description") or "",
            holder_id=data.get("holder_id"),
            holder_name=data.get("holder_name"),
            field_codes=tuple(data.get("field_codes") or ()),
            trl=data.get("trl"),
            trade_modes=tuple(data.get("trade_modes") or ()),
            ip_types=tuple(data.get("ip_types") or ()),
            price_min_fen=data.get("price_min_fen"),
            price_max_fen=data.get("price_max_fen"),
            region_code=data.get("region_code"),
            state_funded=bool(data.get("state_funded")),
            has_auction=bool(data.get("has_auction")),
            published_at=datetime.fromisoformat(data["published_at"]),
            extra=dict(data.get("extra") or {}),
        )

    @property
    def fingerprint(self) -> str:
        """A digest of everything indexed: equal fingerprints mean the index holds this very version."""
        raw = json.dumps(self.as_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result: the document as indexed (without its description), its score and highlights."""

    document: SearchDocument
    score: float | None = None
    """Engine-specific relevance (higher is better); None when sorted by something else."""
    highlights: Mapping[str, str] = field(default_factory=dict)
    """Field name (title, title_en, summary) -> HTML-escaped snippet with matches in <mark>...</mark>."""

    @property
    def id(self) -> str:
        """The document id."""
        return self.document.id


class FacetCount(msgspec.Struct, frozen=True, gc=False):
    """How many matching documents carry one facet value (pages hold hundreds: built in C, encoded as
    `{"value": ..., "count": ...}` without a dict per value, untracked by the garbage collector)."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class PriceStats:
    """Lowest and highest price among the matching documents that have one."""

    min_fen: int
    max_fen: int


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A page of hits, the total, and facet counts over every matching document."""

    hits: tuple[SearchHit, ...]
    total: int
    page: int
    per_page: int
    facets: Mapping[Facet, tuple[FacetCount, ...]] = field(default_factory=dict)
    price_stats: PriceStats | None = None
    terms: tuple[str, ...] = ()
    """The words the query was understood as (after normalisation and segmentation)."""
    took_ms: float = 0.0

    @property
    def has_more(self) -> bool:
        """Whether another page follows (within the pageable window)."""
        reachable = min(self.total, MAX_RESULT_WINDOW)
        return self.page * self.per_page < reachable


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An as-you-type suggestion: a word that completes the input, or a matching document title."""

    text: str
    kind: str
    """"term" (a completion of the word being typed) or "title" (a document's title)."""
    id: str | None = None
    """The document id, for titles."""
    highlighted: str | None = None


@dataclass(frozen=True, slots=True)
class BackendHealth:
    """Whether an engine answers, and how many documents each index holds."""

    engine: str
    ok: bool
    detail: str = ""
    documents: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndexSettings:
    """How one index behaves: what is searched with which weight, filtered, sorted, and which synonyms."""

    name: str
    searchable: tuple[str, ...] = ("title", "keywords", "holder", "summary", "description")
    """Searchable fields, most important first."""
    filterable: tuple[str, ...] = tuple(f.value for f in Facet)
    sortable: tuple[str, ...] = ("published_at", "price_min_fen", "price_max_fen")
    synonyms: tuple[tuple[str, ...], ...] = ()
    typo_min_one: int = 5
    """Words of at least this many letters match with one typo."""
    typo_min_two: int = 9
    """Words of at least this many letters match with two typos."""
    max_total_hits: int = MAX_RESULT_WINDOW
    max_facet_values: int = MAX_FACET_VALUES

    @property
    def digest(self) -> str:
        """A short digest of the settings, to tell whether an engine has the current ones."""
        raw = json.dumps(
            [
                self.name,
                self.searchable,
                self.filterable,
                self.sortable,
                self.synonyms,
                self.typo_min_one,
                self.typo_min_two,
                self.max_total_hits,
                self.max_facet_values,
            ],
            ensure_ascii=False,
        )
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
