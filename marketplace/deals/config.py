"""The deal process's periods and limits, from DEALS_* environment variables."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from marketplace.kit.workdays import WorkCalendar


class DealsSettings(BaseSettings):
    """Every period the deal process uses; each maps to DEALS_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="DEALS_", extra="ignore", frozen=True, env_ignore_empty=True)

    notice_days: int = Field(
        default=15, ge=15, le=365, description="Length of a public notice (公示), at least 15 days."
    )
    confirmation_workdays: int = Field(
        default=5, ge=1, le=60, description="Working days an auction winner has to confirm the contract."
    )
    review_days: int = Field(default=7, ge=1, le=90, description="Days a buyer has to accept or dispute a delivery.")
    milestone_reminder_days: int = Field(
        default=3,
        ge=0,
        le=60,
        description="Both parties are told this many days before a milestone's due date (0: never).",
    )
    idle_days: int = Field(default=30, ge=1, le=365, description="Days without activity after which a deal expires.")
    offer_default_hours: int = Field(default=168, ge=1, le=24 * 90, description="Validity of an offer without expiry.")
    offer_max_days: int = Field(default=90, ge=1, le=365, description="Longest validity an offer may have.")
    auction_extension_minutes: int = Field(
        default=5, ge=0, le=60, description="A bid this close to the end moves the end to this long after it."
    )
    auction_closing_soon_minutes: int = Field(
        default=60, ge=0, le=24 * 60, description="Bidders are told this long before an auction's end (0: never)."
    )
    auction_min_minutes: int = Field(default=10, ge=1, description="Shortest bidding window.")
    auction_max_days: int = Field(default=60, ge=1, description="Longest bidding window.")
    auction_payment_days: int = Field(default=30, ge=1, description="Due date of an auction price after the award.")
    holidays: list[date] = Field(default_factory=list, description="Public holidays (JSON list of dates).")
    makeup_workdays: list[date] = Field(
        default_factory=list, description="Weekend days worked instead (调休), JSON list of dates."
    )

    @property
    def calendar(self) -> WorkCalendar:
        """The working-day calendar for confirmation deadlines."""
        return WorkCalendar.of(holidays=self.holidays, makeup_workdays=self.makeup_workdays)


_override: DealsSettings | None = None


@lru_cache(maxsize=1)
def _from_environment() -> DealsSettings:
    return DealsSettings()


def deals_settings() -> DealsSettings:
    """The settings in force (an override set by use_deals_settings, else the environment's)."""
    return _override if _override is not None else _from_environment()


def use_deals_settings(settings: DealsSettings | None) -> None:
    """Put other settings in force (tests); None goes back to the environment's."""
    global _override
    _override = settings
