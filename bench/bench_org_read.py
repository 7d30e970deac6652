"""Requests/second of GET /api/v1/organizations/{id}: the real app versus a bare Litestar + asyncpg app.

Both apps run under uvicorn (1 worker, same flags, same host) as subprocesses on free ports, against
one embedded PostgreSQL in a temporary folder (migrated, demo data seeded), and are loaded by the
same client in the same run, alternating app/bare for --rounds rounds. The client is wrk if present,
else oha, else a small keep-alive asyncio client (which shares the CPU with the servers).

    .venv/bin/python -m bench.bench_org_read --seconds 10 --concurrency 32
    .venv/bin/python -m bench.bench_org_read --profile   # also samples the app with py-spy
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also runnable as a plain script

from bench.common import ROOT, clean_env, free_port, http_get, stop_process, wait_ready

HOST = "127.0.0.1"
DEMO_USER = "cto@yunfan.example"  # an enterprise member reading an institute's public profile
TARGET_RATIO = 0.5


@dataclass
class LoadResult:
    """One load run against one server."""

    rps: float
    requests: int
    non_2xx: int = 0
    errors: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None


@dataclass
class Server:
    """A uvicorn subprocess."""

    name: str
    app: str
    port: int
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen | None = None
    results: list[LoadResult] = field(default_factory=list)

    def start(self) -> None:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            self.app,
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            "1",
            "--no-access-log",
            "--proxy-headers",
            "--log-level",
            "warning",
            "--app-dir",
            str(ROOT),
        ]
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        wait_ready(HOST, self.port, self.proc, timeout=60)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


# ---------------------------------------------------------------- database


def prepare_database(data_dir: Path) -> tuple[object, str, str, str]:
    """Start the embedded server, migrate, seed the demo data; return (server, url, org id, api key)."""
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    server, url = start_embedded(data_dir, "marketplace_bench")
    upgrade(url)
    org_id = asyncio.run(_seed(url))
    from marketplace.demo import demo_key

    return server, url, org_id, demo_key(DEMO_USER)


async def _seed(url: str) -> str:
    from sqlalchemy import text

    from marketplace.config import Settings
    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.demo import seed_demo

    engine = make_engine(Settings(database_url=url))
    try:
        async with make_sessionmaker(engine)() as session:
            await seed_demo(session)
            await session.commit()
        async with engine.connect() as conn:
            row = await conn.execute(
                text("SELECT id FROM organizations WHERE kind = 'institute' ORDER BY credit_code LIMIT 1")
            )
            return str(row.scalar_one())
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- load clients


def pick_client(wanted: str) -> str:
    """wrk, oha or python."""
    if wanted != "auto":
        if wanted != "python" and shutil.which(wanted) is None:
            raise SystemExit(f"{wanted} is not installed")
        return wanted
    for tool in ("wrk", "oha"):
        if shutil.which(tool):
            return tool
    return "python"


def run_load(client: str, url: str, key: str, *, seconds: float, concurrency: int, threads: int) -> LoadResult:
    """One timed run of the chosen client."""
    if client == "wrk":
        return _wrk(url, key, seconds, concurrency, threads)
    if client == "oha":
        return _oha(url, key, seconds, concurrency)
    return asyncio.run(_python_load(url, key, seconds, concurrency))


def _wrk(url: str, key: str, seconds: float, concurrency: int, threads: int) -> LoadResult:
    out = subprocess.run(
        [
            "wrk",
            f"-t{max(1, min(threads, concurrency))}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {key}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def grab(pattern: str, default: str = "0") -> str:
        m = re.search(pattern, out)
        return m.group(1) if m else default

    def ms(value: str | None) -> float | None:
        if value is None:
            return None
        num, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(num) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", grab(r"Socket errors: (.*)", "")))
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    return LoadResult(
        rps=float(grab(r"Requests/sec:\s+([\d.]+)")),
        requests=int(grab(r"(\d+) requests in")),
        non_2xx=int(grab(r"Non-2xx or 3xx responses: (\d+)")),
        errors=errors,
        p50_ms=ms(p50.group(1) if p50 else None),
        p99_ms=ms(p99.group(1) if p99 else None),
    )


def _oha(url: str, key: str, seconds: float, concurrency: int) -> LoadResult:
    base = ["oha", "-z", f"{max(1, round(seconds))}s", "-c", str(concurrency), "--no-tui"]
    base += ["-H", f"Authorization: Bearer {key}", url]
    proc = subprocess.run([*base[:-1], "--output-format", "json", url], capture_output=True, text=True)
    if proc.returncode != 0:  # older oha
        proc = subprocess.run([*base[:-1], "-j", url], capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout)
    codes = {int(k): v for k, v in data.get("statusCodeDistribution", {}).items()}
    total = sum(codes.values())
    pct = data.get("latencyPercentiles", {})
    return LoadResult(
        rps=float(data["summary"]["requestsPerSec"]),
        requests=total,
        non_2xx=sum(v for k, v in codes.items() if not 200 <= k < 300),
        # requests cut off by the -z deadline are not failures
        errors=sum(v for k, v in data.get("errorDistribution", {}).items() if "deadline" not in k.lower()),
        p50_ms=pct["p50"] * 1000 if pct.get("p50") is not None else None,
        p99_ms=pct["p99"] * 1000 if pct.get("p99") is not None else None,
    )


async def _python_load(url: str, key: str, seconds: float, concurrency: int) -> LoadResult:
    """Keep `concurrency` HTTP/1.1 keep-alive connections busy for `seconds`."""
    m = re.fullmatch(r"http://([^:/]+):(\d+)(/.*)", url)
    if m is None:
        raise ValueError(url)
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\nAccept: */*\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    latencies: list[float] = []
    counts = collections.Counter()

    async def one_connection() -> None:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while loop.time() < deadline:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                started = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length, close = 0, False
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                    elif name == b"transfer-encoding":
                        raise RuntimeError("chunked responses are not supported by the python client")
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                counts["ok" if 200 <= status < 300 else "non_2xx"] += 1
                if close:
                    writer.close()
                    reader = writer = None
            except (OSError, IndexError, ValueError, asyncio.IncompleteReadError):
                counts["errors"] += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    started = loop.time()
    await asyncio.gather(*(one_connection() for _ in range(concurrency)))
    elapsed = loop.time() - started
    done = counts["ok"] + counts["non_2xx"]
    qs = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else None
    return LoadResult(
        rps=done / elapsed,
        requests=done,
        non_2xx=counts["non_2xx"],
        errors=counts["errors"],
        p50_ms=qs[49] * 1000 if qs else None,
        p99_ms=qs[98] * 1000 if qs else None,
    )


# ---------------------------------------------------------------- profiling


def profile_app(server: Server, client: str, url: str, key: str, args: argparse.Namespace, out_dir: Path) -> None:
    """Sample the app process with py-spy during one load run and summarise where its time goes."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists() and shutil.which("py-spy") is None:
        print("\npy-spy is not installed (pip install py-spy); no profile")
        return
    assert server.proc is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "app-profile.txt"
    speedscope = out_dir / "app-profile.speedscope.json"
    duration = max(2, round(args.seconds))
    # Two samplers would distort each other: take the collapsed stacks, then render them for speedscope.
    spy = subprocess.Popen(
        [py_spy, "record", "-p", str(server.proc.pid), "-d", str(duration), "-r", "200", "-f", "raw", "-o", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    result = run_load(client, url, key, seconds=duration, concurrency=args.concurrency, threads=args.threads)
    _, err = spy.communicate(timeout=duration + 30)
    if spy.returncode != 0 or not raw.exists():
        print(f"\npy-spy failed ({spy.returncode}): {err.strip()[-500:]}")
        return
    print(f"\nprofile run (py-spy attached, 200 Hz): app {result.rps:,.0f} req/s; stacks in {raw}")
    summarise_profile(raw, speedscope)


def _package(frame: str) -> str:
    """The top-level package (or stdlib module) a py-spy frame belongs to."""
    m = re.search(r"\((.*):\d+\)$", frame.strip())
    if m is None:
        return "<no python frame>"
    path = m.group(1)
    if path.startswith("<sqlalchemy generated"):
        return "sqlalchemy"
    path = path.split("site-packages/")[-1]
    parts = path.split("/")
    if parts[0] == "marketplace" and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py")


def _root(frames: list[str]) -> str:
    first = frames[0]
    if first.startswith(("Session.", "AsyncSession.")) or "greenlet" in first:
        return "SQLAlchemy sync code run in greenlets (queries, ORM loading, commit)"
    if "Thread._bootstrap" in first:
        return "worker threads (sync guards/dependencies run off the event loop)"
    if not first.strip():
        return "no Python frame (C code, GC)"
    return "event loop (uvicorn, Litestar, middleware, handlers, asyncpg I/O)"


def summarise_profile(raw: Path, speedscope: Path) -> None:
    """Print busy time by stack root and by package, the hottest functions, and the request stages."""
    by_root: collections.Counter[str] = collections.Counter()
    self_by_pkg: collections.Counter[str] = collections.Counter()
    self_by_fn: collections.Counter[str] = collections.Counter()
    incl_by_fn: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = stack.split(";")
        # A pool thread waiting for work is idle, though py-spy sees it blocked in a lock, not in the selector.
        if frames[-1].startswith("_worker (") and "concurrent/futures/thread.py" in frames[-1]:
            continue
        n = int(count)
        total += n
        by_root[_root(frames)] += n
        self_by_pkg[_package(frames[-1])] += n
        self_by_fn[_short(frames[-1])] += n
        for fn in {_short(f) for f in frames}:
            incl_by_fn[fn] += n
    if not total:
        print("no samples")
        return
    print(f"{total} busy samples (idle waits are not sampled); SQLAlchemy's sync side shows as separate stacks")
    print("\nbusy time by where it runs:")
    for name, n in by_root.most_common():
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("\nself time by package:")
    for pkg, n in self_by_pkg.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {pkg}")
    print("\nhottest functions (self):")
    for fn, n in self_by_fn.most_common(15):
        print(f"  {100 * n / total:5.1f}%  {fn}")
    print("\ninclusive time of request stages (event-loop side only; nested stages count in their parents):")
    stages = (
        "RequestContextMiddleware.handle",
        "BoundLogger.info",
        "PrometheusMiddleware.__call__",
        "UnitOfWorkMiddleware.handle",
        "UnitOfWorkMiddleware.handle.<locals>.settle",
        "AuthenticationMiddleware.handle",
        "AccountsRepository.principal_for_key",
        "IdempotencyMiddleware.handle",
        "BaseRouteHandler.authorize_connection",
        "KwargsModel.resolve_dependencies",
        "OrganizationController.get_one",
        "HTTPRouteHandler.to_response",
        "H11Protocol.data_received",
        "_SelectorSocketTransport.write",
    )
    for name in stages:
        hits = [n for fn, n in incl_by_fn.items() if fn.split(" (")[0] == name]
        if hits:
            print(f"  {100 * max(hits) / total:5.1f}%  {name}")
    _write_speedscope(raw, speedscope)


def _short(frame: str) -> str:
    m = re.fullmatch(r"(.*) \((.*?):(\d+)\)", frame.strip())
    if not m:
        return frame.strip() or "<no python frame>"
    return f"{m.group(1)} ({m.group(2).split('site-packages/')[-1]})"


def _write_speedscope(raw: Path, target: Path) -> None:
    frames: list[dict[str, str]] = []
    index: dict[str, int] = {}
    samples: list[list[int]] = []
    weights: list[int] = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        ids = []
        for frame in stack.split(";"):
            if frame not in index:
                index[frame] = len(frames)
                frames.append({"name": frame})
            ids.append(index[frame])
        samples.append(ids)
        weights.append(int(count))
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "sampled",
                "name": "app",
                "unit": "none",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            }
        ],
    }
    target.write_text(json.dumps(doc))
    print(f"\nflame graph: load {target} into speedscope")


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration of each run")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up before each measured run")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="app/bare pairs, alternating which goes first")
    parser.add_argument("--client", choices=("auto", "wrk", "oha", "python"), default="auto")
    parser.add_argument("--profile", action="store_true", help="sample the app with py-spy after measuring")
    parser.add_argument("--profile-if-below", action="store_true", help="profile only when the ratio misses the target")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where profiles go")
    parser.add_argument(
        "--app-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the real app"
    )
    args = parser.parse_args()

    client = pick_client(args.client)
    tmp = Path(tempfile.mkdtemp(prefix="marketplace-bench-"))
    pg = None
    servers: list[Server] = []
    try:
        started = time.perf_counter()
        pg, url, org_id, key = prepare_database(tmp / "data")
        print(f"database ready in {time.perf_counter() - started:.1f}s (embedded, migrated, demo data)")
        base_env = clean_env(DATABASE_URL=url)
        app_env = dict(base_env, **dict(item.split("=", 1) for item in args.app_env))
        servers = [
            Server("app", "marketplace.app:create_app", free_port(), app_env, tmp / "app.log"),
            Server("bare", "bench.bare_app:create_app", free_port(), base_env, tmp / "bare.log"),
        ]
        for server in servers:
            server.start()
        path = f"/api/v1/organizations/{org_id}"
        check_same_answer(servers, path, key)

        print(
            f"client: {client}; {args.concurrency} connections; {args.warmup:g}s warm-up + {args.seconds:g}s "
            f"per run; {args.rounds} round(s); {os.cpu_count()} CPU(s)"
        )
        if client == "python":
            print("note: the python client runs on the same cores as the servers; prefer wrk or oha")
        print(f"\n{'round':>5}  {'server':<6} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'errors':>7}")
        for rnd in range(args.rounds):
            order = servers if rnd % 2 == 0 else servers[::-1]
            for server in order:
                target = f"http://{HOST}:{server.port}{path}"
                if args.warmup > 0:
                    run_load(
                        client, target, key, seconds=args.warmup, concurrency=args.concurrency, threads=args.threads
                    )
                r = run_load(
                    client, target, key, seconds=args.seconds, concurrency=args.concurrency, threads=args.threads
                )
                server.results.append(r)
                print(
                    f"{rnd + 1:>5}  {server.name:<6} {r.rps:>10,.0f} {_fmt(r.p50_ms):>8} {_fmt(r.p99_ms):>8} "
                    f"{r.non_2xx:>8} {r.errors:>7}"
                )
        app, bare = servers
        app_rps = statistics.mean(r.rps for r in app.results)
        bare_rps = statistics.mean(r.rps for r in bare.results)
        ratio = app_rps / bare_rps if bare_rps else float("nan")
        print(f"\nmean req/s: app {app_rps:,.0f}  bare {bare_rps:,.0f}  ratio app/bare {ratio:.2f}", end="")
        print(f"  (target >= {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'})")
        if any(r.non_2xx or r.errors for s in servers for r in s.results):
            print("WARNING: some responses were not 2xx or failed; see the table")
        if args.profile or (args.profile_if_below and ratio < TARGET_RATIO):
            profile_app(app, client, f"http://{HOST}:{app.port}{path}", key, args, args.out)
    finally:
        for server in servers:
            server.stop()
        if pg is not None:
            pg.stop()  # type: ignore[attr-defined]
        shutil.rmtree(tmp, ignore_errors=True)


def check_same_answer(servers: list[Server], path: str, key: str) -> None:
    """Both servers answer 200 with the same organisation before any load is applied."""
    bodies = []
    for server in servers:
        status, body = http_get(HOST, server.port, path, {"Authorization": f"Bearer {key}"})
        if status != 200:
            raise SystemExit(f"{server.name} answered {status}: {body[:300]!r} (log: {server.log})")
        bodies.append(json.loads(body))
    fields = ("id", "kind", "name_zh", "name_en", "verification_status")
    if [{f: b[f] for f in fields} for b in bodies[:1]] != [{f: b[f] for f in fields} for b in bodies[1:]]:
        raise SystemExit(f"the two servers disagree: {bodies}")


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
