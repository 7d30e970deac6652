"""Matching quality: judged demands over the search relevance set's listings, nDCG@10, recall@10, violations.

The judged set (tests/matching/evaluation.json) holds demands with graded listings (3 exactly what is
asked, 2 closely related, 1 marginally useful), only among listings that meet the demand's hard
constraints; `trap` names the textually closest listing that breaks one. The matcher and a text-only
baseline (the demand's title and description as one plain search on the same index) are measured in
the same run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from marketplace.matching.matcher import Matcher
from marketplace.matching.scoring import DemandFacts, ListingFacts, violations_of
from search.evaluation import load_relevance_set, ndcg_at, recall_at
from search.model import SearchDocument
from search.postgres import PostgresSearchBackend, TermCache
from search.settings import index_settings

INDEX = "matching_eval"


@dataclass(frozen=True, slots=True)
class JudgedDemand:
    """A demand with graded listings and, maybe, the listing that is a trap for text-only ranking."""

    facts: DemandFacts
    judgements: Mapping[str, int]
    trap: str | None


@dataclass
class Scores:
    """nDCG@10, recall@10 and constraint violations in the first 10, overall and per demand."""

    ndcg: float = 0.0
    recall: float = 0.0
    violations: int = 0
    per_demand: dict[str, tuple[float, float, int, list[str]]] = field(default_factory=dict)


def load_judged_demands(path: Path) -> list[JudgedDemand]:
    """Read the judged demands."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    return [
        JudgedDemand(
            facts=DemandFacts(
                id=d["id"],
                title=d["title"],
                description=d.get("description") or "",
                field_codes=tuple(d.get("field_codes") or ()),
                budget_min_fen=d.get("budget_min_fen"),
                budget_max_fen=d.get("budget_max_fen"),
                trade_modes=tuple(d.get("trade_modes") or ()),
                min_trl=d.get("min_trl"),
                region_code=d.get("region_code"),
            ),
            judgements=d["judgements"],
            trap=d.get("trap"),
        )
        for d in raw
    ]


def facts_of_document(doc: SearchDocument) -> ListingFacts:
    """A listing's facts from its search document."""
    low, high = doc.price_range
    return ListingFacts(
        id=doc.id,
        title=doc.title,
        field_codes=doc.field_codes,
        trl=doc.trl,
        trade_modes=doc.trade_modes,
        price_floor_fen=low,
        price_ceiling_fen=high,
        region_code=doc.region_code,
    )


def score(
    demands: Sequence[JudgedDemand], ranked: Mapping[str, list[str]], listings: Mapping[str, ListingFacts]
) -> Scores:
    """Average the per-demand figures; count every listing in a first ten that breaks a hard constraint."""
    out = Scores()
    for d in demands:
        ids = ranked[d.facts.id][:10]
        bad = sum(1 for i in ids if violations_of(d.facts, listings[i]))
        ndcg, recall = ndcg_at(ids, d.judgements), recall_at(ids, d.judgements)
        out.per_demand[d.facts.id] = (ndcg, recall, bad, ids)
        out.ndcg += ndcg / len(demands)
        out.recall += recall / len(demands)
        out.violations += bad
    return out


async def evaluate(
    db: AsyncConnection | AsyncSession, relevance_dir: Path, judged_path: Path
) -> tuple[Scores, Scores, list[JudgedDemand]]:
    """Index the relevance set's listings (in the caller's transaction), rank every judged demand both ways."""
    data = load_relevance_set(relevance_dir)
    demands = load_judged_demands(judged_path)
    cache = TermCache()
    backend = PostgresSearchBackend(db, cache=cache)  # type: ignore[arg-type]
    await backend.apply_settings(index_settings(INDEX))
    await backend.clear(INDEX)
    await backend.upsert(INDEX, data.documents)
    await backend.refresh_statistics(INDEX)
    session: Any = db if isinstance(db, AsyncSession) else AsyncSession(bind=db)
    matcher = Matcher(session, cache=cache)
    listings = {d.id: facts_of_document(d) for d in data.documents}
    ours: dict[str, list[str]] = {}
    plain: dict[str, list[str]] = {}
    for d in demands:
        ours[d.facts.id] = [m.listing.id for m in await matcher.listings_for(d.facts, index=INDEX, limit=10)]
        plain[d.facts.id] = await matcher.text_only(d.facts, index=INDEX, limit=10)
    return score(demands, ours, listings), score(demands, plain, listings), demands
