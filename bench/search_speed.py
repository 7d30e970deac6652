"""Search speed: indexing rate of 100,000 listings, and search latency through the HTTP API.

Run: python bench/search_speed.py [--listings 100000] [--queries 1000] [--concurrency 1 16]
                                  [--workers 1] [--processes 1] [--max-seconds 1200] [--shared-buffers 1GB]
                                  [--modes statement uncached cached] [--database-url URL]
                                  [--snapshot-updates 1 100 5000] [--no-compare] [--warm-up 1000]

1. Starts an embedded PostgreSQL in a temporary folder with shared_buffers=1GB (--shared-buffers), or
   uses --database-url / DATABASE_URL (whose `listings` search index it replaces), and migrates it.
2. Generates realistic listings (bench/search_corpus.py: nine SEI categories, 225 subjects, varied
   titles, summaries and descriptions, some English and traditional text) and indexes them with the
   configured engine (analysis in a worker thread overlapping the writes), printing listings/s.
   As the floor of indexing, the same listings are then written as plain JSON rows (no analysis, no
   search index: `--no-baseline-indexing` skips it) and the ratio is printed.
3. Times the in-memory copy of the index (search/memory.py): a whole load, then bringing it up to
   date after --snapshot-updates changed listings (from the rows written since). Then sends the
   1,000 requests to a server answering from its copy and to one running the SQL statement and
   counts identical responses (`--no-compare` skips it).
4. Serves the app with `marketplace serve` in three configurations: `statement` (in-memory copy and
   result cache off: every search runs the engine's SQL statement), `uncached` (the in-memory copy,
   the default, with the result cache off: every request computed) and `cached` (the defaults: the
   1-client pass computes each request, the 16-client pass replays the same ones); waits until the
   server holds its copy; sends the same 1,000 search requests (mixed queries: words, two words,
   traditional, English with typos, one or two characters, empty browse; 3 in 4 with filters; all
   with every facet) at each concurrency with a small keep-alive client, printing p50/p95/p99
   latency and requests/s, next to GET /health (the framework's floor, measured in the same run) and
   the engine's own time (the `took_ms` of each answer), which tells what dominates, and the
   server's resident memory.

The load generator shares the machine's cores with the server and the database: absolute figures
drop with it; compare against the /health floor of the same run. The run stops by itself after
--max-seconds (reporting what it measured).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import clean_env, free_port, http_get, stop_process, wait_ready
from bench.search_corpus import listings, queries

TOOK_RE = re.compile(rb'"took_ms":([0-9.]+)')
TOTAL_RE = re.compile(rb'"total":([0-9]+)')


class Deadline:
    """The whole run's time budget."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @property
    def left(self) -> float:
        return self.end - time.monotonic()


