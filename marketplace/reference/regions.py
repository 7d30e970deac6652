"""China's administrative division codes (GB/T 2260), down to prefecture level."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "MUNICIPALITIES",
    "Region",
    "RegionLevel",
    "all_regions",
    "get_region",
    "is_valid_region",
    "prefectures",
    "provinces",
    "region_name",
    "region_prefix",
]

RegionLevel = Literal["province", "prefecture"]

# Beijing, Tianjin, Shanghai, Chongqing: their "prefectures" are the 市辖区/县 groupings.
MUNICIPALITIES: frozenset[str] = frozenset({"11", "12", "31", "50"})

# Grouping names that stand in for a prefecture and add nothing to a display name.
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县"})

_CODE_RE = re.compile(r"[0-9]{6}")


@dataclass(frozen=True, slots=True)
class Region:
    """A provincial-level or prefecture-level division."""

    code: str
    name_zh: str
    level: RegionLevel
    parent: str | None


@dataclass(frozen=True, slots=True)
class _Catalogue:
    """The loaded divisions, in file order and indexed by code."""

    ordered: tuple[Region, ...]
    by_code: MappingProxyType[str, Region]
    # 4-digit prefixes of the 省直辖县级行政区划 groupings, whose county codes are valid
    # although the grouping itself is not a place.
    county_group_prefixes: frozenset[str]


@cache
def _catalogue() -> _Catalogue:
    """Load and index the bundled JSON once per process."""
    raw: dict[str, Any] = json.loads(
        resources.files("marketplace.reference").joinpath("data/regions.json").read_text(encoding="utf-8")
    )
    ordered: list[Region] = [
        Region(code=e["code"], name_zh=e["name_zh"], level="province", parent=None) for e in raw["provinces"]
    ]
    ordered += [
        Region(code=e["code"], name_zh=e["name_zh"], level="prefecture", parent=e["parent"]) for e in raw["prefectures"]
    ]
    groups = frozenset(e["code"][:4] for e in raw["county_groups"])
    return _Catalogue(
        ordered=tuple(ordered),
        by_code=MappingProxyType({r.code: r for r in ordered}),
        county_group_prefixes=groups,
    )


def _well_formed(code: object) -> bool:
    """Whether the value is a string of exactly six ASCII digits."""
    return isinstance(code, str) and _CODE_RE.fullmatch(code) is not None


def all_regions() -> tuple[Region, ...]:
    """Every shipped division: the 34 provincial-level ones, then the prefectures."""
    return _catalogue().ordered


def provinces() -> tuple[Region, ...]:
    """The 34 provincial-level divisions."""
    return tuple(r for r in _catalogue().ordered if r.level == "province")


def prefectures(province_code: str | None = None) -> tuple[Region, ...]:
    """Prefecture-level divisions, optionally only those of one province."""
    return tuple(
        r
        for r in _catalogue().ordered
        if r.level == "prefecture" and (province_code is None or r.parent == province_code)
    )


def get_region(code: str) -> Region | None:
    """The shipped province or prefecture with this code; None otherwise (counties are not shipped)."""
    if not _well_formed(code):
        return None
    return _catalogue().by_code.get(code)


def _is_valid_county(code: str) -> bool:
    """Whether a county-level code sits under a known prefecture or grouping."""
    cat = _catalogue()
    province, prefecture, county = code[:2], code[2:4], code[4:]
    if county == "00" or prefecture == "00":
        return False
    if f"{province}{prefecture}00" in cat.by_code:
        return True
    if code[:4] in cat.county_group_prefixes:
        return True
    # Older records carry 县 codes (e.g. 110228 密云县) from before the municipalities
    # turned their counties into districts, so both groupings stay acceptable.
    return province in MUNICIPALITIES and prefecture in {"01", "02"}


def is_valid_region(code: str) -> bool:
    """Whether a 6-digit code names a known province, prefecture or a county under a known prefecture."""
    if not _well_formed(code):
        return False
    if code.endswith("0000"):
        return code in _catalogue().by_code
    if code.endswith("00"):
        region = _catalogue().by_code.get(code)
        return region is not None and region.level == "prefecture"
    return _is_valid_county(code)


def region_prefix(code: str) -> str:
    """The shortest prefix identifying the division: "44" for 440000, "4403" for 440300."""
    if not is_valid_region(code):
        raise ValueError(f"not a valid region code: {code!r}")
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _display_name(region: Region) -> str:
    """Province name followed by the prefecture name, skipping placeholder groupings."""
    if region.parent is None:
        return region.name_zh
    province = _catalogue().by_code[region.parent]
    if region.name_zh in _PLACEHOLDER_NAMES:
        return province.name_zh
    return province.name_zh + region.name_zh


def region_name(code: str) -> str | None:
    """Display name such as "广东省深圳市"; county codes get their prefecture's name; None if invalid."""
    if not is_valid_region(code):
        return None
    by_code = _catalogue().by_code
    region = by_code.get(code)
    if region is None:
        # A county: name it by the smallest shipped division that contains it.
        region = by_code.get(code[:4] + "00") or by_code[code[:2] + "0000"]
    return _display_name(region)
