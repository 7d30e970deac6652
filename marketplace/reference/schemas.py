"""Response shapes of the reference data routes."""

from __future__ import annotations

from marketplace.kit.schemas import OutputSchema


class FieldRead(OutputSchema):
    """One category of the strategic emerging industries classification (2018)."""

    code: str
    parent: str | None
    name_zh: str
    name_en: str


class RegionRead(OutputSchema):
    """One provincial- or prefecture-level division (GB/T 2260)."""

    code: str
    name_zh: str
    level: str
    parent: str | None


class TrlRead(OutputSchema):
    """One technology readiness level and the market stage it falls in."""

    level: int
    name_zh: str
    name_en: str
    phase: str
    phase_zh: str
    phase_en: str


class FieldList(OutputSchema):
    """Every field code, top-level ones each followed by their children."""

    items: list[FieldRead]


class RegionList(OutputSchema):
    """Provinces, then prefectures."""

    items: list[RegionRead]


class TrlList(OutputSchema):
    """TRL 1 to 9."""

    items: list[TrlRead]
