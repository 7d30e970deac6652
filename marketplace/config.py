"""Settings from the environment, in one place."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting the service reads; each maps to an environment variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, env_ignore_empty=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (15+). Unset: an embedded server in MARKETPLACE_DATA_DIR.",
    )
    database_read_url: str | None = Field(
        default=None,
        description="Optional read replica for read-only routes (search, public detail, reports).",
    )
    marketplace_data_dir: Path = Field(
        default=Path(".marketplace"), description="Data folder for the embedded PostgreSQL and local files."
    )
    marketplace_env: str = Field(default="development", description="development, test or production.")
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections kept per API process.")
    db_max_overflow: int = Field(default=10, ge=0, le=200, description="Extra connections under load.")
    db_statement_timeout_ms: int = Field(default=15_000, ge=100, description="Per-statement timeout.")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="Largest accepted request body.")
    log_level: str = Field(default="INFO", description="Root log level.")
    log_json: bool = Field(default=True, description="JSON logs (true) or console-friendly lines (false).")
    api_key_touch_seconds: int = Field(
        default=60,
        ge=0,
        description="How stale an API key's last-used time may get before it is written again.",
    )
    auth_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long an API key lookup is cached per process; bounds how late another process "
        "sees a revocation. 0 disables the cache.",
    )
    idempotency_ttl_hours: int = Field(default=24, ge=1, description="How long Idempotency-Key results replay.")
    cors_origins: list[str] = Field(default_factory=list, description="Allowed CORS origins; empty: CORS off.")
    rate_limit_enabled: bool = Field(default=True, description="Answer 429 to callers over their request budget.")
    rate_limit_store: Literal["memory", "postgres", "redis"] = Field(
        default="memory",
        description="Where request counts live: memory (one process), postgres (shared by every API process, "
        "the service's own database) or redis (RATE_LIMIT_REDIS_URL; needs the redis package).",
    )
    rate_limit_window_seconds: int = Field(default=60, ge=1, le=86_400, description="Length of one rate-limit window.")
    rate_limit_key_requests: int = Field(
        default=600, ge=1, description="Requests per window for one API key (Authorization: Bearer)."
    )
    rate_limit_anonymous_requests: int = Field(
        default=120, ge=1, description="Requests per window for one client address without an API key."
    )
    rate_limit_auth_failures: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins (unknown key, bad dashboard key) per window from one client address before "
        "requests carrying a key are refused with 429.",
    )
    rate_limit_redis_url: str = Field(
        default="redis://127.0.0.1:6379/0", description="Redis for RATE_LIMIT_STORE=redis."
    )
    max_query_string_bytes: int = Field(
        default=16_384, ge=256, description="Longest accepted query string (URL part after ?); longer is a 400."
    )
    hsts_seconds: int = Field(
        default=0,
        ge=0,
        description="Strict-Transport-Security max-age to send (only behind HTTPS); 0 sends none.",
    )

    @property
    def embedded(self) -> bool:
        """Whether the service runs its own embedded PostgreSQL."""
        return self.database_url is None

    @property
    def async_read_url(self) -> str | None:
        """The read replica's URL in SQLAlchemy's asyncpg form, if one is configured."""
        return to_asyncpg_url(self.database_read_url) if self.database_read_url else None

    @property
    def async_database_url(self) -> str:
        """The database URL in SQLAlchemy's asyncpg form."""
        if self.database_url is None:
            raise RuntimeError("no database URL: start the embedded server first")
        return to_asyncpg_url(self.database_url)


def to_asyncpg_url(url: str) -> str:
    """Turn any postgres:// or postgresql:// URL into the postgresql+asyncpg:// form."""
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url.split('://', 1)[0]}://…")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
