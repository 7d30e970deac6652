"""Search engines behind one protocol (PostgreSQL by default, Meilisearch at scale), Chinese-first text analysis.

Callers use `get_search_engine().backend(session)` and the typed objects of `search.model`; only
`search.engine` knows which engine runs (MEILISEARCH_URL set: Meilisearch; unset: PostgreSQL).
"""

from search.backend import SearchBackend
from search.engine import SearchEngine, get_search_engine, set_search_engine
from search.model import (
    BackendHealth,
    Facet,
    FacetCount,
    IndexSettings,
    InvalidSearchQuery,
    PriceStats,
    SearchDocument,
    SearchError,
    SearchFilters,
    SearchHit,
    SearchQuery,
    SearchResult,
    SearchUnavailable,
    SortOrder,
    Suggestion,
)

__all__ = [
    "BackendHealth",
    "Facet",
    "FacetCount",
    "IndexSettings",
    "InvalidSearchQuery",
    "PriceStats",
    "SearchBackend",
    "SearchDocument",
    "SearchEngine",
    "SearchError",
    "SearchFilters",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "SearchUnavailable",
    "SortOrder",
    "Suggestion",
    "get_search_engine",
    "set_search_engine",
]
