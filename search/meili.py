"""The engine for scale: Meilisearch through its official async client (meilisearch-python-sdk).

Documents are pre-tokenised here with the same analyzer the PostgreSQL engine uses (search/text.py):
each searchable field is sent as its tokens joined by spaces, already simplified, folded and
segmented, so Chinese segmentation, traditional/simplified folding and the domain dictionary are
ours; Meilisearch adds typo tolerance, prefix search, synonyms, ranking, filters and facets. Hits
return the document as indexed and are highlighted in Python, exactly as on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from search.highlight import document_highlights, query_highlighter
from search.model import (
    BackendHealth,
    Facet,
    FacetCount,
    IndexSettings,
    PriceStats,
    SearchDocument,
    SearchError,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SortOrder,
    Suggestion,
)
from search.prepare import document_tokens, ends_in_word, prepare_query
from search.text import STOPWORDS, Analyzer, get_default_analyzer

__all__ = [
    "MeilisearchBackend",
    "meili_document",
    "meili_filter",
    "meili_settings",
    "meili_sort",
]

SEARCHABLE = ("t_title", "t_keywords", "t_holder", "t_summary", "t_description")
FACET_ATTRIBUTES: dict[Facet, str] = {
    Facet.field_codes: "field_codes",
    Facet.trl: "trl",
    Facet.trade_modes: "trade_modes",
    Facet.ip_types: "ip_types",
    Facet.region: "region",
    Facet.holder: "holder",
    Facet.state_funded: "state_funded",
    Facet.has_auction: "has_auction",
}
FILTERABLE = (*FACET_ATTRIBUTES.values(), "region_prefixes", "price_min_fen", "price_max_fen", "keywords")
SORTABLE = ("published_at", "price_min_fen", "price_max_fen", "id")
RANKING_RULES = ("sort", "words", "typo", "proximity", "attribute", "exactness", "published_at:desc")
_SORTS: dict[SortOrder, list[str]] = {
    SortOrder.relevance: [],
    SortOrder.newest: ["published_at:desc", "id:desc"],
    SortOrder.price_asc: ["price_min_fen:asc", "published_at:desc", "id:desc"],
    SortOrder.price_desc: ["price_max_fen:desc", "published_at:desc", "id:desc"],
}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def meili_document(doc: SearchDocument, analyzer: Analyzer | None = None) -> dict[str, Any]:
    """The Meilisearch form of a document: pre-tokenised searchable fields, filter values, display data."""
    analysed = document_tokens(doc, analyzer)
    low, high = doc.price_range
    return {
        "id": doc.id,
        "t_title": " ".join(analysed.tokens("title")),
        "t_keywords": " ".join(analysed.tokens("keywords")),
        "t_holder": " ".join(analysed.tokens("holder")),
        "t_summary": " ".join(analysed.tokens("summary")),
        "t_description": " ".join(analysed.tokens("description")),
        "keywords": [(analyzer or get_default_analyzer()).normalize(k) for k in doc.keywords],
        "field_codes": list(doc.expanded_field_codes),
        "trl": doc.trl,
        "trade_modes": list(doc.trade_modes),
        "ip_types": list(doc.ip_types),
        "price_min_fen": low,
        "price_max_fen": high,
        "region_prefixes": list(doc.region_prefixes),
        "region": doc.province,
        "holder": doc.holder_id,
        "state_funded": doc.state_funded,
        "has_auction": doc.has_auction,
        "published_at": doc.published_ts,
        "fingerprint": doc.fingerprint,
        "doc": doc.as_json(with_description=False),
    }


def meili_settings(settings: IndexSettings) -> dict[str, Any]:
    """Index settings in Meilisearch's shape (camelCase keys, as the HTTP API takes them)."""
    synonyms: dict[str, list[str]] = {}
    for group in settings.synonyms:
        for term in group:
            synonyms.setdefault(term, [])
            synonyms[term].extend(t for t in group if t != term and t not in synonyms[term])
    return {
        "searchableAttributes": list(SEARCHABLE),
        "displayedAttributes": ["id", "doc", "fingerprint"],
        "filterableAttributes": list(FILTERABLE),
        "sortableAttributes": list(SORTABLE),
        "rankingRules": list(RANKING_RULES),
        "stopWords": sorted(STOPWORDS),
        "synonyms": synonyms,
        "typoTolerance": {
            "enabled": True,
            "minWordSizeForTypos": {"oneTypo": settings.typo_min_one, "twoTypos": settings.typo_min_two},
            "disableOnNumbers": True,
        },
        "pagination": {"maxTotalHits": settings.max_total_hits},
        "faceting": {"maxValuesPerFacet": settings.max_facet_values, "sortFacetValuesBy": {"*": "count"}},
        # Tokens of a field are a bag (words, their parts and characters), so word distance means little.
        "proximityPrecision": "byAttribute",
        "localizedAttributes": [{"attributePatterns": ["t_*"], "locales": ["cmn"]}],
    }


