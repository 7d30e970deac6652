"""Search relevance: nDCG@10 and recall@10 per query kind, PostgreSQL engine vs a plain baseline.

Run: python bench/search_relevance.py [--per-query] [--database-url URL]

Indexes the judged set in tests/search/relevance/ (67 listings, 67 queries) with the PostgreSQL
search engine and, in the same run, with PostgreSQL's own to_tsvector('simple') over the raw text
(AND semantics, ts_rank), then prints both side by side. Everything happens in one transaction that
is rolled back. Without --database-url (or DATABASE_URL) an embedded server is started in a
temporary folder and migrated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy.ext.asyncio import create_async_engine

from marketplace.config import to_asyncpg_url
from search.evaluation import Evaluation, SimpleBaseline, evaluate, load_relevance_set
from search.model import SearchQuery
from search.postgres import PostgresSearchBackend, TermCache
from search.settings import index_settings

RELEVANCE_DIR = Path(__file__).resolve().parents[1] / "tests" / "search" / "relevance"
INDEX = "relevance"


async def run(url: str, *, per_query: bool) -> None:
    data = load_relevance_set(RELEVANCE_DIR)
    engine = create_async_engine(to_asyncpg_url(url))
    try:
        async with engine.connect() as conn:
            trans = await conn.begin()
            backend = PostgresSearchBackend(conn, cache=TermCache())
            await backend.apply_settings(index_settings(INDEX))
            await backend.clear(INDEX)
            await backend.upsert(INDEX, data.documents)
            await backend.refresh_statistics(INDEX)
            baseline = SimpleBaseline(conn)
            await baseline.index(data.documents)

            async def engine_run(q: str) -> list[str]:
                result = await backend.search(INDEX, SearchQuery(text=q, per_page=10, highlight=False))
                return [h.id for h in result.hits]

            ours = await evaluate(data.queries, engine_run)
            plain = await evaluate(data.queries, baseline.search)
            await trans.rollback()
    finally:
        await engine.dispose()
    report(ours, plain, data.queries, per_query=per_query)


def report(ours: Evaluation, plain: Evaluation, queries, *, per_query: bool) -> None:
    print(f"{'kind':<12} {'n':>3}  {'nDCG@10':>8} {'recall@10':>9}  | baseline {'nDCG@10':>8} {'recall@10':>9}")
    rows = [*ours.per_kind.values(), ours.overall]
    base = {**plain.per_kind, "overall": plain.overall}
    for row in rows:
        b = base[row.kind]
        print(
            f"{row.kind:<12} {row.queries:>3}  {row.ndcg:>8.3f} {row.recall:>9.3f}  |          "
            f"{b.ndcg:>8.3f} {b.recall:>9.3f}"
        )
    gaps = ours.twin_gaps(queries)
    worst = max(gaps.values(), default=0.0)
    print(f"traditional vs simplified twins: largest nDCG gap {worst:+.3f} over {len(gaps)} pairs")
    if per_query:
        print()
        for q in queries:
            ndcg, recall, ranked = ours.per_query[q.id]
            b_ndcg = plain.per_query[q.id][0]
            flag = "  <--" if ndcg < 0.85 else ""
            print(f"{q.id} {q.kind:<11} {ndcg:.3f} {recall:.2f} base {b_ndcg:.3f}  {q.query}  {ranked[:5]}{flag}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-query", action="store_true", help="also print every query's scores and top 5")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.database_url, per_query=args.per_query))
        return
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="search-relevance-") as tmp:
        server, url = start_embedded(Path(tmp), "relevance")
        try:
            upgrade(url)
            asyncio.run(run(url, per_query=args.per_query))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
