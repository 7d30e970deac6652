"""Every query of the matching domain: candidates through the search index, feedback, saved searches, fan-out."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.accounts.models import Organization, OrganizationKind
from marketplace.deals.models import Deal, DealBroker
from marketplace.demands.models import Demand, DemandStatus
from marketplace.listings.models import Listing
from marketplace.matching.models import (
    BrokerClient,
    MatchFeedback,
    SavedSearch,
    Verdict,
)
from marketplace.matching.scoring import Constraint

_CANDIDATE_SETTINGS = (
    "SELECT set_config('jit', 'off', true), set_config('max_parallel_workers_per_gather', '0', true),"
    " set_config('work_mem', '32MB', true)"
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A document the search index offers: per query word the strongest field it occurs in, and display data.

    levels[i]: 3 in the title, 2 in keywords, holder or summary, 1 only in the description, 0 absent.
    """

    doc_id: str
    levels: tuple[int, ...]
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TermSql:
    """One query word as tsqueries: present anywhere, in the head fields (A-C), in the title (A)."""

    anywhere: str
    head: str
    title: str
    weight: float
    """Its share of the text score (rarity and title boost, normalised)."""
    selecting: str | None
    """The forms of the word that may bring a document in (rare enough ones of title words); None: it only ranks."""


def _terms_sql(terms: Sequence[TermSql], params: dict[str, Any]) -> tuple[str, str, str, str]:
    """(q select list, pre-score expression over the selecting words, candidate condition, levels array)."""
    columns: list[str] = []
    pre: list[str] = []
    levels: list[str] = []
    selecting: list[str] = []
    for i, t in enumerate(terms):
        params[f"ta{i}"], params[f"th{i}"], params[f"tt{i}"] = t.anywhere, t.head, t.title
        columns += [f"CAST(:ta{i} AS tsquery) AS ta{i}", f"CAST(:th{i} AS tsquery) AS th{i}"]
        columns.append(f"CAST(:tt{i} AS tsquery) AS tt{i}")
        # The word is absent from most rows: one check says so before the field levels are looked at.
        levels.append(
            f"CASE WHEN NOT d.tsv @@ q.ta{i} THEN 0 WHEN d.tsv @@ q.tt{i} THEN 3 WHEN d.tsv @@ q.th{i} THEN 2 ELSE 1 END"
        )
        if t.selecting:
            selecting.append(f"({t.selecting})")
            pre.append(
                f"{t.weight:.6f} * CASE WHEN NOT d.tsv @@ q.ta{i} THEN 0 WHEN d.tsv @@ q.tt{i} THEN 1.0"
                f" WHEN d.tsv @@ q.th{i} THEN 0.6 ELSE 0.2 END"
            )
    select = ", ".join(columns) if columns else "1 AS nothing"
    params["cand"] = " | ".join(selecting)
    return (
        select,
        " + ".join(pre) if pre else "0.0",
        # A plain parameter (not a column of q), so the planner matches it through the GIN index.
        "d.tsv @@ CAST(:cand AS tsquery)" if selecting else "false",
        "ARRAY[" + ", ".join(levels) + "]::int[]" if levels else "ARRAY[]::int[]",
    )


FIELD_CANDIDATES = 30
"""Documents brought in by a shared field code alone (the newest), besides those a word brings in."""
_FIELD_VALUE = """CASE WHEN d.field_codes && CAST(:f_exact AS text[]) THEN 1.0
                       WHEN d.field_codes && CAST(:f_parent AS text[]) THEN 0.5 ELSE 0 END"""