async def index_listings(url: str, count: int, *, batch: int, deadline: Deadline) -> tuple[int, float]:
    """Index `count` generated listings into the `listings` index; (indexed, seconds)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    from marketplace.config import to_asyncpg_url
    from search.engine import get_search_engine
    from search.settings import LISTINGS
    from search.text import get_default_analyzer

    get_default_analyzer().warm_up()
    engine = get_search_engine()
    db = create_async_engine(to_asyncpg_url(url), pool_size=4)
    maker = async_sessionmaker(db, expire_on_commit=False)

    @contextlib.asynccontextmanager
    async def transaction() -> AsyncIterator[AsyncSession]:
        async with maker() as session, session.begin():
            yield session

    async def batches() -> AsyncIterator[list[Any]]:
        chunk: list[Any] = []
        for doc in listings(count):
            chunk.append(doc)
            if len(chunk) == batch:
                yield chunk
                chunk = []
                if deadline.left < 0:
                    return
        if chunk:
            yield chunk

    def progress(done: int) -> None:
        if done % 10_000 < batch:
            print(f"  indexed {done:>7} listings", flush=True)

    try:
        async with transaction() as session:
            backend = engine.backend(session)
            await backend.apply_settings(engine.indexes[LISTINGS])
            await backend.clear(LISTINGS)
        started = time.perf_counter()
        written = await engine.bulk_upsert(LISTINGS, batches(), transaction=transaction, on_written=progress)
        seconds = time.perf_counter() - started
        async with transaction() as session:
            await engine.backend(session).refresh_statistics(LISTINGS)
        if engine.name == "postgres":
            async with db.connect() as conn:
                await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE search.documents"))
                await conn.execute(text("ANALYZE search.stored"))
        return written, seconds
    finally:
        await engine.aclose()
        await db.dispose()


async def snapshot_updates(url: str, changed: Sequence[int]) -> None:
    """Seconds to load the in-memory copy of the index whole, and to bring it up to date after writes."""
    import dataclasses

    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from marketplace.config import to_asyncpg_url
    from search.engine import get_search_engine
    from search.memory import load_snapshot
    from search.settings import LISTINGS

    engine = get_search_engine()
    db = create_async_engine(to_asyncpg_url(url))
    try:
        async with db.connect() as plain:
            conn = await plain.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                base = await load_snapshot(conn, LISTINGS)
        assert base is not None
        print(
            f"in-memory copy: whole index ({base.size:,} documents) loaded in {base.loaded_seconds:.2f}s",
            flush=True,
        )
        generated = list(listings(max(changed), seed=99))
        for n in changed:
            # n documents rewritten with other text (same ids: replaced in place), as an edited listing is
            docs = [dataclasses.replace(doc, id=base.base.doc_ids[i * 7]) for i, doc in enumerate(generated[:n])]
            async with AsyncSession(db) as session, session.begin():
                await engine.backend(session).upsert(LISTINGS, docs)
            async with db.connect() as plain:
                conn = await plain.execution_options(isolation_level="REPEATABLE READ")
                async with conn.begin():
                    updated = await load_snapshot(conn, LISTINGS, base)
            assert updated is not None
            how = "from the changed rows" if updated.delta is not None else "whole (too many changed)"
            print(
                f"  after {n:>5} changed documents: brought up to date {how} in {updated.loaded_seconds:.2f}s"
                f" (x{base.loaded_seconds / max(updated.loaded_seconds, 1e-6):.0f} faster than whole)",
                flush=True,
            )
    finally:
        await engine.aclose()
        await db.dispose()


async def plain_insert(url: str, count: int, *, batch: int) -> tuple[int, float]:
    """The indexing floor: the same generated listings written as plain JSON rows (no analysis, no index)."""
    import json

    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    from marketplace.config import to_asyncpg_url

    db = create_async_engine(to_asyncpg_url(url), pool_size=1)
    insert = text("INSERT INTO plain_listings (doc_id, doc) VALUES (:doc_id, CAST(:doc AS jsonb))")
    try:
        async with db.connect() as conn:
            await conn.execute(text("CREATE TEMPORARY TABLE plain_listings (doc_id text PRIMARY KEY, doc jsonb)"))
            await conn.commit()
            started = time.perf_counter()
            chunk: list[dict[str, str]] = []
            written = 0
            for doc in listings(count):
                chunk.append({"doc_id": doc.id, "doc": json.dumps(doc.as_json(), ensure_ascii=False)})
                if len(chunk) == batch:
                    await conn.execute(insert, chunk)
                    await conn.commit()
                    written, chunk = written + len(chunk), []
            if chunk:
                await conn.execute(insert, chunk)
                await conn.commit()
                written += len(chunk)
            return written, time.perf_counter() - started
    finally:
        await db.dispose()


async def fetch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, bytes]:
    """One GET on a keep-alive connection: (status, body)."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


