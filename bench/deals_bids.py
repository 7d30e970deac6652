"""Accepted bids/second on one hot auction through the HTTP API, 50 concurrent bidders, and their latency.

The real app runs under uvicorn (subprocess, free port) against an embedded PostgreSQL in a temporary
folder (migrated; organisations, users and keys seeded; listings, auctions, registrations and deposits
made through the API). Two phases, same bidders, same client, same run:

- hot: every bidder bids on ONE auction. Bids serialize on the auction row's lock (SELECT ... FOR UPDATE),
  so this is the contended case the lock is for;
- spread (the baseline): each bidder bids on its own auction, so nothing contends.

Each bid is the next amount of one shared counter (start + n x increment), so a bid is refused (409) only
when a higher one got in first. Afterwards every accepted bid sequence is checked in the database:
sequence numbers 1..n, amounts strictly increasing by whole increments, recorded high = highest bid.

    .venv/bin/python bench/deals_bids.py [--seconds 10] [--bidders 50] [--workers 1] [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also runnable as a plain script

import httpx

from bench.common import ROOT, add_actor, clean_env, free_port, stop_process, wait_ready

HOST = "127.0.0.1"
START, INCREMENT = 1_000_000, 100
TARGET_BIDS_PER_SECOND = 300


@dataclass
class Phase:
    """One measured load phase."""

    name: str
    seconds: float
    attempted: int = 0
    accepted: int = 0
    refused: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def attempted_per_second(self) -> float:
        return self.attempted / self.seconds if self.seconds else 0.0

    def summarise(self) -> None:
        if len(self.latencies_ms) >= 100:
            qs = statistics.quantiles(self.latencies_ms, n=100)
            self.p50_ms, self.p95_ms, self.p99_ms = qs[49], qs[94], qs[98]


# ---------------------------------------------------------------- seeding


async def seed(url: str, bidders: int) -> dict[str, Any]:
    """Organisations, users and API keys, written straight to the database (verified, ready to trade)."""
    from marketplace.accounts.models import OrganizationKind, Role
    from marketplace.config import Settings
    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.kit.credit_code import make_credit_code

    engine = make_engine(Settings(database_url=url))
    counter = itertools.count(1)
    keys: dict[str, Any] = {"bidders": []}
    try:
        async with make_sessionmaker(engine)() as session:

            async def actor(kind: OrganizationKind, name: str) -> str:
                n = next(counter)
                head = "91" if kind is OrganizationKind.enterprise else "12"
                _, secret = await add_actor(
                    session,
                    kind=kind,
                    name=name,
                    credit_code=make_credit_code(f"{head}440300{n:09d}"),
                    email=f"bench{n}@example.com",
                    role=Role.member,
                )
                return secret

            keys["platform"] = await actor(OrganizationKind.platform, "平台运营方")
            keys["seller"] = await actor(OrganizationKind.institute, "压测研究院")
            for i in range(bidders):
                keys["bidders"].append(await actor(OrganizationKind.enterprise, f"竞买企业{i + 1}"))
            await session.commit()
    finally:
        await engine.dispose()
    return keys


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def open_auctions(base: str, keys: dict[str, Any], count: int, *, hours: float) -> list[str]:
    """Publish `count` auction-priced listings and open an auction on each, through the API."""
    ids = []
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(count):
            body = {
                "title_zh": f"压测竞价成果{i + 1}",
                "field_codes": ["6.3"],
                "trl": 6,
                "achievement_type": "applied_technology",
                "trade_modes": ["transfer"],
                "pricing": {"kind": "auction", "start_price_fen": START, "increment_fen": INCREMENT, "deposit_fen": 0},
                "region_code": "440300",
            }
            created = client.post("/api/v1/listings", json=body, headers=auth(keys["seller"]))
            created.raise_for_status()
            listing_id = created.json()["id"]
            submitted = client.post(
                f"/api/v1/listings/{listing_id}/submit",
                headers={**auth(keys["seller"]), "If-Match": created.headers["ETag"]},
            )
            submitted.raise_for_status()
            approved = client.post(
                f"/api/v1/platform/listings/{listing_id}/approve",
                headers={**auth(keys["platform"]), "If-Match": submitted.headers["ETag"]},
            )
            approved.raise_for_status()
            ends = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
            opened = client.post(
                "/api/v1/auctions", json={"listing_id": listing_id, "ends_at": ends}, headers=auth(keys["seller"])
            )
            opened.raise_for_status()
            ids.append(opened.json()["id"])
    return ids


def register(base: str, pairs: list[tuple[str, str]]) -> None:
    """Register each (bidder key, auction); with no deposit, bidding opens at once."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for key, auction_id in pairs:
            response = client.post(f"/api/v1/auctions/{auction_id}/registrations", json={}, headers=auth(key))
            response.raise_for_status()