def meili_filter(query: SearchQuery) -> list[str | list[str]]:
    """A Meilisearch filter (AND of the items; an inner list is an OR) for the query's filters."""
    f = query.filters
    out: list[str | list[str]] = []
    for attribute, values in (("field_codes", f.field_codes), ("trade_modes", f.trade_modes), ("ip_types", f.ip_types)):
        if values:
            out.append([f"{attribute} = {_quoted(v)}" for v in values])
    if f.trl_min is not None:
        out.append(f"trl >= {int(f.trl_min)}")
    if f.trl_max is not None:
        out.append(f"trl <= {int(f.trl_max)}")
    if f.price_min_fen is not None:
        out.append(f"price_max_fen >= {int(f.price_min_fen)}")
    if f.price_max_fen is not None:
        out.append(f"price_min_fen <= {int(f.price_max_fen)}")
    if f.region_prefix is not None:
        out.append(f"region_prefixes = {_quoted(f.region_prefix)}")
    if f.holder_id is not None:
        out.append(f"holder = {_quoted(f.holder_id)}")
    if f.state_funded is not None:
        out.append(f"state_funded = {'true' if f.state_funded else 'false'}")
    if f.has_auction is not None:
        out.append(f"has_auction = {'true' if f.has_auction else 'false'}")
    return out


def meili_sort(sort: SortOrder, *, browsing: bool) -> list[str] | None:
    """Sort parameter: none for relevance (ranking rules decide), newest first when browsing."""
    if sort is SortOrder.relevance and browsing:
        sort = SortOrder.newest
    return _SORTS[sort] or None


