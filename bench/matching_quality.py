"""Matching quality: nDCG@10, recall@10 and hard-constraint violations, matcher vs a text-only baseline.

Run: python bench/matching_quality.py [--per-demand] [--database-url URL]

Indexes the search relevance set's listings (tests/search/relevance/listings.json) and ranks the judged
demands of tests/matching/evaluation.json twice in the same run: with the matcher (text relevance with
title boost, hard constraints, field/maturity/price/mode/region fit) and with a text-only baseline (the
demand's title and description as one plain search on the same index). Everything happens in one
transaction that is rolled back. Without --database-url (or DATABASE_URL) an embedded server is started
in a temporary folder and migrated.
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
from marketplace.matching.evaluation import JudgedDemand, Scores, evaluate

ROOT = Path(__file__).resolve().parents[1]
RELEVANCE_DIR = ROOT / "tests" / "search" / "relevance"
JUDGED = ROOT / "tests" / "matching" / "evaluation.json"


async def run(url: str, *, per_demand: bool) -> None:
    engine = create_async_engine(to_asyncpg_url(url))
    try:
        async with engine.connect() as conn:
            trans = await conn.begin()
            ours, plain, demands = await evaluate(conn, RELEVANCE_DIR, JUDGED)
            await trans.rollback()
    finally:
        await engine.dispose()
    report(ours, plain, demands, per_demand=per_demand)


def report(ours: Scores, plain: Scores, demands: list[JudgedDemand], *, per_demand: bool) -> None:
    traps = sum(1 for d in demands if d.trap)
    print(f"{len(demands)} judged demands ({traps} whose textually closest listing breaks a hard constraint)")
    print(f"{'':<10} {'nDCG@10':>8} {'recall@10':>9} {'violations':>10}")
    print(f"{'matcher':<10} {ours.ndcg:>8.3f} {ours.recall:>9.3f} {ours.violations:>10}")
    print(f"{'text-only':<10} {plain.ndcg:>8.3f} {plain.recall:>9.3f} {plain.violations:>10}")
    print(f"nDCG@10 gain over text-only: {ours.ndcg - plain.ndcg:+.3f}")
    if per_demand:
        print()
        for d in demands:
            n, r, v, ids = ours.per_demand[d.facts.id]
            bn, _, bv, bids = plain.per_demand[d.facts.id]
            flag = "  <--" if n < 0.9 else ""
            print(
                f"{d.facts.id} {n:.3f} {r:.2f} v{v} | base {bn:.3f} v{bv}  {d.facts.title}  {ids[:4]} | {bids[:3]}{flag}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--per-demand", action="store_true", help="also print every demand's scores and top 4")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if args.database_url:
        asyncio.run(run(args.database_url, per_demand=args.per_demand))
        return
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="matching-quality-") as tmp:
        server, url = start_embedded(Path(tmp), "matching")
        try:
            upgrade(url)
            asyncio.run(run(url, per_demand=args.per_demand))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
