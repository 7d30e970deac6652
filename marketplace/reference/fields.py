"""Technology fields: China's strategic emerging industries classification (2018)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "FieldCode",
    "all_fields",
    "children",
    "get_field",
    "is_valid_field",
    "top_level",
    "top_level_fields",
]


@dataclass(frozen=True, slots=True)
class FieldCode:
    """One category of the classification: a top-level code ("1") or a second-level one ("1.5")."""

    code: str
    parent: str | None
    name_zh: str
    name_en: str

    @property
    def is_top_level(self) -> bool:
        """Whether this is one of the nine top-level categories."""
        return self.parent is None


@dataclass(frozen=True, slots=True)
class _Catalogue:
    """The loaded classification, in file order and indexed by code."""

    ordered: tuple[FieldCode, ...]
    by_code: MappingProxyType[str, FieldCode]


@cache
def _catalogue() -> _Catalogue:
    """Load and index the bundled JSON once per process."""
    raw: dict[str, Any] = json.loads(
        resources.files("marketplace.reference").joinpath("data/sei_2018.json").read_text(encoding="utf-8")
    )
    ordered = tuple(
        FieldCode(code=e["code"], parent=e["parent"], name_zh=e["name_zh"], name_en=e["name_en"]) for e in raw["fields"]
    )
    return _Catalogue(ordered=ordered, by_code=MappingProxyType({f.code: f for f in ordered}))


def all_fields() -> tuple[FieldCode, ...]:
    """Every category, top-level ones each followed by their second-level codes."""
    return _catalogue().ordered


def top_level_fields() -> tuple[FieldCode, ...]:
    """The nine top-level categories in code order."""
    return tuple(f for f in _catalogue().ordered if f.parent is None)


def get_field(code: str) -> FieldCode | None:
    """The category with this code, or None when the code is unknown."""
    if not isinstance(code, str):
        return None
    return _catalogue().by_code.get(code.strip())


def is_valid_field(code: str) -> bool:
    """Whether the code is a known top-level or second-level category."""
    return get_field(code) is not None


def top_level(code: str) -> FieldCode:
    """The top-level category a known code belongs to (itself for a top-level code)."""
    field = get_field(code)
    if field is None:
        raise ValueError(f"unknown field code {code!r}")
    if field.parent is None:
        return field
    return _catalogue().by_code[field.parent]


def children(code: str) -> tuple[FieldCode, ...]:
    """The second-level categories under a top-level code (empty for second-level codes)."""
    field = get_field(code)
    if field is None:
        raise ValueError(f"unknown field code {code!r}")
    return tuple(f for f in _catalogue().ordered if f.parent == field.code)