class MatchingRepository:
    """Reads and writes of the matching domain; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- candidates -----------------------------------------------------------------------------

    async def listing_candidates(
        self,
        *,
        index: str,
        terms: Sequence[TermSql],
        exact_fields: Sequence[str],
        parent_fields: Sequence[str],
        enforce: frozenset[Constraint],
        budget_max_fen: int | None,
        min_trl: int | None,
        trade_modes: Sequence[str],
        exclude_ids: Sequence[str],
        exclude_holder: str | None,
        limit: int,
    ) -> list[Candidate]:
        """Listings of the index with a title word of the query or a wanted field, the likeliest first.

        Two stages keep the cost flat as the index grows: the GIN indexes find the documents, a cheap
        score over the title words and the field keeps `limit` of them, and only those are checked
        against every word. Enforced constraints are conditions of the statement.
        """
        params: dict[str, Any] = {
            "index": index,
            "limit": limit,
            "field_limit": FIELD_CANDIDATES,
            "f_exact": list(exact_fields),
            "f_parent": list(parent_fields),
            "excluded": list(exclude_ids),
        }
        q_columns, pre, text_match, levels = _terms_sql(terms, params)
        where = ["d.index = :index", "NOT (d.doc_id = ANY(CAST(:excluded AS text[])))"]
        if exclude_holder is not None:
            params["holder"] = exclude_holder
            where.append("d.holder_id IS DISTINCT FROM :holder")
        if Constraint.budget in enforce and budget_max_fen is not None:
            params["budget_max"] = budget_max_fen
            where.append("(d.price_min IS NULL OR d.price_min <= :budget_max)")
        if Constraint.trl in enforce and min_trl is not None:
            params["min_trl"] = min_trl
            where.append("d.trl >= :min_trl")
        if Constraint.trade_mode in enforce and trade_modes:
            params["modes"] = list(trade_modes)
            where.append("d.trade_modes && CAST(:modes AS text[])")
        sql = f"""
            WITH q AS MATERIALIZED (SELECT {q_columns}),
            c AS MATERIALIZED (
                (SELECT d.doc_id FROM search.documents d, q
                 WHERE {" AND ".join([*where, text_match])}
                 ORDER BY ({pre}) + 0.4 * {_FIELD_VALUE} DESC, d.published_at DESC, d.doc_id DESC
                 LIMIT :limit)
                UNION
                (SELECT d.doc_id FROM search.documents d
                 WHERE {" AND ".join([*where, "d.field_codes && CAST(:f_exact AS text[])"])}
                 ORDER BY d.published_at DESC, d.doc_id DESC
                 LIMIT :field_limit)
            )
            SELECT c.doc_id, s.doc, {levels} AS levels
            FROM c CROSS JOIN q
            JOIN search.documents d ON d.index = :index AND d.doc_id = c.doc_id
            JOIN search.stored s ON s.index = :index AND s.doc_id = c.doc_id
        """
        await self.session.execute(text(_CANDIDATE_SETTINGS))
        rows = (await self.session.execute(text(sql), params)).all()
        return [Candidate(str(r[0]), tuple(r[2] or ()), dict(r[1])) for r in rows]

    async def demand_candidates(
        self,
        *,
        index: str,
        terms: Sequence[TermSql],
        exact_fields: Sequence[str],
        parent_fields: Sequence[str],
        enforce: frozenset[Constraint],
        price_floor_fen: int | None,
        trl: int | None,
        trade_modes: Sequence[str],
        exclude_org: uuid.UUID | None,
        dismissed_for_listing: uuid.UUID | None,
        today: date,
        limit: int,
    ) -> list[tuple[Candidate, Demand, str | None]]:
        """Open demands of the index with a word of the listing's title or keywords, or a shared field."""
        params: dict[str, Any] = {
            "index": index,
            "limit": limit,
            "f_exact": list(exact_fields),
            "f_parent": list(parent_fields),
            "today": today,
            "field_limit": FIELD_CANDIDATES,
        }
        q_columns, pre, text_match, levels = _terms_sql(terms, params)
        where = [
            "d.index = :index",
            "dm.status = 'open'",
            "(dm.deadline IS NULL OR dm.deadline >= :today)",
        ]
        if exclude_org is not None:
            params["org"] = exclude_org
            where.append("dm.organization_id <> :org")
        if dismissed_for_listing is not None:
            params["listing"] = dismissed_for_listing
            where.append(
                "NOT EXISTS (SELECT 1 FROM match_feedback f WHERE f.demand_id = dm.id AND f.listing_id = :listing"
                " AND f.verdict = 'not_relevant')"
            )
        if Constraint.budget in enforce and price_floor_fen is not None:
            params["floor"] = price_floor_fen
            where.append("(dm.budget_max_fen IS NULL OR dm.budget_max_fen >= :floor)")
        if Constraint.trl in enforce:
            params["trl"] = trl if trl is not None else 0
            where.append("(dm.min_trl IS NULL OR dm.min_trl <= :trl)")
        if Constraint.trade_mode in enforce:
            params["modes"] = list(trade_modes)
            where.append("(cardinality(dm.trade_modes) = 0 OR dm.trade_modes && CAST(:modes AS varchar[]))")
        sql = f"""
            WITH q AS MATERIALIZED (SELECT {q_columns}),
            c AS MATERIALIZED (
                (SELECT d.doc_id, dm.id AS demand_id
                 FROM search.documents d JOIN demands dm ON dm.id = CAST(d.doc_id AS uuid), q
                 WHERE {" AND ".join([*where, text_match])}
                 ORDER BY ({pre}) + 0.4 * {_FIELD_VALUE} DESC, d.published_at DESC, d.doc_id DESC
                 LIMIT :limit)
                UNION
                (SELECT d.doc_id, dm.id AS demand_id
                 FROM search.documents d JOIN demands dm ON dm.id = CAST(d.doc_id AS uuid)
                 WHERE {" AND ".join([*where, "d.field_codes && CAST(:f_exact AS text[])"])}
                 ORDER BY d.published_at DESC, d.doc_id DESC
                 LIMIT :field_limit)
            )
            SELECT c.doc_id, c.demand_id, {levels} AS levels
            FROM c CROSS JOIN q JOIN search.documents d ON d.index = :index AND d.doc_id = c.doc_id
        """
        await self.session.execute(text(_CANDIDATE_SETTINGS))
        rows = (await self.session.execute(text(sql), params)).all()
        if not rows:
            return []
        ids = [r[1] for r in rows]
        found = (
            await self.session.execute(
                select(Demand, col(Organization.name_zh))
                .join(Organization, col(Organization.id) == col(Demand.organization_id))
                .where(col(Demand.id).in_(ids))
            )
        ).all()
        by_id = {d.id: (d, name) for d, name in found}
        out: list[tuple[Candidate, Demand, str | None]] = []
        for r in rows:
            if r[1] in by_id:
                demand, name = by_id[r[1]]
                out.append((Candidate(str(r[0]), tuple(r[2] or ()), {}), demand, name))
        return out

    # -- demands, listings, organisations ---------------------------------------------------------

    async def demand(self, demand_id: uuid.UUID) -> Demand | None:
        """A demand by id."""
        return await self.session.get(Demand, demand_id)

    async def listing(self, listing_id: uuid.UUID) -> Listing | None:
        """A listing by id."""
        return await self.session.get(Listing, listing_id)

    async def organization(self, organization_id: uuid.UUID) -> Organization | None:
        """An organisation by id."""
        return await self.session.get(Organization, organization_id)

    async def represented_enterprises(self, agency_id: uuid.UUID) -> list[uuid.UUID]:
        """Enterprises a broker agency acts for: named as their broker, or appointed on a deal's buyer side."""
        named = select(col(BrokerClient.enterprise_organization_id)).where(
            col(BrokerClient.agency_organization_id) == agency_id
        )
        appointed = (
            select(col(Deal.buyer_organization_id))
            .join(DealBroker, col(DealBroker.deal_id) == col(Deal.id))
            .where(
                col(DealBroker.agency_organization_id) == agency_id,
                col(DealBroker.status) == "active",
                col(DealBroker.side) == "buyer",
            )
        )
        rows = (await self.session.execute(sa.union(named, appointed))).scalars().all()
        return sorted(set(rows))

    async def represents(self, agency_id: uuid.UUID, enterprise_id: uuid.UUID) -> bool:
        """Whether the agency acts for the enterprise."""
        return enterprise_id in await self.represented_enterprises(agency_id)

    async def agencies_of(self, enterprise_id: uuid.UUID) -> list[uuid.UUID]:
        """Broker agencies acting for an enterprise (named, or appointed on its deals)."""
        named = select(col(BrokerClient.agency_organization_id)).where(
            col(BrokerClient.enterprise_organization_id) == enterprise_id
        )
        appointed = (
            select(col(DealBroker.agency_organization_id))
            .join(Deal, col(DealBroker.deal_id) == col(Deal.id))
            .where(
                col(Deal.buyer_organization_id) == enterprise_id,
                col(DealBroker.status) == "active",
                col(DealBroker.side) == "buyer",
            )
        )
        return sorted(set((await self.session.execute(sa.union(named, appointed))).scalars().all()))

    async def open_demands_of(self, organization_ids: Sequence[uuid.UUID], *, today: date) -> list[Demand]:
        """Open demands of some organisations, newest first."""
        if not organization_ids:
            return []
        rows = await self.session.execute(
            select(Demand)
            .where(
                col(Demand.organization_id).in_(list(organization_ids)),
                col(Demand.status) == DemandStatus.open.value,
                sa.or_(col(Demand.deadline).is_(None), col(Demand.deadline) >= today),
            )
            .order_by(col(Demand.created_at).desc())
            .limit(200)
        )
        return list(rows.scalars().all())

    # -- feedback -------------------------------------------------------------------------------

    async def feedback_for_demand(self, demand_id: uuid.UUID) -> dict[str, MatchFeedback]:
        """Feedback on a demand's recommendations, by listing id."""
        rows = await self.session.execute(select(MatchFeedback).where(col(MatchFeedback.demand_id) == demand_id))
        return {str(f.listing_id): f for f in rows.scalars().all()}

    async def feedback(self, demand_id: uuid.UUID, listing_id: uuid.UUID) -> MatchFeedback | None:
        """The feedback on one pair."""
        rows = await self.session.execute(
            select(MatchFeedback).where(
                col(MatchFeedback.demand_id) == demand_id, col(MatchFeedback.listing_id) == listing_id
            )
        )
        return rows.scalars().first()

    def add(self, row: Any) -> None:
        """Stage a new row."""
        self.session.add(row)

    async def flush(self) -> None:
        """Write staged rows."""
        await self.session.flush()

    async def delete(self, row: Any) -> None:
        """Delete a row."""
        await self.session.delete(row)
        await self.session.flush()

    async def interest_in_listing(self, listing_id: uuid.UUID) -> list[tuple[MatchFeedback, Demand, str | None]]:
        """Interested feedback on a listing, with the demand and the enterprise's public name."""
        rows = await self.session.execute(
            select(MatchFeedback, Demand, col(Organization.name_zh))
            .join(Demand, col(Demand.id) == col(MatchFeedback.demand_id))
            .join(Organization, col(Organization.id) == col(Demand.organization_id))
            .where(col(MatchFeedback.listing_id) == listing_id, col(MatchFeedback.verdict) == Verdict.interested.value)
            .order_by(col(MatchFeedback.updated_at).desc())
            .limit(200)
        )
        return [(f, d, n) for f, d, n in rows.all()]

    async def interest_of(self, organization_ids: Sequence[uuid.UUID]) -> list[MatchFeedback]:
        """Interested feedback given by some enterprises."""
        if not organization_ids:
            return []
        rows = await self.session.execute(
            select(MatchFeedback)
            .where(
                col(MatchFeedback.organization_id).in_(list(organization_ids)),
                col(MatchFeedback.verdict) == Verdict.interested.value,
            )
            .order_by(col(MatchFeedback.updated_at).desc())
            .limit(500)
        )
        return list(rows.scalars().all())

    # -- saved searches -------------------------------------------------------------------------

    async def saved_search(self, search_id: uuid.UUID) -> SavedSearch | None:
        """A saved search by id."""
        return await self.session.get(SavedSearch, search_id)

    async def saved_searches_of(self, organization_id: uuid.UUID) -> list[SavedSearch]:
        """An organisation's saved searches, newest first."""
        rows = await self.session.execute(
            select(SavedSearch)
            .where(col(SavedSearch.organization_id) == organization_id)
            .order_by(col(SavedSearch.created_at).desc())
            .limit(500)
        )
        return list(rows.scalars().all())

    async def count_saved_searches(self, organization_id: uuid.UUID) -> int:
        """How many searches an organisation keeps."""
        result = await self.session.execute(
            select(sa.func.count()).select_from(SavedSearch).where(col(SavedSearch.organization_id) == organization_id)
        )
        return int(result.scalar_one())

    async def set_match_query(self, search_id: uuid.UUID, tsquery: str | None) -> None:
        """Store a saved search's analysed query (a tsquery in text form)."""
        await self.session.execute(
            text("UPDATE saved_searches SET match_query = CAST(:q AS tsquery) WHERE id = :id"),
            {"q": tsquery, "id": search_id},
        )

    # -- broker clients -------------------------------------------------------------------------

    async def broker_client(self, client_id: uuid.UUID) -> BrokerClient | None:
        """A broker-client relation by id."""
        return await self.session.get(BrokerClient, client_id)

    async def broker_client_pair(self, enterprise_id: uuid.UUID, agency_id: uuid.UUID) -> BrokerClient | None:
        """The relation between an enterprise and an agency, if any."""
        rows = await self.session.execute(
            select(BrokerClient).where(
                col(BrokerClient.enterprise_organization_id) == enterprise_id,
                col(BrokerClient.agency_organization_id) == agency_id,
            )
        )
        return rows.scalars().first()

    async def broker_clients_of(self, organization_id: uuid.UUID) -> list[tuple[BrokerClient, str, str]]:
        """Relations an organisation is on either side of, with both names."""
        enterprise = sa.orm.aliased(Organization)
        agency = sa.orm.aliased(Organization)
        rows = await self.session.execute(
            select(BrokerClient, enterprise.name_zh, agency.name_zh)
            .join(enterprise, col(enterprise.id) == col(BrokerClient.enterprise_organization_id))
            .join(agency, col(agency.id) == col(BrokerClient.agency_organization_id))
            .where(
                sa.or_(
                    col(BrokerClient.enterprise_organization_id) == organization_id,
                    col(BrokerClient.agency_organization_id) == organization_id,
                )
            )
            .order_by(col(BrokerClient.created_at).desc())
        )
        return [(b, e, a) for b, e, a in rows.all()]

    async def is_agency(self, organization_id: uuid.UUID) -> bool:
        """Whether an organisation is a broker agency."""
        org = await self.session.get(Organization, organization_id)
        return org is not None and org.kind == OrganizationKind.broker_agency

    async def saved_search_organizations(self, listing_id: uuid.UUID) -> int:
        """How many organisations have a saved search the listing was announced to."""
        result = await self.session.execute(
            text(
                "SELECT count(DISTINCT organization_id) FROM match_notified_pairs"
                " WHERE listing_id = :id AND target_kind = 'saved_search'"
            ),
            {"id": listing_id},
        )
        return int(result.scalar_one())

    # -- demand profiles and fan-out ------------------------------------------------------------

    async def upsert_profile(self, demand_id: uuid.UUID, tsquery: str, field_parents: Sequence[str]) -> None:
        """Write a demand's match profile."""
        await self.session.execute(
            text(
                """
                INSERT INTO demand_match_profiles (demand_id, match_query, field_parents, updated_at)
                VALUES (:id, CAST(:q AS tsquery), CAST(:parents AS varchar[]), now())
                ON CONFLICT (demand_id) DO UPDATE
                SET match_query = excluded.match_query, field_parents = excluded.field_parents,
                    updated_at = excluded.updated_at
                """
            ),
            {"id": demand_id, "q": tsquery, "parents": list(field_parents)},
        )

    async def upsert_profiles(self, rows: Sequence[dict[str, Any]]) -> None:
        """Write many demand profiles at once (id, q, parents)."""
        if rows:
            await self.session.execute(
                text(
                    """
                    INSERT INTO demand_match_profiles (demand_id, match_query, field_parents, updated_at)
                    VALUES (:id, CAST(:q AS tsquery), CAST(:parents AS varchar[]), now())
                    ON CONFLICT (demand_id) DO UPDATE
                    SET match_query = excluded.match_query, field_parents = excluded.field_parents,
                        updated_at = excluded.updated_at
                    """
                ),
                list(rows),
            )

    async def delete_profile(self, demand_id: uuid.UUID) -> None:
        """Drop a demand's match profile (it is no longer open)."""
        await self.session.execute(text("DELETE FROM demand_match_profiles WHERE demand_id = :id"), {"id": demand_id})

    async def fan_out(
        self, *, listing_id: uuid.UUID, facts: dict[str, Any], today: date
    ) -> list[tuple[uuid.UUID, list[Any]]]:
        """Match one listing against every saved search and open demand in one statement; record new pairs.

        Returns, per organisation, the (kind, id) pairs never announced before; pairs announced once are
        kept in match_notified_pairs, so a listing that keeps fitting is announced once.
        """
        params = {"listing": listing_id, "today": today, **facts}
        result = await self.session.execute(text(_FAN_OUT_SQL), params)
        return [(org, list(targets)) for org, targets in result.all()]


