"""Matching speed: top-20 matches for demands over 100,000 listings through the HTTP API, and new-listing fan-out.

Run: python bench/matching_speed.py [--listings 100000] [--requests 400] [--concurrency 1 4 16]
                                    [--targets 10000] [--max-seconds 1500] [--database-url URL]

1. Starts an embedded PostgreSQL (shared_buffers=1GB) in a temporary folder, or uses --database-url /
   DATABASE_URL (whose `listings` search index it replaces), and migrates it.
2. Indexes generated listings (bench/search_corpus.py, as bench/search_speed.py does).
3. Creates enterprises with API keys and open demands written from the same vocabulary (subject,
   application, fields, budget, wanted modes, minimum maturity), and as many saved searches, so that
   demands + saved searches = --targets.
4. Serves the app with uvicorn and sends --requests GET /api/v1/demands/{id}/matches?limit=20 at each
   concurrency, next to GET /health (the framework's floor) and GET /api/v1/search/listings?q=<the
   demand's title>&limit=20 (a plain search of the same demands: the text-only baseline) in the same run.
5. Fan-out: a new published listing is matched against every saved search and open demand with the
   worker's code (one statement), timed; the baseline is the same check made one target at a time (a
   query per saved search), timed on a sample and scaled to all targets. Both run in a transaction that
   is rolled back.

The load generator shares the machine's cores with the server and the database; compare against the
floor and the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import add_actor, free_port, stop_process, wait_ready
from bench.search_corpus import CATEGORIES, MODES, REGIONS, SUBJECTS
from bench.search_speed import Deadline, index_listings, pct, serve

ORGS = 100


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, key: str) -> tuple[int, bytes]:
    """One authenticated GET on a keep-alive connection."""
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\nAuthorization: Bearer {key}\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def load(host: str, port: int, requests: Sequence[tuple[str, str]], concurrency: int) -> dict[str, Any]:
    """Send every (path, key) once, `concurrency` at a time; latencies in ms and errors."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    latencies: list[float] = []
    errors: list[str] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not queue.empty():
                path, key = queue.get_nowait()
                started = time.perf_counter()
                status, body = await fetch(reader, writer, path, key)
                latencies.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    errors.append(f"{status} {path[:80]} {body[:200]!r}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {"latencies": latencies, "errors": errors, "seconds": time.perf_counter() - started}


def report(name: str, result: dict[str, Any]) -> float:
    lat = result["latencies"]
    rate = len(lat) / result["seconds"] if result["seconds"] else 0.0
    print(
        f"  {name:<34} n={len(lat):>5}  p50 {pct(lat, 50):7.1f} ms  p95 {pct(lat, 95):7.1f} ms"
        f"  p99 {pct(lat, 99):7.1f} ms  {rate:7.0f} req/s",
        flush=True,
    )
    for error in result["errors"][:3]:
        print(f"    error: {error}")
    return pct(lat, 95)


def demand_text(rng: random.Random) -> dict[str, Any]:
    """A demand written from the corpus vocabulary."""
    subject = rng.choice(SUBJECTS)
    codes, subjects, applications = CATEGORIES[subject.category]
    application = rng.choice(applications)
    other = rng.choice(subjects)[0]
    budget = rng.choice([None, rng.randint(50, 5000) * 1_000_000])
    return {
        "title": rng.choice([f"寻求{subject.zh}技术", f"{application}用{subject.zh}", f"{subject.zh}合作开发"]),
        "description": f"我司从事{application}，希望引进{subject.zh}相关成果，可结合{other}，要求具备中试条件。",
        "field_codes": [rng.choice(codes)],
        "budget_max_fen": budget,
        "trade_modes": sorted(rng.sample(MODES, rng.randint(0, 3))),
        "min_trl": rng.choice([None, rng.randint(3, 7)]),
        "region_code": rng.choice(REGIONS),
    }


async def seed(url: str, targets: int, *, seed_value: int = 5) -> dict[str, Any]:
    """Enterprises with keys, open demands with match profiles and saved searches (targets in all)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from marketplace.accounts.models import OrganizationKind, Role
    from marketplace.config import to_asyncpg_url
    from marketplace.demands.models import Demand
    from marketplace.kit.credit_code import CHARSET, make_credit_code
    from marketplace.matching.repository import MatchingRepository
    from marketplace.matching.service import demand_profile_tsquery, every_word_tsquery

    rng = random.Random(seed_value)
    codes = random.SystemRandom()
    db = create_async_engine(to_asyncpg_url(url))
    orgs: list[uuid.UUID] = []
    keys: dict[uuid.UUID, str] = {}
    demands: list[tuple[uuid.UUID, uuid.UUID, str]] = []
    try:
        async with AsyncSession(db, expire_on_commit=False) as session, session.begin():
            for n in range(ORGS + 1):
                kind = OrganizationKind.institute if n == ORGS else OrganizationKind.enterprise
                head = "12" if kind is OrganizationKind.institute else "91"
                body = "".join(codes.choice(CHARSET) for _ in range(9))  # fresh on every run
                org, secret = await add_actor(
                    session,
                    kind=kind,
                    name=f"基准{'研究院' if n == ORGS else '企业'}{n}",
                    credit_code=make_credit_code(f"{head}440300{body}"),
                    email=f"bench{n}-{uuid.uuid4().hex[:6]}@example.com",
                    role=Role.owner,
                )
                orgs.append(org.id)
                keys[org.id] = secret
            institute = orgs.pop()
            n_demands = targets // 2
            rows: list[dict[str, Any]] = []
            for _ in range(n_demands):
                org_id = rng.choice(orgs)
                d = demand_text(rng)
                demand = Demand(organization_id=org_id, **d)
                session.add(demand)
                demands.append((demand.id, org_id, d["title"]))
                rows.append({"demand": demand, "title": d["title"], "codes": d["field_codes"]})
            await session.flush()
            profiles = []
            for row in rows:
                tsq = demand_profile_tsquery(row["title"])
                if tsq:
                    parents = sorted({c.split(".")[0] for c in row["codes"]})
                    profiles.append({"id": row["demand"].id, "q": tsq, "parents": parents})
            repo = MatchingRepository(session)
            for start in range(0, len(profiles), 1000):
                await repo.upsert_profiles(profiles[start : start + 1000])
            searches = []
            for _ in range(targets - n_demands):
                subject = rng.choice(SUBJECTS)
                codes = CATEGORIES[subject.category][0]
                searches.append(
                    {
                        "org": rng.choice(orgs),
                        "q": subject.zh,
                        "tsq": every_word_tsquery(subject.zh),
                        "fields": [rng.choice(codes)] if rng.random() < 0.5 else [],
                        "trl_min": rng.choice([None, rng.randint(2, 6)]),
                        "modes": sorted(rng.sample(MODES, rng.randint(0, 2))),
                    }
                )
            await session.execute(
                text(
                    "INSERT INTO saved_searches (id, organization_id, name, query, field_codes, trl_min, trade_modes,"
                    " ip_types, match_query, notify, created_at, updated_at) VALUES (gen_random_uuid(), :org, 'bench',"
                    " :q, CAST(:fields AS varchar[]), :trl_min, CAST(:modes AS varchar[]), '{}', CAST(:tsq AS tsquery),"
                    " true, now(), now())"
                ),
                searches,
            )
        async with db.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            for table in ("demands", "demand_match_profiles", "saved_searches"):
                await conn.execute(text(f"ANALYZE {table}"))
    finally:
        await db.dispose()
    return {"keys": keys, "demands": demands, "institute": institute, "saved_searches": targets - n_demands}


async def fan_out(url: str, institute: uuid.UUID, *, sample: int = 300) -> None:
    """Time one new listing's fan-out (set-based) against the per-target loop baseline (sampled)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from marketplace.config import to_asyncpg_url
    from marketplace.kit.time import utcnow
    from marketplace.listings.models import Listing, ListingStatus
    from marketplace.matching.service import MatchingService

    db = create_async_engine(to_asyncpg_url(url))
    try:
        async with AsyncSession(db, expire_on_commit=False) as session:
            await session.begin()
            listing = Listing(
                organization_id=institute,
                status=ListingStatus.published,
                title_zh="面向智能制造的工业机器人视觉定位与协作机器人力控技术",
                summary="本成果开发机器视觉与工业机器人协同控制，已在智能制造领域完成中试。",
                keywords=["工业机器人", "机器视觉", "协作机器人"],
                field_codes=["2.1", "1.5"],
                trl=7,
                achievement_type="applied_technology",
                trade_modes=["transfer", "non_exclusive_licence", "co_development"],
                pricing_kind="fixed",
                price_fen=80_000_000,
                region_code="440300",
                published_at=utcnow(),
            )
            session.add(listing)
            await session.flush()
            counts = await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM saved_searches), (SELECT count(*) FROM demands WHERE status = 'open')"
                )
            )
            searches, demands = counts.one()
            started = time.perf_counter()
            result = await MatchingService(session).fan_out(listing.id)
            seconds = time.perf_counter() - started
            print(
                f"fan-out of one new listing to {searches} saved searches + {demands} open demands: {seconds:.3f} s "
                f"({result.pairs} new pairs, {result.organizations} organisations, one match.found each)",
                flush=True,
            )
            # Baseline: the same saved-search check, one query per saved search.
            ids = (
                (await session.execute(text("SELECT id FROM saved_searches ORDER BY id LIMIT :n"), {"n": sample}))
                .scalars()
                .all()
            )
            from marketplace.search_api.documents import listing_document
            from search.postgres import PostgresSearchBackend

            doc = listing_document(listing, holder_name="基准研究院", ip_types=[])
            row = PostgresSearchBackend(session).prepare("listings", [doc]).rows[0]
            started = time.perf_counter()
            for search_id in ids:
                await session.execute(
                    text(
                        "SELECT 1 FROM saved_searches s WHERE s.id = :id AND (s.match_query IS NULL OR"
                        " CAST(:tsv AS tsvector) @@ s.match_query) AND (cardinality(s.field_codes) = 0 OR"
                        " s.field_codes && CAST(:fields AS varchar[])) AND (s.trl_min IS NULL OR s.trl_min <= :trl)"
                    ),
                    {"id": search_id, "tsv": row["tsv"], "fields": ["1", "1.5", "2", "2.1"], "trl": 7},
                )
            per = (time.perf_counter() - started) / max(len(ids), 1)
            total = searches + demands
            print(
                f"  baseline, one query per target: {per * 1000:.2f} ms each (measured on {len(ids)}),"
                f" about {per * total:.1f} s for {total} targets; set-based is {per * total / seconds:.0f}x faster",
                flush=True,
            )
            await session.rollback()
    finally:
        await db.dispose()


