"""The reports' rules: the period, the figures from the records, and their names from the reference data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.keys import looks_like_key
from marketplace.accounts.principal import Principal
from marketplace.accounts.service import AccountsService
from marketplace.deals.models import ContractType
from marketplace.kit.time import utcnow
from marketplace.reference.fields import get_field
from marketplace.reference.regions import get_region
from marketplace.reports import errors, tokens
from marketplace.reports.repository import (
    GROUPED_BY_FIELD,
    GROUPED_BY_MONTH,
    GROUPED_BY_PROVINCE,
    GROUPED_BY_TRADE_MODE,
    ReportsRepository,
)
from marketplace.reports.schemas import (
    AuctionOutcome,
    AuctionSummary,
    CatalogueCount,
    CatalogueReport,
    ContractRegistration,
    ContractRegistrations,
    DealMonth,
    DealsReport,
    InstituteRow,
    Period,
    ValueRow,
)

CST = timezone(timedelta(hours=8), "CST")
MAX_PERIOD_DAYS = 3700  # about ten years: enough for any official report, bounded for the database
TOP_INSTITUTES = 10
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

TRADE_MODE_NAMES = {
    "transfer": "转让",
    "exclusive_licence": "独占许可",
    "sole_licence": "排他许可",
    "non_exclusive_licence": "普通许可",
    "equity_investment": "作价投资",
    "co_development": "合作开发",
    "technical_service": "技术服务",
}
_UNKNOWN = "未填写"
_DEAL_FIGURES = ("opened", "agreed", "completed", "cancelled", "contracts", "amount_fen", "technology_fen")


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """Inclusive dates in China Standard Time, and the UTC instants [start, end) they cover."""

    from_date: date
    to_date: date

    @property
    def start(self) -> datetime:
        """The first instant of from_date (CST)."""
        return datetime.combine(self.from_date, time(), CST).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant after to_date (CST)."""
        return datetime.combine(self.to_date + timedelta(days=1), time(), CST).astimezone(UTC)

    def months(self) -> list[str]:
        """Every month the period touches, YYYY-MM, in order."""
        out, year, month = [], self.from_date.year, self.from_date.month
        while (year, month) <= (self.to_date.year, self.to_date.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def schema(self) -> Period:
        """As a response part."""
        return Period(from_date=self.from_date, to_date=self.to_date)


def _parse_date(name: str, value: str) -> date:
    if not _DATE_RE.match(value):
        raise errors.InvalidReportParameter.query(name, "must be a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise errors.InvalidReportParameter.query(name, f"{value!r} is not a calendar date") from exc


def parse_period(from_: str | None, to: str | None, *, today: date | None = None) -> ReportPeriod:
    """The period of ?from=&to= (inclusive); by default the twelve months up to today (CST)."""
    today = today or utcnow().astimezone(CST).date()
    end = _parse_date("to", to) if to is not None else today
    if from_ is not None:
        start = _parse_date("from", from_)
    else:
        year, month = (end.year - 1, end.month + 1) if end.month < 12 else (end.year, 1)
        start = date(year, month, 1)
    if start > end:
        raise errors.InvalidReportParameter.query("from", "must not be after 'to'")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise errors.InvalidReportParameter.query("from", f"the period may span at most {MAX_PERIOD_DAYS} days")
    return ReportPeriod(from_date=start, to_date=end)


def parse_format(value: str | None) -> str:
    """json (the default) or csv."""
    if value is None or value == "json":
        return "json"
    if value == "csv":
        return "csv"
    raise errors.InvalidReportParameter.query("format", "must be 'json' or 'csv'")


def field_name(code: str) -> str:
    """The top-level field's Chinese name."""
    field = get_field(code) if code else None
    return field.name_zh if field is not None else _UNKNOWN


def province_code(prefix: str) -> str:
    """The 6-digit province code of a 2-digit prefix ('' when unknown)."""
    return f"{prefix}0000" if prefix else ""


def province_name(prefix: str) -> str:
    """The province's Chinese name."""
    region = get_region(province_code(prefix)) if prefix else None
    return region.name_zh if region is not None else _UNKNOWN


def _sorted_counts(
    listings: dict[str, int], demands: dict[str, int], *, code: Any, name: Any, order: list[str] | None = None
) -> list[CatalogueCount]:
    keys = order if order is not None else sorted(set(listings) | set(demands), key=lambda k: (k == "", k))
    return [
        CatalogueCount(code=code(k), name_zh=name(k), listings=listings.get(k, 0), demands=demands.get(k, 0))
        for k in keys
    ]


def _premium_bps(start: int, final: int | None) -> int | None:
    if final is None or start <= 0:
        return None
    return ((final - start) * 10_000) // start  # floor: a premium is never overstated


class ReportsService:
    """Builds each report from the records of the period."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = ReportsRepository(session)

    async def catalogue(self, period: ReportPeriod) -> CatalogueReport:
        """Listings published and demands created, by top-level field, province and month."""
        l_field, l_region, l_month = await self.repo.listing_counts(period.start, period.end)
        d_field, d_region, d_month = await self.repo.demand_counts(period.start, period.end)
        months = period.months()
        return CatalogueReport(
            period=period.schema(),
            listings=sum(l_month.values()),
            demands=sum(d_month.values()),
            by_field=_sorted_counts(l_field, d_field, code=lambda k: k, name=field_name),
            by_region=_sorted_counts(l_region, d_region, code=province_code, name=province_name),
            by_month=_sorted_counts(l_month, d_month, code=lambda k: k, name=lambda k: k, order=months),
            notes=[
                "Listings count when first published (published_at); demands when created (demands have no "
                "publication step). Months and dates are China Standard Time (UTC+8).",
                "A listing or demand with fields under several top-level categories counts once in each, so "
                "by_field may add up to more than the total; one with no field codes counts in none.",
                "Region is the province of the listing's or demand's region code; a demand without one is "
                f"counted under code '' ({_UNKNOWN}).",
            ],
        )

    async def deals(self, period: ReportPeriod) -> DealsReport:
        """Deal flow by month, signed value four ways, time to agreement, top institutes, auction outcomes."""
        months = {m: dict.fromkeys(_DEAL_FIGURES, 0) for m in period.months()}
        for row in await self.repo.deal_events_by_month(period.start, period.end):
            months[row.month][row.kind] += int(row.n)
        by_field: list[ValueRow] = []
        by_region: list[ValueRow] = []
        by_mode: list[ValueRow] = []
        for row in await self.repo.signed_value(period.start, period.end):
            figures = {
                "contracts": int(row.contracts),
                "amount_fen": int(row.amount_fen),
                "technology_fen": int(row.technology_fen),
            }
            if row.g == GROUPED_BY_MONTH:
                months[row.month].update(figures)
            elif row.g == GROUPED_BY_FIELD:
                by_field.append(ValueRow(code=row.field, name_zh=field_name(row.field), **figures))
            elif row.g == GROUPED_BY_PROVINCE:
                by_region.append(
                    ValueRow(code=province_code(row.province), name_zh=province_name(row.province), **figures)
                )
            elif row.g == GROUPED_BY_TRADE_MODE:
                by_mode.append(
                    ValueRow(
                        code=row.trade_mode, name_zh=TRADE_MODE_NAMES.get(row.trade_mode, row.trade_mode), **figures
                    )
                )
        by_month = [DealMonth(month=m, **v) for m, v in months.items()]
        totals = DealMonth(
            month=f"{period.from_date.isoformat()}/{period.to_date.isoformat()}",
            **{k: sum(getattr(m, k) for m in by_month) for k in _DEAL_FIGURES},
        )
        median, measured = await self.repo.days_to_agreement(period.start, period.end)
        institutes = [
            InstituteRow(
                organization_id=r.organization_id,
                name_zh=r.name_zh,
                credit_code=r.credit_code,
                deals=int(r.deals),
                amount_fen=int(r.amount_fen),
                technology_fen=int(r.technology_fen),
            )
            for r in await self.repo.top_institutes(period.start, period.end, limit=TOP_INSTITUTES)
        ]
        auctions = []
        for r in await self.repo.auction_outcomes(period.start, period.end):
            final = int(r.high_fen) if r.status == "closed" and r.high_fen is not None else None
            auctions.append(
                AuctionOutcome(
                    auction_id=r.auction_id,
                    listing_id=r.listing_id,
                    title_zh=r.title_zh,
                    status=r.status,
                    closed_at=r.closed_at,
                    start_price_fen=int(r.start_price_fen),
                    final_price_fen=final,
                    bids=int(r.bids),
                    premium_bps=_premium_bps(int(r.start_price_fen), final),
                )
            )
        sold = [a for a in auctions if a.final_price_fen is not None]
        key = lambda v: (v.code == "", -v.amount_fen, v.code)  # noqa: E731
        return DealsReport(
            period=period.schema(),
            by_month=by_month,
            totals=totals,
            value_by_field=sorted(by_field, key=key),
            value_by_region=sorted(by_region, key=key),
            value_by_trade_mode=sorted(by_mode, key=key),
            median_days_to_agreement=None if median is None else round(median, 1),
            agreements_measured=measured,
            top_institutes=institutes,
            auctions=auctions,
            auction_summary=AuctionSummary(
                ended=len(auctions),
                sold=len(sold),
                unsold=len(auctions) - len(sold),
                start_price_fen=sum(a.start_price_fen for a in sold),
                final_price_fen=sum(a.final_price_fen or 0 for a in sold),
            ),
            notes=DEALS_NOTES,
        )

    async def registrations(self, period: ReportPeriod) -> ContractRegistrations:
        """The contracts of deals completed in the period, for 技术合同认定登记."""
        items = [
            ContractRegistration(
                contract_id=r.contract_id,
                deal_id=r.deal_id,
                contract_type=r.contract_type,
                contract_type_zh=ContractType(r.contract_type).label,
                trade_mode=r.trade_mode,
                subject_name=r.subject_name,
                seller_name=r.seller_name,
                seller_credit_code=r.seller_credit_code,
                buyer_name=r.buyer_name,
                buyer_credit_code=r.buyer_credit_code,
                amount_fen=int(r.amount_fen),
                technology_fen=int(r.technology_fen),
                term_months=r.term_months,
                signed_at=r.signed_at,
                completed_at=r.completed_at,
            )
            for r in await self.repo.registrations(period.start, period.end)
        ]
        return ContractRegistrations(
            period=period.schema(),
            items=items,
            amount_fen=sum(i.amount_fen for i in items),
            technology_fen=sum(i.technology_fen for i in items),
            notes=[
                "One row per deal completed (every milestone settled) in the period; parties, credit codes and "
                "amounts as both parties confirmed them in the contract record.",
                "The seller is the technology's provider (让与方/许可方/受托方), the buyer its recipient.",
            ],
        )


DEALS_NOTES = [
    "Months and dates are China Standard Time (UTC+8). opened: deal created; agreed: the accepted offer's "
    "decision (or, for an auction, the award); completed and cancelled: the deal's end in that state. A deal "
    "whose agreement was later annulled by an upheld objection is not counted as agreed (the deal record "
    "keeps no earlier agreement).",
    "Contract value (成交额) and technology value (技术交易额) count contracts both parties confirmed in the "
    "period (dated by the later confirmation), except deals that later ended without completing.",
    "By field: the listing's first field code's top-level category (a deal is not split across fields). "
    "By region: the province of the listing's region (the deal records no place of performance).",
    "Top institutes: sellers of kind institute by the contract value of their deals completed in the period.",
    "Auctions: those closed or unsold in the period; final price and bid count from the bid records. An "
    "auction cancelled before its close is not an outcome and is left out.",
    "Not available from the deal records: the price actually paid (payments are not part of the deals "
    "model), so value is the contracted 成交额, not money received.",
]


class DashboardAccess:
    """Who is looking at the dashboard: an API key in the Authorization header, or a signed session cookie."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = ReportsRepository(session)

    async def by_key(self, secret: str) -> Principal | None:
        """The caller behind an API key."""
        if not looks_like_key(secret):
            return None
        return await AccountsService(self.session).authenticate(secret)

    async def by_token(self, secret: str, token: str | None) -> Principal | None:
        """The caller behind a session token, if the token holds and its key and user are still live."""
        now = utcnow()
        found = tokens.verify(secret, token, now=now)
        if found is None:
            return None
        row = await self.repo.dashboard_principal(key_id=found.api_key_id, user_id=found.user_id, now=now)
        if row is None:
            return None
        return Principal.of(
            user_id=row.user_id,
            organization_id=row.organization_id,
            kind=row.kind,
            verification_status=row.verification_status,
            role=row.role,
            scopes=row.scopes,
            api_key_id=row.id,
        )
