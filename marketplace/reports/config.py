"""The dashboard's session settings, from DASHBOARD_* environment variables."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DashboardSettings(BaseSettings):
    """The secret that signs dashboard session cookies and how long a session lasts."""

    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", extra="ignore", frozen=True, env_ignore_empty=True)

    # A random per-process default: sessions then end with the process and cannot be shared by replicas.
    secret: SecretStr = Field(
        default_factory=lambda: SecretStr(secrets.token_urlsafe(32)),
        min_length=16,
        description="HMAC key of dashboard session tokens (DASHBOARD_SECRET).",
    )
    session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60, description="Lifetime of a dashboard session.")


@lru_cache
def dashboard_settings() -> DashboardSettings:
    """The settings, read once per process."""
    return DashboardSettings()
