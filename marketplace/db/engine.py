"""The async engine and session factory; one engine per process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from marketplace.config import Settings


def make_engine(settings: Settings, *, url: str | None = None) -> AsyncEngine:
    """An asyncpg engine with the pool and statement timeout from the settings."""
    return create_async_engine(
        url or settings.async_database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        pool_recycle=1800,
        hide_parameters=True,  # statement parameters (key hashes, webhook secrets, personal data) stay out of errors
        connect_args={
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                "application_name": "marketplace",
                "timezone": "UTC",
            },
        },
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
