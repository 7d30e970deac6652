"""HTTP routes of the reports domain: platform-only figures as JSON or, with ?format=csv, CSV."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from marketplace.reports import exports
from marketplace.reports.schemas import CatalogueReport, ContractRegistrations, DealsReport
from marketplace.reports.service import ReportsService, parse_format, parse_period
from marketplace.web import policy
from marketplace.web.deps import DbSession
from marketplace.web.openapi import errors_for, json_or_csv

FromParam = Annotated[
    str | None,
    QueryParameter(name="from", description="First day, YYYY-MM-DD (CST); default: 12 months before 'to'."),
]
ToParam = Annotated[str | None, QueryParameter(name="to", description="Last day, YYYY-MM-DD (CST); default: today.")]
FormatParam = Annotated[str | None, QueryParameter(name="format", description="json (default) or csv.")]
_CSV_NOTE = " With `?format=csv`, the same figures as text/csv (UTF-8 with BOM)."


class ReportsController(Controller):
    """Figures for the city: catalogue, deals and the technology-contract registration export."""

    path = "/reports"
    tags = ["reports"]  # noqa: RUF012

    @get(
        "/catalogue",
        operation_id="reportCatalogue",
        summary="Listings and demands by field, region and month",
        description="Platform only." + _CSV_NOTE,
        opt=policy.PLATFORM.opt(read_replica=True),
        responses=errors_for(401, 403, 422),
        operation_class=json_or_csv(),
    )
    async def catalogue(
        self, session: DbSession, from_: FromParam = None, to: ToParam = None, fmt: FormatParam = None
    ) -> Response[CatalogueReport]:
        """Catalogue figures."""
        period, as_csv = parse_period(from_, to), parse_format(fmt) == "csv"
        report = await ReportsService(session).catalogue(period)
        if as_csv:
            return exports.csv_response(exports.catalogue_csv(report), filename=f"catalogue-{_name(period)}.csv")
        return Response(report)

    @get(
        "/deals",
        operation_id="reportDeals",
        summary="Deal flow, contract value, time to agreement, top institutes, auction outcomes",
        description="Platform only; `notes` says how each figure is derived and what the records lack." + _CSV_NOTE,
        opt=policy.PLATFORM.opt(read_replica=True),
        responses=errors_for(401, 403, 422),
        operation_class=json_or_csv(),
    )
    async def deals(
        self, session: DbSession, from_: FromParam = None, to: ToParam = None, fmt: FormatParam = None
    ) -> Response[DealsReport]:
        """Deal figures."""
        period, as_csv = parse_period(from_, to), parse_format(fmt) == "csv"
        report = await ReportsService(session).deals(period)
        if as_csv:
            return exports.csv_response(exports.deals_csv(report), filename=f"deals-{_name(period)}.csv")
        return Response(report)

    @get(
        "/contract-registrations",
        operation_id="reportContractRegistrations",
        summary="Technology-contract registration export (技术合同认定登记)",
        description="Platform only: the contracts of the deals completed in the period." + _CSV_NOTE,
        opt=policy.PLATFORM.opt(read_replica=True),
        responses=errors_for(401, 403, 422),
        operation_class=json_or_csv(),
    )
    async def registrations(
        self, session: DbSession, from_: FromParam = None, to: ToParam = None, fmt: FormatParam = None
    ) -> Response[ContractRegistrations]:
        """Registration export."""
        period, as_csv = parse_period(from_, to), parse_format(fmt) == "csv"
        report = await ReportsService(session).registrations(period)
        if as_csv:
            name = f"contract-registrations-{_name(period)}.csv"
            return exports.csv_response(exports.registrations_csv(report), filename=name)
        return Response(report)


def _name(period: Any) -> str:
    return f"{period.from_date.isoformat()}_{period.to_date.isoformat()}"


CONTROLLERS = [ReportsController]
