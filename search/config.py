"""Search settings from the environment: which engine runs, and how to reach Meilisearch."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["SearchSettings", "get_search_settings"]


class SearchSettings(BaseSettings):
    """MEILISEARCH_URL set: search runs on Meilisearch; unset: on PostgreSQL (the default)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    meilisearch_url: str | None = Field(
        default=None, description="Meilisearch URL (http://host:7700). Unset: search runs on PostgreSQL."
    )
    meilisearch_api_key: SecretStr | None = Field(default=None, description="Meilisearch API key, if it needs one.")
    meilisearch_index_prefix: str = Field(
        default="marketplace_",
        pattern=r"^[A-Za-z0-9_-]{0,40}$",
        description="Prefix of the Meilisearch index uids (several deployments can share one server).",
    )
    meilisearch_timeout_seconds: int = Field(default=10, ge=1, le=300, description="HTTP timeout per request.")
    meilisearch_task_timeout_seconds: int = Field(
        default=120, ge=1, le=3600, description="How long a write waits for Meilisearch to apply it."
    )

    search_result_cache_size: int = Field(
        default=1000,
        ge=0,
        le=100_000,
        description=(
            "Search results each server process keeps (PostgreSQL engine; 0: none). A result is reused only"
            " while its index has not changed, so answers are never staler than the index."
        ),
    )
    search_result_cache_seconds: float = Field(
        default=300.0, gt=0, le=86_400, description="How long a cached search result may be reused at most."
    )

    search_memory: bool = Field(
        default=True,
        description=(
            "PostgreSQL engine: keep a copy of each big index in every server process's memory and answer"
            " searches from it while it is as new as the index (else the SQL statement answers)."
        ),
    )
    search_memory_min_documents: int = Field(
        default=20_000, ge=0, description="Indexes smaller than this are always searched with SQL statements."
    )
    search_memory_refresh_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description=(
            "After the index changes, the in-memory copy is brought up to date at most once per this many"
            " seconds (from the rows written since it was loaded: ≈0.2 s for a few changes in 100,000)."
        ),
    )

    @property
    def engine(self) -> str:
        """The engine these settings select: "meilisearch" or "postgres"."""
        return "meilisearch" if self.meilisearch_url else "postgres"


@lru_cache(maxsize=1)
def get_search_settings() -> SearchSettings:
    """The process-wide search settings, read once."""
    return SearchSettings()