def run(url: str, args: argparse.Namespace) -> None:
    deadline = Deadline(args.max_seconds)
    if args.skip_index:
        indexed = args.listings
        print(f"reusing the database's listings index (said to hold {indexed} listings)", flush=True)
    else:
        print(f"indexing {args.listings} generated listings ...", flush=True)
        indexed, seconds = asyncio.run(index_listings(url, args.listings, batch=500, deadline=deadline))
        print(f"indexing: {indexed} listings in {seconds:.1f}s", flush=True)
    print(
        f"seeding {ORGS} enterprises, {args.targets // 2} open demands and {args.targets - args.targets // 2} saved searches ...",
        flush=True,
    )
    seeded = asyncio.run(seed(url, args.targets))
    rng = random.Random(3)
    chosen = [rng.choice(seeded["demands"]) for _ in range(args.requests)]
    keys = seeded["keys"]
    matches = [(f"/api/v1/demands/{d}/matches?limit=20", keys[org]) for d, org, _ in chosen]
    plain = [
        ("/api/v1/search/listings?" + urllib.parse.urlencode({"q": title, "limit": 20}), keys[org])
        for _, org, title in chosen
    ]
    health = [("/health", keys[chosen[0][1]])] * len(chosen)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="matching-speed-log-") as tmp:
        log = Path(tmp) / "server.log"
        # no search result cache and no in-memory index: the baseline's searches all run their statement
        server = serve(url, port, 1, log, {"SEARCH_RESULT_CACHE_SIZE": "0", "SEARCH_MEMORY": "false"})
        try:
            wait_ready("127.0.0.1", port, server, timeout=120)
            asyncio.run(load("127.0.0.1", port, matches[:50], 2))  # warm-up
            print(f"matches: {len(matches)} requests of top-20 matches for random demands over {indexed} listings")
            for concurrency in args.concurrency:
                if deadline.left < 60:
                    print("  (time budget spent; stopping)")
                    break
                print(f"concurrency {concurrency}:")
                report("GET /health (floor)", asyncio.run(load("127.0.0.1", port, health, concurrency)))
                report("GET /search/listings?q=title (plain)", asyncio.run(load("127.0.0.1", port, plain, concurrency)))
                report("GET /demands/{id}/matches", asyncio.run(load("127.0.0.1", port, matches, concurrency)))
        finally:
            stop_process(server)
            text = log.read_text(errors="replace").strip()
            if "Traceback" in text:
                print("server log:\n" + text[-3000:])
    asyncio.run(fan_out(url, seeded["institute"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--targets", type=int, default=10_000, help="open demands + saved searches")
    parser.add_argument("--max-seconds", type=float, default=1500.0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--shared-buffers", default="1GB")
    parser.add_argument(
        "--skip-index", action="store_true", help="with --database-url: reuse the listings index of an earlier run"
    )
    args = parser.parse_args()
    if args.database_url:
        run(args.database_url, args)
        return
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="matching-speed-") as tmp:
        server, url = start_embedded(Path(tmp), "speed")
        try:
            if args.shared_buffers:
                server.psql(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
                server.pg_ctl("restart", "-w", "-m", "fast")
            upgrade(url)
            run(url, args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
