"""Picks the engine and hands out backends: the one place that knows which engine runs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from search.backend import SearchBackend
from search.config import SearchSettings, get_search_settings
from search.memory import MemoryIndexes
from search.model import IndexSettings, SearchDocument
from search.postgres import PostgresSearchBackend, ResultCache, TermCache
from search.settings import INDEXES, index_settings
from search.text import Analyzer, get_default_analyzer

__all__ = ["SearchEngine", "get_search_engine", "set_search_engine"]


class SearchEngine:
    """Process-wide: the configured engine's settings and shared state (Meilisearch client, term cache).

    `results` is the process's cache of answers by (index, version, query), for callers that check
    the index version (`SearchBackend.version`) before they search.
    """

    def __init__(self, settings: SearchSettings | None = None, *, analyzer: Analyzer | None = None) -> None:
        """Configure from settings (default: the environment)."""
        self.settings = settings or get_search_settings()
        self.analyzer = analyzer or get_default_analyzer()
        self.indexes: dict[str, IndexSettings] = {name: index_settings(name, self.analyzer) for name in INDEXES}
        self.cache = TermCache()
        self.results = ResultCache(
            self.settings.search_result_cache_size, ttl=self.settings.search_result_cache_seconds
        )
        self.memory = (
            MemoryIndexes(
                min_documents=self.settings.search_memory_min_documents,
                refresh_seconds=self.settings.search_memory_refresh_seconds,
            )
            if self.settings.search_memory and not self.settings.meilisearch_url
            else None
        )
        self._meili: SearchBackend | None = None

    @property
    def name(self) -> str:
        """ "postgres" or "meilisearch"."""
        return self.settings.engine

    def backend(self, db: AsyncSession | AsyncConnection) -> SearchBackend:
        """A backend for this unit of work: PostgreSQL joins db's transaction; Meilisearch ignores db."""
        if self.settings.meilisearch_url:
            if self._meili is None:
                from search.meili import MeilisearchBackend

                key = self.settings.meilisearch_api_key
                self._meili = MeilisearchBackend.connect(
                    self.settings.meilisearch_url,
                    api_key=key.get_secret_value() if key else None,
                    timeout=self.settings.meilisearch_timeout_seconds,
                    prefix=self.settings.meilisearch_index_prefix,
                    settings=self.indexes,
                    analyzer=self.analyzer,
                    task_timeout_ms=self.settings.meilisearch_task_timeout_seconds * 1000,
                )
            return self._meili
        return PostgresSearchBackend(
            db, settings=self.indexes, analyzer=self.analyzer, cache=self.cache, memory=self.memory
        )

    async def bulk_upsert(
        self,
        index: str,
        batches: AsyncIterator[Sequence[SearchDocument]],
        *,
        transaction: Callable[[], AbstractAsyncContextManager[AsyncSession]],
        on_written: Callable[[int], Any] | None = None,
    ) -> int:
        """Index many batches fast: each is analysed in a worker thread while the previous one is written.

        `transaction()` opens a session inside a transaction; each PostgreSQL batch commits on its own.
        Reading the next batch never overlaps a write, so one connection may serve both. Meilisearch
        batches are enqueued back to back and waited for at the end. Returns how many were written.
        """
        written = 0
        previous: Any = None
        tasks: list[Any] = []

        async def write_postgres(prepared: Any) -> None:
            nonlocal written
            if prepared is None:
                return
            async with transaction() as session:
                backend = self.backend(session)
                assert isinstance(backend, PostgresSearchBackend)
                await backend.write(prepared)
            written += len(prepared.rows)
            if on_written:
                on_written(written)

        async for docs in batches:
            if not docs:
                continue
            if self.settings.meilisearch_url:
                from search.meili import MeilisearchBackend

                meili = self.backend(None)  # type: ignore[arg-type]
                assert isinstance(meili, MeilisearchBackend)
                body = await asyncio.to_thread(meili.prepare, index, docs)
                tasks.append(await meili.send(index, body))
                written += len(body)
                if on_written:
                    on_written(written)
                continue
            preparer = PostgresSearchBackend(None, settings=self.indexes, analyzer=self.analyzer, cache=self.cache)  # type: ignore[arg-type]
            prepared, _ = await asyncio.gather(
                asyncio.to_thread(preparer.prepare, index, docs), write_postgres(previous)
            )
            previous = prepared
        await write_postgres(previous)
        if tasks:
            meili = self.backend(None)  # type: ignore[arg-type]
            for task in tasks:
                await meili.wait(task)  # type: ignore[attr-defined]
        return written

    def warm(self, engine: AsyncEngine) -> None:
        """At server start: begin loading the in-memory copies of big indexes (PostgreSQL engine) in the background."""
        if self.memory is not None:
            for index in INDEXES:
                self.memory.refresh_soon(index, engine)

    def status(self) -> dict[str, Any]:
        """What /ready shows about search: the engine, and the index versions held in memory."""
        out: dict[str, Any] = {"engine": self.name}
        if self.memory is not None:
            out["in_memory"] = self.memory.status()
        return out

    async def aclose(self) -> None:
        """Stop background loads and release the Meilisearch client, if one was opened."""
        if self.memory is not None:
            await self.memory.aclose()
        meili, self._meili = self._meili, None
        if meili is not None:
            await meili.aclose()  # type: ignore[attr-defined]


_engine: SearchEngine | None = None


def get_search_engine() -> SearchEngine:
    """The process-wide engine, built from the environment on first use."""
    global _engine
    if _engine is None:
        _engine = SearchEngine()
    return _engine


def set_search_engine(engine: SearchEngine | None) -> None:
    """Replace the process-wide engine (None: rebuild from the environment on next use)."""
    global _engine
    _engine = engine
