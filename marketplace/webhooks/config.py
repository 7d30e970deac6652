"""Settings of the webhooks domain, read from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    """How outbound webhooks are sent; each field maps to the environment variable of the same name."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    webhooks_allow_private_urls: bool = Field(
        default=False,
        description="Allow endpoint URLs on loopback, private, link-local and other non-public addresses "
        "(development and tests only).",
    )
    webhooks_timeout_seconds: float = Field(
        default=10.0, gt=0, le=60, description="How long one delivery attempt may take, connecting included."
    )
    webhooks_feed_settle_seconds: float = Field(
        default=2.0,
        ge=0,
        le=60,
        description="The events feed shows events this old or older, so that a transaction committing late "
        "cannot slip an event in behind a client's cursor.",
    )


@lru_cache(maxsize=1)
def get_webhook_settings() -> WebhookSettings:
    """The process-wide webhook settings, read once (tests clear the cache after changing the environment)."""
    return WebhookSettings()
