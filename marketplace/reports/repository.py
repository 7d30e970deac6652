"""Every query of the reports domain: read-only aggregates over listings, demands, deals and auctions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

# Months and dates are China Standard Time, which has no daylight saving: a fixed +8 hours is exact.
_CST_MONTH = "to_char(({col} AT TIME ZONE 'UTC') + INTERVAL '8 hours', 'YYYY-MM')"
_IN_WINDOW = "{col} >= :start AND {col} < :end"
_SIGNED_AT = "GREATEST(c.buyer_confirmed_at, c.seller_confirmed_at)"
# Deals that ended without a deal: their contracts (if any) are not counted as value.
_FAILED_STATES = "('declined', 'cancelled', 'expired', 'forfeited')"
# When a deal was agreed: its accepted offer's decision, an auction award's deal creation, else its contract.
_AGREED_DEALS = """
    SELECT d.id, d.listing_id, d.state,
           COALESCE(o.decided_at, CASE WHEN d.origin = 'auction' THEN d.created_at END, c.created_at) AS agreed_at
      FROM deals d
      LEFT JOIN deal_offers o ON o.id = d.agreed_offer_id AND o.deal_id = d.id
      LEFT JOIN deal_contracts c ON c.deal_id = d.id
     WHERE d.agreed_offer_id IS NOT NULL OR d.origin = 'auction' OR c.id IS NOT NULL
"""


def _month(col: str) -> str:
    return _CST_MONTH.format(col=col)


def _window(col: str) -> str:
    return _IN_WINDOW.format(col=col)


_LISTINGS_BY_FIELD = sa.text(f"""
    SELECT t.top AS code, count(DISTINCT l.id) AS n
      FROM listings l
     CROSS JOIN LATERAL (SELECT DISTINCT split_part(f, '.', 1) AS top FROM unnest(l.field_codes) AS f) t
     WHERE {_window("l.published_at")}
     GROUP BY t.top
""")
_DEMANDS_BY_FIELD = sa.text(f"""
    SELECT t.top AS code, count(DISTINCT d.id) AS n
      FROM demands d
     CROSS JOIN LATERAL (SELECT DISTINCT split_part(f, '.', 1) AS top FROM unnest(d.field_codes) AS f) t
     WHERE {_window("d.created_at")}
     GROUP BY t.top
""")
_LISTINGS_BY_REGION = sa.text(f"""
    SELECT left(region_code, 2) AS code, count(*) AS n FROM listings
     WHERE {_window("published_at")} GROUP BY 1
""")
_DEMANDS_BY_REGION = sa.text(f"""
    SELECT COALESCE(left(region_code, 2), '') AS code, count(*) AS n FROM demands
     WHERE {_window("created_at")} GROUP BY 1
""")
_LISTINGS_BY_MONTH = sa.text(f"""
    SELECT {_month("published_at")} AS code, count(*) AS n FROM listings WHERE {_window("published_at")} GROUP BY 1
""")
_DEMANDS_BY_MONTH = sa.text(f"""
    SELECT {_month("created_at")} AS code, count(*) AS n FROM demands WHERE {_window("created_at")} GROUP BY 1
""")

_DEAL_EVENTS_BY_MONTH = sa.text(f"""
    SELECT 'opened' AS kind, {_month("created_at")} AS month, count(*) AS n
      FROM deals WHERE {_window("created_at")} GROUP BY 2
    UNION ALL
    SELECT 'agreed', {_month("a.agreed_at")}, count(*)
      FROM ({_AGREED_DEALS}) a WHERE {_window("a.agreed_at")} GROUP BY 2
    UNION ALL
    SELECT 'completed', {_month("ended_at")}, count(*)
      FROM deals WHERE state = 'completed' AND {_window("ended_at")} GROUP BY 2
    UNION ALL
    SELECT 'cancelled', {_month("ended_at")}, count(*)
      FROM deals WHERE state = 'cancelled' AND {_window("ended_at")} GROUP BY 2
""")

# One pass over the contracts signed in the window, grouped four ways; `g` tells the grouping apart.
_SIGNED_VALUE = sa.text(f"""
    WITH s AS (
        SELECT c.amount_fen, c.technology_fen, c.trade_mode,
               COALESCE(split_part(l.field_codes[1], '.', 1), '') AS field,
               left(l.region_code, 2) AS province,
               {_month(_SIGNED_AT)} AS month
          FROM deal_contracts c
          JOIN deals d ON d.id = c.deal_id
          JOIN listings l ON l.id = d.listing_id
         WHERE c.buyer_confirmed_at IS NOT NULL AND c.seller_confirmed_at IS NOT NULL
           AND d.state NOT IN {_FAILED_STATES}
           AND {_window(_SIGNED_AT)}
    )
    SELECT GROUPING(field, province, trade_mode, month) AS g,
           field, province, trade_mode, month,
           count(*) AS contracts, sum(amount_fen) AS amount_fen, sum(technology_fen) AS technology_fen
      FROM s
     GROUP BY GROUPING SETS ((field), (province), (trade_mode), (month))
""")
GROUPED_BY_FIELD, GROUPED_BY_PROVINCE, GROUPED_BY_TRADE_MODE, GROUPED_BY_MONTH = 0b0111, 0b1011, 0b1101, 0b1110

_DAYS_TO_AGREEMENT = sa.text(f"""
    SELECT percentile_cont(0.5) WITHIN GROUP (
               ORDER BY EXTRACT(EPOCH FROM (a.agreed_at - l.published_at)) / 86400.0) AS median_days,
           count(*) AS n
      FROM ({_AGREED_DEALS}) a
      JOIN listings l ON l.id = a.listing_id
     WHERE l.published_at IS NOT NULL AND a.agreed_at >= l.published_at AND {_window("a.agreed_at")}
