"""Public reference data: field codes, regions, TRLs (what listings and demands are validated against)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.datastructures import CacheControlHeader
from litestar.params import QueryParameter

from marketplace.reference.fields import all_fields
from marketplace.reference.regions import all_regions
from marketplace.reference.schemas import FieldList, FieldRead, RegionList, RegionRead, TrlList, TrlRead
from marketplace.reference.trl import TRL_LEVELS, trl_phase
from marketplace.web import policy
from marketplace.web.openapi import errors_for

_CACHE = CacheControlHeader(public=True, max_age=3600)


class ReferenceController(Controller):
    """Code lists, public and cacheable."""

    path = "/reference"
    tags = ["reference"]  # noqa: RUF012
    cache_control = _CACHE

    @get(
        "/fields",
        operation_id="listReferenceFields",
        summary="List technology field codes (SEI 2018)",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(),
    )
    async def fields(self) -> FieldList:
        """Field codes."""
        return FieldList(items=[FieldRead.model_validate(f) for f in all_fields()])

    @get(
        "/regions",
        operation_id="listReferenceRegions",
        summary="List region codes (provinces and prefectures)",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(400),
    )
    async def regions(
        self,
        province: Annotated[
            str | None,
            QueryParameter(pattern=r"^[0-9]{2}0000$", description="Only this province and its prefectures."),
        ] = None,
    ) -> RegionList:
        """Region codes."""
        regions = all_regions()
        if province is not None:
            regions = tuple(r for r in regions if r.code == province or r.parent == province)
        return RegionList(items=[RegionRead.model_validate(r) for r in regions])

    @get(
        "/trl",
        operation_id="listReferenceTrl",
        summary="List technology readiness levels",
        opt=policy.PUBLIC.opt(),
        responses=errors_for(),
    )
    async def trl(self) -> TrlList:
        """TRL levels with stage names."""
        items = []
        for level in TRL_LEVELS.values():
            phase = trl_phase(level.level)
            items.append(
                TrlRead(
                    level=level.level,
                    name_zh=level.name_zh,
                    name_en=level.name_en,
                    phase=phase.key,
                    phase_zh=phase.name_zh,
                    phase_en=phase.name_en,
                )
            )
        return TrlList(items=items)


CONTROLLERS = [ReferenceController]
