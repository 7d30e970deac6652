"""Relevance evaluation: a judged query set, nDCG@k and recall@k per query kind, and a plain baseline.

Judgements are graded 0-3 (3: exactly what was asked; 2: closely related; 1: marginally useful;
unjudged documents count as 0). nDCG uses gains 2^grade - 1; recall@k is the share of documents
graded 1 or more that appear in the first k.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from search.model import SearchDocument

__all__ = [
    "JudgedQuery",
    "KindScore",
    "RelevanceSet",
    "SimpleBaseline",
    "evaluate",
    "load_relevance_set",
    "ndcg_at",
    "recall_at",
]


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    """A query with its kind, graded judgements and (for traditional queries) its simplified twin."""

    id: str
    kind: str
    query: str
    judgements: Mapping[str, int]
    twin: str | None = None


@dataclass(frozen=True, slots=True)
class RelevanceSet:
    """Documents and judged queries."""

    documents: tuple[SearchDocument, ...]
    queries: tuple[JudgedQuery, ...]


def load_relevance_set(folder: Path) -> RelevanceSet:
    """Read listings.json and queries.json from a folder (documents get fixed, distinct publication times)."""
    raw_docs = json.loads((folder / "listings.json").read_text(encoding="utf-8"))
    base = datetime(2026, 1, 1, tzinfo=UTC)
    documents = tuple(
        SearchDocument.from_json({**d, "published_at": (base + timedelta(hours=i)).isoformat()})
        for i, d in enumerate(raw_docs)
    )
    raw_queries = json.loads((folder / "queries.json").read_text(encoding="utf-8"))
    queries = tuple(
        JudgedQuery(id=q["id"], kind=q["kind"], query=q["query"], judgements=q["judgements"], twin=q.get("twin"))
        for q in raw_queries
    )
    return RelevanceSet(documents=documents, queries=queries)


def ndcg_at(ranked: Sequence[str], judgements: Mapping[str, int], k: int = 10) -> float:
    """Normalised discounted cumulative gain of the first k results."""
    dcg = sum((2 ** judgements.get(doc, 0) - 1) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(judgements.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 1.0


def recall_at(ranked: Sequence[str], judgements: Mapping[str, int], k: int = 10) -> float:
    """Share of the relevant documents (grade >= 1) found in the first k results."""
    relevant = {doc for doc, grade in judgements.items() if grade >= 1}
    if not relevant:
        return 1.0
    return len(relevant & set(ranked[:k])) / len(relevant)


@dataclass(frozen=True, slots=True)
class KindScore:
    """Mean nDCG@k and recall@k of the queries of one kind."""

    kind: str
    queries: int
    ndcg: float
    recall: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores per query, per kind and overall."""

    per_query: Mapping[str, tuple[float, float, list[str]]]
    per_kind: Mapping[str, KindScore]
    overall: KindScore

    def twin_gaps(self, queries: Sequence[JudgedQuery]) -> dict[str, float]:
        """For each traditional query: its simplified twin's nDCG minus its own."""
        return {
            q.id: self.per_query[q.twin][0] - self.per_query[q.id][0]
            for q in queries
            if q.twin and q.twin in self.per_query
        }


async def evaluate(
    queries: Sequence[JudgedQuery], run: Callable[[str], Awaitable[list[str]]], *, k: int = 10
) -> Evaluation:
    """Run every query through `run` (text -> ranked ids) and score it."""
    per_query: dict[str, tuple[float, float, list[str]]] = {}
    by_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for q in queries:
        ranked = await run(q.query)
        scores = (ndcg_at(ranked, q.judgements, k), recall_at(ranked, q.judgements, k))
        per_query[q.id] = (*scores, ranked[:k])
        by_kind[q.kind].append(scores)

    def mean(values: list[tuple[float, float]], kind: str) -> KindScore:
        return KindScore(
            kind=kind,
            queries=len(values),
            ndcg=sum(v[0] for v in values) / len(values),
            recall=sum(v[1] for v in values) / len(values),
        )

    everything = [s for values in by_kind.values() for s in values]
    return Evaluation(
        per_query=per_query,
        per_kind={kind: mean(values, kind) for kind, values in sorted(by_kind.items())},
        overall=mean(everything, "overall"),
    )


class SimpleBaseline:
    """What PostgreSQL does out of the box: to_tsvector('simple') over the raw text, ts_rank, AND semantics.

    Lives in a temporary table of the caller's transaction.
    """

    def __init__(self, db: AsyncSession | AsyncConnection) -> None:
        """Bind to a session or connection."""
        self.db = db

    async def index(self, documents: Sequence[SearchDocument]) -> None:
        """Create the temporary table and load the documents."""
        await self.db.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS baseline_docs (id text PRIMARY KEY, tsv tsvector) ON COMMIT DROP"
            )
        )
        rows: list[dict[str, Any]] = [
            {
                "id": d.id,
                "title": " ".join(t for t in (d.title, d.title_en or "") if t),
                "keywords": " ".join(d.keywords),
                "summary": " ".join(t for t in (d.holder_name or "", d.summary) if t),
                "description": d.description,
            }
            for d in documents
        ]
        await self.db.execute(
            text(
                """
                INSERT INTO baseline_docs (id, tsv) VALUES (:id,
                    setweight(to_tsvector('simple', :title), 'A') || setweight(to_tsvector('simple', :keywords), 'B')
                    || setweight(to_tsvector('simple', :summary), 'C') || setweight(to_tsvector('simple', :description), 'D'))
                ON CONFLICT (id) DO UPDATE SET tsv = excluded.tsv
                """
            ),
            rows,
        )

    async def search(self, query: str, *, limit: int = 10) -> list[str]:
        """Ranked ids for a query (websearch syntax, as a search box would pass it)."""
        result = await self.db.execute(
            text(
                """
                SELECT id FROM baseline_docs, websearch_to_tsquery('simple', :q) AS q
                WHERE tsv @@ q ORDER BY ts_rank(tsv, q) DESC, id LIMIT :limit
                """
            ),
            {"q": query, "limit": limit},
        )
        return [row[0] for row in result.all()]
