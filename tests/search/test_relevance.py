"""The judged relevance set (tests/search/relevance/) meets its quality bar on the PostgreSQL engine.

The bar is a property of the ranking, not a timing: nDCG@10 >= 0.92 over all queries and >= 0.85
for every kind of query, traditional-character queries within 0.05 of their simplified twins, and
well above PostgreSQL's own to_tsvector('simple') on the same data. bench/search_relevance.py
prints the same figures per query.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from search.evaluation import Evaluation, SimpleBaseline, evaluate, load_relevance_set
from search.model import SearchQuery
from search.postgres import PostgresSearchBackend, TermCache
from search.settings import index_settings

DATA = load_relevance_set(Path(__file__).parent / "relevance")
INDEX = "relevance"
KINDS = {"one_char", "two_char", "simplified", "traditional", "mixed", "english", "typo", "synonym", "long"}


def test_the_set_is_big_and_varied_enough() -> None:
    assert len(DATA.documents) >= 60
    assert len(DATA.queries) >= 30
    kinds = Counter(q.kind for q in DATA.queries)
    assert set(kinds) == KINDS and min(kinds.values()) >= 3
    fields = {code.split(".")[0] for d in DATA.documents for code in d.field_codes}
    assert fields == {str(n) for n in range(1, 10)}  # all nine SEI categories
    assert sum(1 for d in DATA.documents if d.title_en) >= 20
    ids = {d.id for d in DATA.documents}
    for q in DATA.queries:
        assert q.judgements and set(q.judgements) <= ids, q.id
        assert all(0 <= g <= 3 for g in q.judgements.values()) and max(q.judgements.values()) == 3, q.id
        if q.kind == "traditional":
            assert q.twin is not None, q.id
    assert any("雷射" in q.query for q in DATA.queries)


@pytest.fixture
async def scores(connection: AsyncConnection) -> tuple[Evaluation, Evaluation]:
    backend = PostgresSearchBackend(connection, cache=TermCache())
    await backend.apply_settings(index_settings(INDEX))
    await backend.upsert(INDEX, DATA.documents)
    await backend.refresh_statistics(INDEX)

    async def run(text: str) -> list[str]:
        result = await backend.search(INDEX, SearchQuery(text=text, per_page=10, highlight=False))
        return [h.id for h in result.hits]

    baseline = SimpleBaseline(connection)
    await baseline.index(DATA.documents)
    return await evaluate(DATA.queries, run), await evaluate(DATA.queries, baseline.search)


async def test_relevance_meets_the_bar(scores: tuple[Evaluation, Evaluation]) -> None:
    ours, plain = scores
    report = {k: round(s.ndcg, 3) for k, s in ours.per_kind.items()}
    assert ours.overall.ndcg >= 0.92, report
    for kind, score in ours.per_kind.items():
        assert score.ndcg >= 0.85, f"{kind}: {report}"
    assert ours.overall.recall >= 0.85
    assert ours.overall.ndcg >= plain.overall.ndcg + 0.5  # far beyond what PostgreSQL does out of the box


async def test_traditional_queries_do_as_well_as_their_simplified_twins(scores: tuple[Evaluation, Evaluation]) -> None:
    ours, _ = scores
    gaps = ours.twin_gaps(DATA.queries)
    assert len(gaps) >= 10
    assert all(abs(gap) <= 0.05 for gap in gaps.values()), gaps
    assert abs(ours.per_kind["traditional"].ndcg - ours.per_kind["simplified"].ndcg) <= 0.05