# ---------------------------------------------------------------- load: python client


async def _python_phase(
    name: str, port: int, targets: list[tuple[str, str]], *, seconds: float, counters: dict[str, Any]
) -> Phase:
    """Each (key, auction) pair is one bidder on one keep-alive connection, bidding as fast as answers come."""
    phase = Phase(name, seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds

    async def bidder(key: str, auction_id: str) -> None:
        reader, writer = await asyncio.open_connection(HOST, port)
        path = f"/api/v1/auctions/{auction_id}/bids"
        try:
            while loop.time() < deadline:
                amount = START + INCREMENT * next(counters[auction_id])
                body = json.dumps({"amount_fen": amount}).encode()
                request = (
                    f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAuthorization: Bearer {key}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                started = time.perf_counter()
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    header, _, value = line.partition(b":")
                    if header.strip().lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                phase.latencies_ms.append((time.perf_counter() - started) * 1000)
                phase.attempted += 1
                if status == 201:
                    phase.accepted += 1
                elif status == 409:
                    phase.refused += 1
                else:
                    phase.errors += 1
        finally:
            writer.close()

    started = loop.time()
    await asyncio.gather(*(bidder(k, a) for k, a in targets))
    phase.seconds = loop.time() - started
    phase.summarise()
    return phase


# ---------------------------------------------------------------- load: wrk


WRK_SCRIPT = """
local keys = {%(keys)s}
local auctions = {%(auctions)s}
local counters = {}
local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  n = n + 1
  local i = ((n - 1) %% #keys) + 1
  local auction = auctions[((n - 1) %% #auctions) + 1]
  counters[auction] = (counters[auction] or 0) + 1
  local body = string.format('{"amount_fen": %%d}', %(start)d + %(increment)d * counters[auction])
  return wrk.format("POST", "/api/v1/auctions/" .. auction .. "/bids",
    {["Authorization"] = "Bearer " .. keys[i], ["Content-Type"] = "application/json"}, body)
end

function done(summary, latency, requests)
  io.write(string.format("P50 %%f\\nP95 %%f\\nP99 %%f\\n", latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("REQUESTS %%d\\nDURATION %%f\\n", summary.requests, summary.duration / 1e6))
end
"""


def _wrk_phase(name: str, port: int, keys: list[str], auctions: list[str], *, seconds: float, out: Path) -> Phase:
    """wrk with one thread (one Lua state, so one counter), `len(keys)` connections; keys rotate per request."""
    script = out / f"{name}.lua"
    lua_list = lambda xs: ", ".join(f'"{x}"' for x in xs)  # noqa: E731
    script.write_text(
        WRK_SCRIPT % {"keys": lua_list(keys), "auctions": lua_list(auctions), "start": START, "increment": INCREMENT}
    )
    result = subprocess.run(
        ["wrk", "-t1", f"-c{len(keys)}", f"-d{max(1, round(seconds))}s", "-s", str(script), f"http://{HOST}:{port}/"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def grab(label: str) -> float:
        m = re.search(rf"^{label} ([\d.]+)$", result, re.M)
        return float(m.group(1)) if m else 0.0

    phase = Phase(name, grab("DURATION") or seconds)
    phase.attempted = int(grab("REQUESTS"))
    phase.p50_ms, phase.p95_ms, phase.p99_ms = grab("P50"), grab("P95"), grab("P99")
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", result)
    phase.refused = int(non_2xx.group(1)) if non_2xx else 0  # split into 409 / other from the database below
    phase.accepted = phase.attempted - phase.refused
    return phase


# ---------------------------------------------------------------- checks


async def check_sequences(url: str, auction_ids: list[str]) -> tuple[int, list[str]]:
    """(accepted bids recorded, anomalies) over the auctions' bid sequences."""
    import asyncpg

    conn = await asyncpg.connect(url)
    problems: list[str] = []
    total = 0
    try:
        for auction_id in auction_ids:
            rows = await conn.fetch(
                "SELECT seq, amount_fen FROM auction_bids WHERE auction_id = $1 ORDER BY seq, placed_at", auction_id
            )
            head = await conn.fetchrow("SELECT high_bid_fen, bid_count FROM auctions WHERE id = $1", auction_id)
            total += len(rows)
            if [r["seq"] for r in rows] != list(range(1, len(rows) + 1)):
                problems.append(f"{auction_id}: sequence numbers are not 1..{len(rows)}")
            if rows and rows[0]["amount_fen"] < START:
                problems.append(f"{auction_id}: first bid under the start price")
            for before, after in itertools.pairwise(rows):
                step = after["amount_fen"] - before["amount_fen"]
                if step <= 0 or step % INCREMENT:
                    problems.append(f"{auction_id}: bid #{after['seq']} is not above #{before['seq']} by increments")
            top = max((r["amount_fen"] for r in rows), default=None)
            if head["high_bid_fen"] != top or head["bid_count"] != len(rows):
                problems.append(f"{auction_id}: recorded high/count {tuple(head)} vs bids ({top}, {len(rows)})")
    finally:
        await conn.close()
    return total, problems


async def count_bids(url: str, auction_ids: list[str]) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM auction_bids WHERE auction_id = ANY($1::uuid[])", auction_ids)
        )
    finally:
        await conn.close()


# ---------------------------------------------------------------- main


def run_phase(
    client: str, name: str, port: int, targets: list[tuple[str, str]], url: str, *, seconds: float, out: Path
) -> Phase:
    auctions = sorted({a for _, a in targets})
    before = asyncio.run(count_bids(url, auctions))
    if client == "wrk":
        keys = [k for k, _ in targets]
        order = [a for _, a in targets]
        phase = _wrk_phase(name, port, keys, order, seconds=seconds, out=out)
    else:
        counters = {a: itertools.count() for a in auctions}
        phase = asyncio.run(_python_phase(name, port, targets, seconds=seconds, counters=counters))
    recorded = asyncio.run(count_bids(url, auctions)) - before
    if client == "wrk":  # wrk only knows 2xx or not; the database knows what was accepted
        phase.refused = phase.attempted - recorded
        phase.accepted = recorded
    return phase


def profile(
    proc: subprocess.Popen[bytes],
    client: str,
    port: int,
    targets: list[tuple[str, str]],
    url: str,
    *,
    seconds: float,
    out: Path,
) -> None:
    """Sample the app with py-spy during one more hot phase and summarise where its time goes."""
    from bench.bench_org_read import summarise_profile

    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(py_spy).exists():
        print("\npy-spy is not installed (pip install py-spy); no profile")
        return
    out.mkdir(parents=True, exist_ok=True)
    raw = out / "bids-profile.txt"
    duration = max(2, round(seconds))
    spy = subprocess.Popen(
        [py_spy, "record", "-p", str(proc.pid), "-d", str(duration), "-r", "200", "-f", "raw", "-o", str(raw)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.5)
    phase = run_phase(client, "profiled", port, targets, url, seconds=duration, out=out)
    spy.communicate(timeout=duration + 30)
    print(f"\nprofiled hot phase: {phase.attempted_per_second:,.0f} bids/s attempted; stacks in {raw}")
    summarise_profile(raw, out / "bids-profile.speedscope.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured duration of each phase")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up before the measured phases")
    parser.add_argument("--bidders", type=int, default=50, help="concurrent bidders (connections)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--profile", action="store_true", help="sample the app with py-spy during one more hot phase")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out", help="where the profile goes")
    parser.add_argument(
        "--app-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the app"
    )
    args = parser.parse_args()
    client = args.client if args.client != "auto" else ("wrk" if shutil.which("wrk") else "python")

    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="marketplace-bench-bids-"))
    pg = None
    proc: subprocess.Popen[bytes] | None = None
    try:
        started = time.perf_counter()
        pg, url = start_embedded(tmp / "data", "marketplace_bench")
        upgrade(url)
        keys = asyncio.run(seed(url, args.bidders))
        port = free_port()
        env = clean_env(DATABASE_URL=url, **dict(item.split("=", 1) for item in args.app_env))
        cmd = [
            sys.executable, "-m", "uvicorn", "marketplace.app:create_app", "--factory", "--host", HOST,
            "--port", str(port), "--workers", str(args.workers), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        with (tmp / "app.log").open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_ready(HOST, port, proc, timeout=60)
        base = f"http://{HOST}:{port}"
        hot = open_auctions(base, keys, 1, hours=2)
        spread = open_auctions(base, keys, args.bidders, hours=2)
        warm = open_auctions(base, keys, 1, hours=2)
        bidders = keys["bidders"]
        register(base, [(k, hot[0]) for k in bidders] + [(k, warm[0]) for k in bidders])
        register(base, list(zip(bidders, spread, strict=True)))
        print(
            f"ready in {time.perf_counter() - started:.1f}s: embedded PostgreSQL, {args.bidders} verified bidders, "
            f"{2 + args.bidders} auctions opened and registered through the API"
        )
        print(f"client: {client}; {args.bidders} connections; uvicorn workers: {args.workers}; {os.cpu_count()} CPU(s)")
        if client == "python":
            print("note: the python client shares the CPUs with the server and PostgreSQL; wrk loads less")
        if args.warmup > 0:
            run_phase(
                client, "warmup", port, [(k, warm[0]) for k in keys["bidders"]], url, seconds=args.warmup, out=tmp
            )
        phases = [
            run_phase(client, "hot", port, [(k, hot[0]) for k in keys["bidders"]], url, seconds=args.seconds, out=tmp),
            run_phase(
                client,
                "spread",
                port,
                list(zip(keys["bidders"], spread, strict=True)),
                url,
                seconds=args.seconds,
                out=tmp,
            ),
        ]
        print(f"\n{'phase':<8} {'accepted/s':>11} {'attempts/s':>11} {'accepted':>9} {'refused':>8} {'errors':>7} "
              f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")  # fmt: skip
        for p in phases:
            print(
                f"{p.name:<8} {p.accepted_per_second:>11,.0f} {p.attempted_per_second:>11,.0f} {p.accepted:>9} "
                f"{p.refused:>8} {p.errors:>7} {_fmt(p.p50_ms):>8} {_fmt(p.p95_ms):>8} {_fmt(p.p99_ms):>8}"
            )
        if args.profile:
            profile(proc, client, port, [(k, hot[0]) for k in keys["bidders"]], url, seconds=args.seconds, out=args.out)
        recorded, problems = asyncio.run(check_sequences(url, hot + spread + warm))
        hot_phase, spread_phase = phases
        ratio = hot_phase.accepted_per_second / spread_phase.accepted_per_second if spread_phase.accepted else 0.0
        print(f"\nhot auction: {hot_phase.accepted_per_second:,.0f} accepted bids/s", end="")
        print(
            f" (target >= {TARGET_BIDS_PER_SECOND}: {'met' if hot_phase.accepted_per_second >= TARGET_BIDS_PER_SECOND else 'MISSED'})"
        )
        print(f"ratio hot/spread (cost of serializing on one auction row): {ratio:.2f}")
        print(f"anomalies in {recorded} recorded bids over {len(hot + spread + warm)} auctions: {len(problems)}")
        for problem in problems[:10]:
            print(f"  {problem}")
        if any(p.errors for p in phases):
            print(f"WARNING: some bids failed with an unexpected status; see {tmp / 'app.log'}")
    finally:
        if proc is not None:
            stop_process(proc)
        if pg is not None:
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


if __name__ == "__main__":
    main()
