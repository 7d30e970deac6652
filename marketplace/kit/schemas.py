"""Base classes for request and response shapes (never the table models themselves)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputSchema(BaseModel):
    """A request body: unknown fields are rejected, so nothing can be mass-assigned."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputSchema(BaseModel):
    """A response body, built from a model's attributes."""

    model_config = ConfigDict(from_attributes=True)