_FAN_OUT_SQL = """
WITH l AS (SELECT CAST(:tsv AS tsvector) AS tsv),
hits AS (
    SELECT 'saved_search' AS kind, s.id AS target_id, s.organization_id
    FROM saved_searches s, l
    WHERE s.notify AND s.organization_id <> :holder
      AND (s.match_query IS NULL OR l.tsv @@ s.match_query)
      AND (cardinality(s.field_codes) = 0 OR s.field_codes && CAST(:fields AS varchar[]))
      AND (s.trl_min IS NULL OR s.trl_min <= :trl)
      AND (s.trl_max IS NULL OR s.trl_max >= :trl)
      AND (cardinality(s.trade_modes) = 0 OR s.trade_modes && CAST(:modes AS varchar[]))
      AND (cardinality(s.ip_types) = 0 OR s.ip_types && CAST(:ip_types AS varchar[]))
      AND (s.price_min_fen IS NULL OR CAST(:price_max AS bigint) >= s.price_min_fen)
      AND (s.price_max_fen IS NULL OR CAST(:price_min AS bigint) <= s.price_max_fen)
      AND (s.region_prefix IS NULL OR s.region_prefix = ANY(CAST(:regions AS varchar[])))
    UNION ALL
    SELECT 'demand', dm.id, dm.organization_id
    FROM demand_match_profiles p JOIN demands dm ON dm.id = p.demand_id, l
    WHERE dm.status = 'open' AND (dm.deadline IS NULL OR dm.deadline >= :today)
      AND dm.organization_id <> :holder
      AND l.tsv @@ p.match_query
      AND (cardinality(p.field_parents) = 0 OR p.field_parents && CAST(:fields AS varchar[]))
      AND (dm.budget_max_fen IS NULL OR CAST(:price_min AS bigint) IS NULL OR dm.budget_max_fen >= :price_min)
      AND (dm.min_trl IS NULL OR dm.min_trl <= :trl)
      AND (cardinality(dm.trade_modes) = 0 OR dm.trade_modes && CAST(:modes AS varchar[]))
),
fresh AS (
    INSERT INTO match_notified_pairs (listing_id, target_kind, target_id, organization_id, created_at)
    SELECT :listing, kind, target_id, organization_id, now() FROM hits
    ON CONFLICT DO NOTHING
    RETURNING target_kind, target_id, organization_id
)
SELECT organization_id, json_agg(json_build_array(target_kind, target_id) ORDER BY target_kind, target_id)
FROM fresh GROUP BY organization_id ORDER BY organization_id
"""