class MeilisearchBackend:
    """Search on Meilisearch; every write waits for its task, so a finished job means an indexed document."""

    engine = "meilisearch"

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "",
        settings: Mapping[str, IndexSettings] | None = None,
        analyzer: Analyzer | None = None,
        task_timeout_ms: int = 60_000,
    ) -> None:
        """Use an AsyncClient; index uids are prefix + logical name."""
        self.client = client
        self.prefix = prefix
        self.settings = dict(settings or {})
        self.analyzer = analyzer or get_default_analyzer()
        self.task_timeout_ms = task_timeout_ms

    @classmethod
    def connect(cls, url: str, *, api_key: str | None = None, timeout: int = 10, **options: Any) -> MeilisearchBackend:
        """A backend with its own client for the server at url."""
        from meilisearch_python_sdk import AsyncClient

        return cls(AsyncClient(url, api_key, timeout=timeout), **options)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    def uid(self, index: str) -> str:
        """The Meilisearch index uid of a logical index."""
        return f"{self.prefix}{index}"

    async def _call(self, work: Any) -> Any:
        from meilisearch_python_sdk.errors import (
            MeilisearchApiError,
            MeilisearchCommunicationError,
            MeilisearchError,
            MeilisearchTimeoutError,
        )

        try:
            return await work
        except (MeilisearchCommunicationError, MeilisearchTimeoutError) as exc:
            raise SearchUnavailable(f"meilisearch did not answer: {exc}") from exc
        except MeilisearchApiError as exc:
            raise SearchError(f"meilisearch refused the request: {exc}") from exc
        except MeilisearchError as exc:
            raise SearchUnavailable(f"meilisearch failed: {exc}") from exc

    async def _wait(self, task: Any) -> None:
        await self._call(
            self.client.wait_for_task(task.task_uid, timeout_in_ms=self.task_timeout_ms, raise_for_status=True)
        )

    async def apply_settings(self, settings: IndexSettings) -> None:
        """Create the index if needed, then send every setting and wait until they are in force."""
        from meilisearch_python_sdk.models.settings import MeilisearchSettings

        self.settings[settings.name] = settings
        index = await self._call(self.client.get_or_create_index(self.uid(settings.name), primary_key="id"))
        body = MeilisearchSettings.model_validate(meili_settings(settings))
        await self._wait(await self._call(index.update_settings(body)))

    def prepare(self, index: str, documents: Sequence[SearchDocument]) -> list[dict[str, Any]]:
        """Pre-tokenise documents into Meilisearch's form (CPU only)."""
        latest = {d.id: d for d in documents}
        return [meili_document(d, self.analyzer) for d in latest.values()]

    async def send(self, index: str, body: list[dict[str, Any]]) -> Any:
        """Enqueue prepared documents; returns the task (wait for it with wait())."""
        return await self._call(self.client.index(self.uid(index)).add_documents(body, primary_key="id"))

    async def wait(self, task: Any) -> None:
        """Wait until a task is applied (raises if it failed)."""
        await self._wait(task)

    async def upsert(self, index: str, documents: Sequence[SearchDocument]) -> None:
        """Add or replace documents (pre-tokenised here) and wait for the task."""
        if documents:
            await self._wait(await self.send(index, self.prepare(index, documents)))

    async def delete(self, index: str, ids: Sequence[str]) -> None:
        """Delete documents by id and wait for the task."""
        if ids:
            task = await self._call(self.client.index(self.uid(index)).delete_documents(sorted(set(ids))))
            await self._wait(task)

    async def clear(self, index: str) -> None:
        """Delete every document and wait for the task."""
        await self._wait(await self._call(self.client.index(self.uid(index)).delete_all_documents()))

    async def refresh_statistics(self, index: str) -> None:
        """Nothing to do: Meilisearch keeps its own statistics."""

    async def version(self, index: str) -> int | None:
        """None: Meilisearch applies writes asynchronously, so answers here are never cached."""
        return None

    async def count(self, index: str) -> int:
        """Documents in the index (0 if it does not exist yet)."""
        try:
            stats = await self._call(self.client.index(self.uid(index)).get_stats())
        except SearchError as exc:
            if "index_not_found" in str(exc):
                return 0
            raise
        return int(stats.number_of_documents)

    async def fingerprints(self, index: str) -> AsyncIterator[tuple[str, str]]:  # type: ignore[override]
        """Every (id, fingerprint) of the index, page by page."""
        offset = 0
        while True:
            page = await self._call(
                self.client.index(self.uid(index)).get_documents(
                    offset=offset, limit=1000, fields=["id", "fingerprint"]
                )
            )
            for row in page.results:
                yield str(row["id"]), str(row.get("fingerprint") or "")
            offset += len(page.results)
            if not page.results or offset >= page.total:
                return

    async def health(self) -> BackendHealth:
        """Whether the server answers, with document counts of the known indexes."""
        try:
            status = await self._call(self.client.health())
            counts = {name: await self.count(name) for name in self.settings}
        except SearchError as exc:
            return BackendHealth(engine=self.engine, ok=False, detail=str(exc))
        return BackendHealth(engine=self.engine, ok=status.status == "available", documents=counts)

    async def search(self, index: str, query: SearchQuery) -> SearchResult:
        """One search request: query text as our tokens, filters, facets, sort and page."""
        started = time.perf_counter()
        settings = self.settings.get(index) or IndexSettings(name=index)
        prepared = prepare_query(
            query.text,
            self.analyzer,
            prefix=query.prefix,
            typo_min_one=settings.typo_min_one,
            typo_min_two=settings.typo_min_two,
        )
        words = [w for w in prepared.words if w not in STOPWORDS][:64] or list(prepared.words[:64])
        text = " ".join(words)
        if text and not (query.prefix and ends_in_word(query.text)):
            text += " "  # a trailing space tells Meilisearch the last word is complete
        facets = [FACET_ATTRIBUTES[f] for f in query.facets]
        if facets:
            facets += ["price_min_fen", "price_max_fen"]
        try:
            found = await self._call(
                self.client.index(self.uid(index)).search(
                    text or None,
                    filter=meili_filter(query) or None,
                    facets=facets or None,
                    sort=meili_sort(query.sort, browsing=prepared.is_empty),
                    page=query.page,
                    hits_per_page=query.per_page,
                    matching_strategy="frequency",
                    attributes_to_retrieve=["id", "doc"],
                    show_ranking_score=True,
                    locales=["cmn"],
                )
            )
        except SearchError as exc:
            if "index_not_found" in str(exc):
                return SearchResult(hits=(), total=0, page=query.page, per_page=query.per_page)
            raise
        highlighter = query_highlighter(prepared) if query.highlight and not prepared.is_empty else None
        hits = []
        for raw in found.hits:
            document = SearchDocument.from_json(raw["doc"])
            score = raw.get("_rankingScore") if query.sort is SortOrder.relevance and not prepared.is_empty else None
            hits.append(
                SearchHit(
                    document=document,
                    score=float(score) if score is not None else None,
                    highlights=document_highlights(document, highlighter) if highlighter else {},
                )
            )
        distribution = found.facet_distribution or {}
        counts: dict[Facet, tuple[FacetCount, ...]] = {}
        for facet in query.facets:
            values = distribution.get(FACET_ATTRIBUTES[facet], {}) or {}
            ordered = sorted((FacetCount(str(v), int(c)) for v, c in values.items()), key=lambda f: (-f.count, f.value))
            counts[facet] = tuple(ordered[: settings.max_facet_values])
        stats = found.facet_stats or {}
        low = (stats.get("price_min_fen") or {}).get("min")
        high = (stats.get("price_max_fen") or {}).get("max")
        return SearchResult(
            hits=tuple(hits),
            total=int(found.total_hits or 0),
            page=query.page,
            per_page=query.per_page,
            facets=counts,
            price_stats=PriceStats(int(low), int(high)) if facets and low is not None and high is not None else None,
            terms=tuple(g.text for g in prepared.groups),
            took_ms=(time.perf_counter() - started) * 1000,
        )

    async def suggest(self, index: str, text_: str, *, limit: int = 8) -> list[Suggestion]:
        """Keyword completions (facet search on keywords), then the best matching titles."""
        prepared = prepare_query(text_, self.analyzer, prefix=True)
        if prepared.is_empty:
            return []
        out: list[Suggestion] = []
        last = prepared.words[-1] if prepared.words else ""
        if last and prepared.text.endswith(last):
            try:
                found = await self._call(
                    self.client.index(self.uid(index)).facet_search(
                        facet_name="keywords", facet_query=last, limit=max(1, limit // 2)
                    )
                )
                head = prepared.text[: len(prepared.text) - len(last)]
                for hit in found.facet_hits[: max(1, limit // 2)]:
                    if hit.value != last:
                        out.append(Suggestion(text=head + hit.value, kind="term"))
            except SearchError:
                pass  # facet search is an extra: titles still come
        result = await self.search(index, SearchQuery(text=text_, per_page=max(1, limit - len(out)), prefix=True))
        for hit in result.hits:
            out.append(
                Suggestion(text=hit.document.title, kind="title", id=hit.id, highlighted=hit.highlights.get("title"))
            )
        return out[:limit]
