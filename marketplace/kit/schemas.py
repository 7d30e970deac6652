"""Base classes for request and response shapes (never the table models themselves)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, field_validator


def _not_a_boolean(value: Any) -> Any:
    # Pydantic's lax mode reads true/false as 1/0: a count or an amount of money is never a boolean.
    if isinstance(value, bool):
        raise ValueError("must be a whole number, not true or false")
    return value


NOT_BOOLEAN = BeforeValidator(_not_a_boolean)
"""Add to Annotated integers of request bodies (amounts, levels): refuses JSON true/false with a 422."""


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set | frozenset):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class InputSchema(BaseModel):
    """A request body: unknown fields are rejected, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold U+0000: refuse it here, naming the field, rather than fail in the database.
        if _has_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


class OutputSchema(BaseModel):
    """A response body, built from a model's attributes."""

    model_config = ConfigDict(from_attributes=True)
