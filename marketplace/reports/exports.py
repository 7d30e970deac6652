"""The reports as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese names)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from litestar import Response

from marketplace.reports.schemas import CatalogueReport, ContractRegistrations, DealsReport

LONG_HEADER = ("section", "code", "name_zh", "metric", "value")


def _csv(rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return "\ufeff" + out.getvalue()


def csv_response(text: str, *, filename: str) -> Response[Any]:
    """A CSV download."""
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv",  # Litestar adds charset=utf-8 to text types
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def catalogue_csv(report: CatalogueReport) -> str:
    """One row per group and figure: section, code, name, metric, value."""
    rows: list[tuple[Any, ...]] = [LONG_HEADER]
    rows += [("total", "", "", "listings", report.listings), ("total", "", "", "demands", report.demands)]
    for section, items in (("field", report.by_field), ("region", report.by_region), ("month", report.by_month)):
        for item in items:
            rows.append((section, item.code, item.name_zh, "listings", item.listings))
            rows.append((section, item.code, item.name_zh, "demands", item.demands))
    return _csv(rows)


def deals_csv(report: DealsReport) -> str:
    """One row per group and figure: section, code, name, metric, value."""
    rows: list[tuple[Any, ...]] = [LONG_HEADER]
    for m in [*report.by_month, report.totals]:
        section = "total" if m is report.totals else "month"
        for metric in ("opened", "agreed", "completed", "cancelled", "contracts", "amount_fen", "technology_fen"):
            rows.append((section, m.month, m.month, metric, getattr(m, metric)))
    for section, values in (
        ("field", report.value_by_field),
        ("region", report.value_by_region),
        ("trade_mode", report.value_by_trade_mode),
    ):
        for v in values:
            for metric in ("contracts", "amount_fen", "technology_fen"):
                rows.append((section, v.code, v.name_zh, metric, getattr(v, metric)))
    rows.append(("agreement", "", "", "median_days", report.median_days_to_agreement))
    rows.append(("agreement", "", "", "measured", report.agreements_measured))
    for i in report.top_institutes:
        for metric in ("deals", "amount_fen", "technology_fen"):
            rows.append(("institute", i.credit_code or str(i.organization_id), i.name_zh, metric, getattr(i, metric)))
    for a in report.auctions:
        for metric in ("start_price_fen", "final_price_fen", "bids", "premium_bps"):
            rows.append(("auction", str(a.auction_id), a.title_zh, metric, getattr(a, metric)))
    return _csv(rows)


REGISTRATION_HEADER = (
    "contract_id",
    "deal_id",
    "contract_type",
    "合同类型",
    "trade_mode",
    "项目名称",
    "卖方",
    "卖方统一社会信用代码",
    "买方",
    "买方统一社会信用代码",
    "成交额_分",
    "技术交易额_分",
    "成交额_元",
    "技术交易额_元",
    "期限_月",
    "签订时间",
    "完成时间",
)


def yuan(fen: int) -> str:
    """Fen as yuan with two decimals, exactly."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def registrations_csv(report: ContractRegistrations) -> str:
    """One row per contract."""
    rows: list[tuple[Any, ...]] = [REGISTRATION_HEADER]
    for i in report.items:
        rows.append(
            (
                i.contract_id,
                i.deal_id,
                i.contract_type,
                i.contract_type_zh,
                i.trade_mode,
                i.subject_name,
                i.seller_name,
                i.seller_credit_code,
                i.buyer_name,
                i.buyer_credit_code,
                i.amount_fen,
                i.technology_fen,
                yuan(i.amount_fen),
                yuan(i.technology_fen),
                i.term_months,
                i.signed_at.isoformat() if i.signed_at else None,
                i.completed_at.isoformat(),
            )
        )
    return _csv(rows)
