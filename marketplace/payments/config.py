"""Payments settings from the environment."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentsSettings(BaseSettings):
    """Provider settings; the offline provider needs only the bank account shown in payment instructions."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True, env_ignore_empty=True)

    payments_bank_account: str | None = Field(
        default=None, description="The platform's collection account shown in offline payment instructions."
    )
    stripe_api_key: str | None = Field(default=None, description="Stripe secret key; set: the stripe provider is on.")
    stripe_webhook_secret: str | None = Field(default=None, description="Signing secret of the Stripe webhook.")
    stripe_webhook_tolerance_seconds: int = Field(
        default=300, ge=1, le=3600, description="Oldest Stripe webhook signature accepted."
    )
    stripe_api_base: str | None = Field(default=None, description="Another Stripe API base URL (tests).")


_override: PaymentsSettings | None = None


@lru_cache(maxsize=1)
def _from_environment() -> PaymentsSettings:
    return PaymentsSettings()


def payments_settings() -> PaymentsSettings:
    """The settings in force."""
    return _override if _override is not None else _from_environment()


def use_payments_settings(settings: PaymentsSettings | None) -> None:
    """Put other settings in force (tests); None goes back to the environment's."""
    global _override
    _override = settings