async def load(host: str, port: int, paths: Sequence[str], concurrency: int) -> dict[str, Any]:
    """Send every path once, `concurrency` at a time; latencies (ms), engine times (ms), errors."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for path in paths:
        queue.put_nowait(path)
    latencies: list[float] = []
    took: list[float] = []
    totals: list[int] = []
    errors: list[str] = []

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while not queue.empty():
                path = queue.get_nowait()
                started = time.perf_counter()
                status, body = await fetch(reader, writer, path)
                latencies.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    errors.append(f"{status} {path[:80]} {body[:200]!r}")
                if match := TOOK_RE.search(body):
                    took.append(float(match.group(1)))
                if match := TOTAL_RE.search(body):
                    totals.append(int(match.group(1)))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return {
        "latencies": latencies,
        "took": took,
        "totals": totals,
        "errors": errors,
        "seconds": time.perf_counter() - started,
    }


def pct(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def report(name: str, result: dict[str, Any]) -> None:
    lat = result["latencies"]
    rate = len(lat) / result["seconds"] if result["seconds"] else 0.0
    line = (
        f"  {name:<28} n={len(lat):>5}  p50 {pct(lat, 50):7.1f} ms  p95 {pct(lat, 95):7.1f} ms"
        f"  p99 {pct(lat, 99):7.1f} ms  {rate:7.0f} req/s"
    )
    if result["took"]:
        took = result["took"]
        line += f"  | engine p50 {pct(took, 50):6.1f} p95 {pct(took, 95):6.1f} ms"
    print(line, flush=True)
    for error in result["errors"][:3]:
        print(f"    error: {error}")


def search_paths(count: int, seed: int = 11) -> list[str]:
    out = []
    for params in queries(count, seed=seed):
        out.append("/api/v1/search/listings?" + urllib.parse.urlencode(params))
    return out


def serve(
    url: str, port: int, workers: int, log: Path, settings: dict[str, str], *, reuse_port: bool = False
) -> subprocess.Popen[bytes]:
    env = clean_env(DATABASE_URL=url, LOG_LEVEL="WARNING", DB_POOL_SIZE="20", DB_MAX_OVERFLOW="10", **settings)
    # As deployed: `marketplace serve` (uvicorn, with the listening socket fix for several workers).
    command = [sys.executable, "-m", "marketplace.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)] + (["--reuse-port"] if reuse_port else [])
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


# (name, the server's search settings, what the figures mean)
MODES: dict[str, tuple[dict[str, str], str]] = {
    "statement": (
        {"SEARCH_RESULT_CACHE_SIZE": "0", "SEARCH_MEMORY": "false"},
        "result cache and in-memory index off: every request runs the engine's SQL statement",
    ),
    "uncached": (
        {"SEARCH_RESULT_CACHE_SIZE": "0"},
        "result cache off, in-memory index on (default): every request is computed from the in-memory copy",
    ),
    "cached": ({}, "defaults (result cache on): each concurrency replays the same requests"),
}


def server_rss_mb(servers: Sequence[subprocess.Popen[bytes]]) -> float:
    """Resident memory of the servers and their worker processes, in MB."""
    import psutil

    roots = [psutil.Process(server.pid) for server in servers]
    return sum(p.memory_info().rss for root in roots for p in [root, *root.children(recursive=True)]) / 1e6


def wait_for_memory(port: int, server: subprocess.Popen[bytes], workers: int, timeout: float = 300) -> float | None:
    """Wait until every worker holds its in-memory copy of the listings index (as /ready reports); seconds taken.

    Which worker answers is up to the kernel: 10 answers in a row per worker must all say so.
    """
    started = time.perf_counter()
    in_a_row = 0
    while time.perf_counter() - started < timeout:
        if server.poll() is not None:
            raise RuntimeError("server exited while loading its in-memory index")
        _status, body = http_get("127.0.0.1", port, "/ready", timeout=5.0)
        in_a_row = in_a_row + 1 if b'"listings"' in body.split(b'"in_memory"', 1)[-1] else 0
        if in_a_row >= 10 * workers:
            return time.perf_counter() - started
        time.sleep(0.5 if in_a_row == 0 else 0.01)
    return None


def measure(url: str, args: argparse.Namespace, mode: str, deadline: Deadline) -> dict[int, dict[str, Any]]:
    """Serve the app in one configuration and load it at each concurrency; p95 per concurrency.

    Computed modes (`statement`, `uncached`) start a fresh server for each concurrency and warm it up
    with --warm-up other requests (another seed of the same generator, as a server that has been
    serving traffic): what it remembers about words and texts comes from those, never from the
    measured mix (the 1-client pass does not warm the 16-client one). `cached` keeps one server: its
    16-client pass replays the mix (cache hits).
    """
    settings, meaning = MODES[mode]
    figures: dict[int, dict[str, Any]] = {}
    paths = search_paths(args.queries)
    warm_up = search_paths(args.warm_up, seed=12)
    fresh = mode != "cached"
    print(
        f"search, {mode} ({meaning}): {len(paths)} requests (facets=all; 3 in 4 with filters),"
        f" server processes={args.processes} (uvicorn workers each={args.workers})"
        + (", fresh servers per concurrency" if fresh else ""),
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="search-speed-log-") as tmp:
        servers: list[subprocess.Popen[bytes]] = []
        logs: list[Path] = []
        port = 0
        try:
            for concurrency in args.concurrency:
                if deadline.left < 30:
                    print("  (time budget spent; stopping)")
                    break
                if not servers or fresh:
                    for server in servers:
                        stop_process(server)
                    port = free_port()
                    servers = []
                    for _ in range(args.processes):
                        logs.append(Path(tmp) / f"server-{len(logs)}.log")
                        servers.append(
                            serve(url, port, args.workers, logs[-1], settings, reuse_port=args.processes > 1)
                        )
                    for server in servers:
                        wait_ready("127.0.0.1", port, server, timeout=120)
                    if settings.get("SEARCH_MEMORY") != "false":
                        loaded = wait_for_memory(port, servers[0], args.workers * args.processes)
                        print(
                            "  in-memory index: "
                            + (f"loaded {loaded:.1f}s after /ready" if loaded is not None else "NOT loaded"),
                            flush=True,
                        )
                    print(f"  server memory after start: {server_rss_mb(servers):,.0f} MB RSS", flush=True)
                    asyncio.run(load("127.0.0.1", port, warm_up if fresh else paths[:200], 4))
                health = asyncio.run(load("127.0.0.1", port, ["/health"] * len(paths), concurrency))
                result = asyncio.run(load("127.0.0.1", port, paths, concurrency))
                print(f"concurrency {concurrency}:")
                report("GET /health (floor)", health)
                report("GET /api/v1/search/listings", result)
                totals = result["totals"]
                if totals:
                    print(f"    matches per query: median {statistics.median(totals):.0f}, max {max(totals)}")
                figures[concurrency] = {"search": result, "health": health}
        finally:
            for server in servers:
                stop_process(server)
            for log in logs:
                text = log.read_text(errors="replace").strip()
                if "Traceback" in text:
                    print("server log:\n" + text[-3000:])
    return figures


def compare_answers(url: str, args: argparse.Namespace) -> None:
    """Send the mix to a server answering from its in-memory copy and to one running the SQL statement: same bodies?"""
    took = re.compile(rb'"took_ms":[0-9.e+-]+')
    with tempfile.TemporaryDirectory(prefix="search-compare-") as tmp:
        servers = []
        try:
            for name, settings in (("statement", MODES["statement"][0]), ("memory", MODES["uncached"][0])):
                port = free_port()
                server = serve(url, port, 1, Path(tmp) / f"{name}.log", settings)
                servers.append((port, server))
                wait_ready("127.0.0.1", port, server, timeout=120)
            if wait_for_memory(servers[1][0], servers[1][1], 1) is None:
                print("answers: the in-memory copy did not load; nothing compared")
                return
            paths = search_paths(args.queries)
            differ = [
                path
                for path in paths
                if took.sub(b"", http_get("127.0.0.1", servers[0][0], path, timeout=30)[1])
                != took.sub(b"", http_get("127.0.0.1", servers[1][0], path, timeout=30)[1])
            ]
            print(
                f"answers: {len(paths) - len(differ)} of {len(paths)} responses identical (took_ms aside) from the"
                " in-memory copy and from the SQL statement",
                flush=True,
            )
            for path in differ[:3]:
                print(f"  differs: {urllib.parse.unquote(path)}")
        finally:
            for _port, server in servers:
                stop_process(server)


def run(url: str, args: argparse.Namespace) -> None:
    deadline = Deadline(args.max_seconds)
    print(f"indexing {args.listings} generated listings ...", flush=True)
    indexed, seconds = asyncio.run(index_listings(url, args.listings, batch=args.batch, deadline=deadline))
    print(f"indexing: {indexed} listings in {seconds:.1f}s = {indexed / seconds:,.0f} listings/s", flush=True)
    if args.baseline_indexing:
        plain, plain_seconds = asyncio.run(plain_insert(url, args.listings, batch=args.batch))
        rate, plain_rate = indexed / seconds, plain / plain_seconds
        print(
            f"baseline: {plain} listings as plain JSON rows (no analysis, no index) in {plain_seconds:.1f}s"
            f" = {plain_rate:,.0f} listings/s; indexing / baseline = {rate / plain_rate:.2f}",
            flush=True,
        )
    if args.snapshot_updates:
        asyncio.run(snapshot_updates(url, args.snapshot_updates))
    if args.compare:
        compare_answers(url, args)
    results = {mode: measure(url, args, mode, deadline) for mode in args.modes}
    if len(results) > 1:
        print("summary (p95 ms; ratio to the /health floor of the same load):")
        for mode, figures in results.items():
            for concurrency, pair in figures.items():
                p95, floor = pct(pair["search"]["latencies"], 95), pct(pair["health"]["latencies"], 95)
                print(
                    f"  {mode:<9} {concurrency:>3} clients: p95 {p95:7.1f} ms  (/health p95 {floor:5.1f} ms, x{p95 / floor:.0f})"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes per server")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="independent `marketplace serve --reuse-port` processes on one port (the kernel spreads connections)",
    )
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--modes", nargs="*", choices=list(MODES), default=list(MODES), help="server search configurations to measure"
    )
    parser.add_argument(
        "--baseline-indexing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time plain inserts of the same listings (the floor of indexing)",
    )
    parser.add_argument("--max-seconds", type=float, default=1200.0, help="stop after this long")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument(
        "--snapshot-updates",
        type=int,
        nargs="*",
        default=[1, 100, 5_000],
        help="after indexing: time a whole load of the in-memory copy, then its updates after this many changed listings",
    )
    parser.add_argument(
        "--warm-up",
        type=int,
        default=1_000,
        help="computed modes: requests of another query seed a fresh server answers before each measured pass",
    )
    parser.add_argument(
        "--compare",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="check that the in-memory copy and the SQL statement answer the mix identically",
    )
    parser.add_argument(
        "--shared-buffers", default="1GB", help="the private embedded server's cache ('' keeps its default)"
    )
    args = parser.parse_args()
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    if args.database_url:
        upgrade(args.database_url)
        run(args.database_url, args)
        return

    with tempfile.TemporaryDirectory(prefix="search-speed-") as tmp:
        server, url = start_embedded(Path(tmp), "speed")
        try:
            if args.shared_buffers:
                # 100,000 listings take ~400 MB of tables and indexes; the server's default 128 MB cache
                # would make every query read from the OS page cache.
                server.psql(f"ALTER SYSTEM SET shared_buffers = '{args.shared_buffers}'")
                server.pg_ctl("restart", "-w", "-m", "fast")
                print(f"embedded PostgreSQL: shared_buffers = {server.psql('SHOW shared_buffers').strip()}")
            upgrade(url)
            run(url, args)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
