"""The one port every search engine implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, runtime_checkable

from search.model import BackendHealth, IndexSettings, SearchDocument, SearchQuery, SearchResult, Suggestion

__all__ = ["SearchBackend"]


@runtime_checkable
class SearchBackend(Protocol):
    """A search engine: settings, document writes, search, suggestions, counts and health.

    Index names are logical ("listings", "demands"); an engine maps them to its own storage. Writes are
    idempotent (upserting the same document twice, or deleting a missing one, is fine), so jobs that
    call them may be retried.
    """

    engine: str
    """Which engine this is ("postgres", "meilisearch"): for logs and health only."""

    async def apply_settings(self, settings: IndexSettings) -> None:
        """Create the index if needed and make it behave as the settings say."""
        ...

    async def upsert(self, index: str, documents: Sequence[SearchDocument]) -> None:
        """Add or replace documents by id."""
        ...

    async def delete(self, index: str, ids: Sequence[str]) -> None:
        """Remove documents by id (missing ones are ignored)."""
        ...

    async def clear(self, index: str) -> None:
        """Remove every document of the index."""
        ...

    async def search(self, index: str, query: SearchQuery) -> SearchResult:
        """Run a query: hits of the requested page, the total, and the requested facets."""
        ...

    async def suggest(self, index: str, text: str, *, limit: int = 8) -> list[Suggestion]:
        """As-you-type suggestions for partial input: completions of the last word, then titles."""
        ...

    async def version(self, index: str) -> int | None:
        """A token that changes whenever the index changes (so answers can be cached), or None: cannot tell."""
        ...

    async def count(self, index: str) -> int:
        """How many documents the index holds."""
        ...

    def fingerprints(self, index: str) -> AsyncIterator[tuple[str, str]]:
        """Every (document id, fingerprint) the index holds, to compare with the database."""
        ...

    async def refresh_statistics(self, index: str) -> None:
        """Recompute what ranking derives from the whole index (term frequencies); may be a no-op."""
        ...

    async def health(self) -> BackendHealth:
        """Whether the engine answers, with document counts per index."""
        ...