""")

_TOP_INSTITUTES = sa.text(f"""
    SELECT o.id AS organization_id, o.name_zh, o.credit_code, count(*) AS deals,
           sum(c.amount_fen) AS amount_fen, sum(c.technology_fen) AS technology_fen
      FROM deals d
      JOIN deal_contracts c ON c.deal_id = d.id
      JOIN organizations o ON o.id = d.seller_organization_id
     WHERE d.state = 'completed' AND o.kind = 'institute' AND {_window("d.ended_at")}
     GROUP BY o.id, o.name_zh, o.credit_code
     ORDER BY sum(c.amount_fen) DESC, o.name_zh, o.id
     LIMIT :limit
""")

_AUCTION_OUTCOMES = sa.text(f"""
    SELECT a.id AS auction_id, a.listing_id, l.title_zh, a.status, a.closed_at, a.start_price_fen,
           b.high_fen, COALESCE(b.bids, 0) AS bids
      FROM auctions a
      JOIN listings l ON l.id = a.listing_id
      LEFT JOIN LATERAL (
          SELECT max(amount_fen) AS high_fen, count(*) AS bids FROM auction_bids WHERE auction_id = a.id
      ) b ON true
     WHERE a.status IN ('closed', 'unsold') AND {_window("a.closed_at")}
     ORDER BY a.closed_at, a.id
""")

_REGISTRATIONS = sa.text(f"""
    SELECT c.id AS contract_id, c.deal_id, c.contract_type, c.trade_mode, c.subject_name,
           c.seller_name, c.seller_credit_code, c.buyer_name, c.buyer_credit_code,
           c.amount_fen, c.technology_fen, c.term_months,
           {_SIGNED_AT} AS signed_at, d.ended_at AS completed_at
      FROM deal_contracts c
      JOIN deals d ON d.id = c.deal_id
     WHERE d.state = 'completed' AND {_window("d.ended_at")}
     ORDER BY d.ended_at, c.id
""")

_DASHBOARD_PRINCIPAL = sa.text("""
    SELECT k.id, k.scopes, u.id AS user_id, u.role, o.id AS organization_id, o.kind, o.verification_status
      FROM api_keys k
      JOIN users u ON u.id = k.user_id
      JOIN organizations o ON o.id = u.organization_id
     WHERE k.id = :key_id AND u.id = :user_id AND k.revoked_at IS NULL
       AND (k.expires_at IS NULL OR k.expires_at > :now) AND u.is_active
""")


class ReportsRepository:
    """Read-only report queries over one session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, stmt: sa.TextClause, **params: Any) -> Sequence[Any]:
        conn = await self.session.connection()
        return (await conn.execute(stmt, params)).all()

    async def _counts(self, stmt: sa.TextClause, start: datetime, end: datetime) -> dict[str, int]:
        return {str(r.code): int(r.n) for r in await self._rows(stmt, start=start, end=end)}

    async def listing_counts(self, start: datetime, end: datetime) -> tuple[dict[str, int], ...]:
        """Listings first published in [start, end): by top-level field, by province prefix, by month."""
        return (
            await self._counts(_LISTINGS_BY_FIELD, start, end),
            await self._counts(_LISTINGS_BY_REGION, start, end),
            await self._counts(_LISTINGS_BY_MONTH, start, end),
        )

    async def demand_counts(self, start: datetime, end: datetime) -> tuple[dict[str, int], ...]:
        """Demands created in [start, end): by top-level field, by province prefix, by month."""
        return (
            await self._counts(_DEMANDS_BY_FIELD, start, end),
            await self._counts(_DEMANDS_BY_REGION, start, end),
            await self._counts(_DEMANDS_BY_MONTH, start, end),
        )

    async def deal_events_by_month(self, start: datetime, end: datetime) -> Sequence[Any]:
        """(kind, month, n) for deals opened, agreed, completed and cancelled in [start, end)."""
        return await self._rows(_DEAL_EVENTS_BY_MONTH, start=start, end=end)

    async def signed_value(self, start: datetime, end: datetime) -> Sequence[Any]:
        """Value of contracts signed in [start, end), grouped by field, province, trade mode and month."""
        return await self._rows(_SIGNED_VALUE, start=start, end=end)

    async def days_to_agreement(self, start: datetime, end: datetime) -> tuple[float | None, int]:
        """Median days from publication to agreement for deals agreed in [start, end), and how many."""
        row = (await self._rows(_DAYS_TO_AGREEMENT, start=start, end=end))[0]
        return (None if row.median_days is None else float(row.median_days)), int(row.n)

    async def top_institutes(self, start: datetime, end: datetime, *, limit: int) -> Sequence[Any]:
        """Institutes by value of their deals completed in [start, end)."""
        return await self._rows(_TOP_INSTITUTES, start=start, end=end, limit=limit)

    async def auction_outcomes(self, start: datetime, end: datetime) -> Sequence[Any]:
        """Auctions that ended (sold or unsold) in [start, end), with their bids counted from the bid records."""
        return await self._rows(_AUCTION_OUTCOMES, start=start, end=end)

    async def registrations(self, start: datetime, end: datetime) -> Sequence[Any]:
        """Contracts of deals completed in [start, end)."""
        return await self._rows(_REGISTRATIONS, start=start, end=end)

    async def dashboard_principal(self, *, key_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> Any:
        """The caller behind a dashboard session, if its key and user are still live."""
        rows = await self._rows(_DASHBOARD_PRINCIPAL, key_id=key_id, user_id=user_id, now=now)
        return rows[0] if rows else None
