"""Soak: a mixed workload at a steady rate for minutes, with latency per kind of operation and the API's memory.

The real app runs under uvicorn (one process, free port) with the outbox worker beside it, against an
embedded PostgreSQL in a temporary folder, migrated and seeded (the demo organisations, plus sellers, buyers
and a platform operator with API keys; published listings, open auctions with registered bidders and open
demands made through the API). Then operations are started at a fixed rate (open loop: one every 1/rate
seconds, whatever the answers do; at most --max-in-flight at once), each drawn from OPERATIONS by weight:

- browse:    GET /api/v1/listings (a page, sometimes filtered by field)
- search:    GET /api/v1/search/listings?q=... (simplified and traditional queries)
- read:      GET /api/v1/listings/{id}
- negotiate: a buyer opens an inquiry, the seller replies, the buyer makes an offer, then calls it off
- bid:       POST /api/v1/auctions/{id}/bids (the next amount; 409 when a higher bid got in first is fine)
- match:     GET /api/v1/demands/{id}/matches (as the demand's enterprise)
- pay:       the platform records a bank transfer against a signed deal's milestone reference (an instalment,
             through the ledger), then the payer reads its balances
  (a kind whose route is not in the app's spec is skipped)

It prints, per kind: operations, errors (5xx, transport failures and any status the kind does not expect),
p50/p95/p99 latency; the throughput; and the API process's RSS after the warm-up and at the end, with the
growth (target: no errors, growth under 10%). The first --warmup-seconds run the same mix but are not counted.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 20] [--warmup-seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also runnable as a plain script

import httpx
import psutil

from bench.common import ROOT, add_actor, clean_env, free_port, stop_process, wait_ready

HOST = "127.0.0.1"
API = "/api/v1"
TOPICS = [
    "钙钛矿太阳能电池",
    "锂电池正极材料",
    "工业机器人视觉",
    "石墨烯散热膜",
    "氢燃料电池",
    "中药有效成分提取",
    "芯片封装",
    "污水处理膜",
]
SUFFIXES = ["制备技术", "检测方法", "控制系统", "工艺优化", "成套装备"]
QUERIES = ["钙钛矿", "鋰電池", "机器人", "石墨烯", "氢燃料", "中藥", "芯片", "膜", "制备 技术", "perovskite"]
FIELDS = ["6.3", "2.1", "3.1", "4.1"]
AUCTION_START, AUCTION_INCREMENT = 1_000_000, 10_000


# ---------------------------------------------------------------- the world the load runs in


@dataclass
class World:
    """Keys and ids the operations draw from."""

    platform: str
    sellers: list[str]
    buyers: list[str]
    negotiable: list[tuple[str, str]] = field(default_factory=list)  # (listing id, seller key)
    listing_ids: list[str] = field(default_factory=list)
    auctions: list[str] = field(default_factory=list)
    pair_list: list[tuple[str, str, str]] = field(default_factory=list)  # (buyer key, listing id, seller key)
    pairs: asyncio.Queue[tuple[str, str, str]] | None = None  # the pairs not in use, made per event loop
    bid_counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    demand_ids: list[tuple[str, str]] = field(default_factory=list)  # (demand id, owner key)
    payables: list[tuple[str, str]] = field(default_factory=list)  # (payment reference, payer key)


def auth(key: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", **extra}


async def seed_accounts(url: str, *, sellers: int, buyers: int) -> dict[str, Any]:
    """The demo organisations, then verified sellers, buyers and a platform operator with keys (straight to the DB)."""
    from marketplace.accounts.models import OrganizationKind, Role
    from marketplace.config import Settings
    from marketplace.db.engine import make_engine, make_sessionmaker
    from marketplace.demo import seed_demo
    from marketplace.kit.credit_code import make_credit_code

    engine = make_engine(Settings(database_url=url))
    counter = itertools.count(1)
    try:
        async with make_sessionmaker(engine)() as session:
            await seed_demo(session)

            async def actor(kind: OrganizationKind, name: str, role: Role = Role.admin) -> str:
                n = next(counter)
                head = "91" if kind is OrganizationKind.enterprise else "12"
                _, secret = await add_actor(
                    session,
                    kind=kind,
                    name=name,
                    credit_code=make_credit_code(f"{head}440300{n:09d}"),
                    email=f"soak{n}@example.com",
                    role=role,
                    key_name="soak",
                )
                return secret

            keys = {
                "platform": await actor(OrganizationKind.platform, "平台运营方"),
                "sellers": [await actor(OrganizationKind.institute, f"压测研究院{i + 1}") for i in range(sellers)],
                "buyers": [await actor(OrganizationKind.enterprise, f"压测企业{i + 1}") for i in range(buyers)],
            }
            await session.commit()
    finally:
        await engine.dispose()
    return keys


def _publish(client: httpx.Client, world: World, seller: str, body: dict[str, Any]) -> str:
    created = client.post(f"{API}/listings", json=body, headers=auth(seller))
    created.raise_for_status()
    listing_id = str(created.json()["id"])
    submitted = client.post(
        f"{API}/listings/{listing_id}/submit", headers=auth(seller, **{"If-Match": created.headers["ETag"]})
    )
    submitted.raise_for_status()
    approved = client.post(
        f"{API}/platform/listings/{listing_id}/approve",
        headers=auth(world.platform, **{"If-Match": submitted.headers["ETag"]}),
    )
    approved.raise_for_status()
    return listing_id


def build_market(
    base: str, keys: dict[str, Any], *, listings: int, auctions: int, demands: int, paying: int = 8
) -> World:
    """Published listings (negotiable and auction-priced), open auctions with every buyer registered, demands,
    and signed deals whose milestones are paid in instalments by the `pay` operation."""
    world = World(platform=keys["platform"], sellers=keys["sellers"], buyers=keys["buyers"])
    rng = random.Random(7)
    with httpx.Client(base_url=base, timeout=60) as client:
        for i in range(listings + auctions):
            seller = world.sellers[i % len(world.sellers)]
            auction = i >= listings
            pricing: dict[str, Any] = (
                {
                    "kind": "auction",
                    "start_price_fen": AUCTION_START,
                    "increment_fen": AUCTION_INCREMENT,
                    "deposit_fen": 0,
                }
                if auction
                else {"kind": "negotiable"}
            )
            topic = TOPICS[i % len(TOPICS)]
            body = {
                "title_zh": f"{topic}{rng.choice(SUFFIXES)}（第{i + 1}号）",
                "summary": f"面向产业化的{topic}成果，已完成中试验证。",
                "description": f"本成果围绕{topic}开展研究，形成成套工艺与专利布局，可转让或许可实施。",
                "keywords": [topic[:3], "产业化"],
                "field_codes": [FIELDS[i % len(FIELDS)]],
                "trl": 4 + i % 5,
                "achievement_type": "applied_technology",
                "trade_modes": ["transfer", "exclusive_licence"] if not auction else ["transfer"],
                "pricing": pricing,
                "region_code": "440300",
                "holder_state_funded": False,
            }
            listing_id = _publish(client, world, seller, body)
            world.listing_ids.append(listing_id)
            if auction:
                ends = (datetime.now(UTC) + timedelta(days=2)).isoformat()
                opened = client.post(
                    f"{API}/auctions", json={"listing_id": listing_id, "ends_at": ends}, headers=auth(seller)
                )
                opened.raise_for_status()
                auction_id = str(opened.json()["id"])
                world.auctions.append(auction_id)
                world.bid_counters[auction_id] = itertools.count()
                for buyer in world.buyers:
                    client.post(
                        f"{API}/auctions/{auction_id}/registrations", json={}, headers=auth(buyer)
                    ).raise_for_status()
            else:
                world.negotiable.append((listing_id, seller))
        for i in range(demands):
            topic = TOPICS[i % len(TOPICS)]
            body = {
                "title": f"寻求{topic}技术合作（需求{i + 1}）",
                "description": f"我司拟引进{topic}相关技术，用于产线升级。",
                "field_codes": [FIELDS[i % len(FIELDS)]],
                "budget_min_fen": 1_000_000,
                "budget_max_fen": 50_000_000,
                "trade_modes": ["transfer"],
                "region_code": "440300",
                "deadline": (date.today() + timedelta(days=60)).isoformat(),
            }
            created = client.post(f"{API}/demands", json=body, headers=auth(world.buyers[i % len(world.buyers)]))
            created.raise_for_status()
            world.demand_ids.append((str(created.json()["id"]), world.buyers[i % len(world.buyers)]))
        for i in range(paying):
            _performing_deal(client, world, i, rng)
    return world


def _performing_deal(client: httpx.Client, world: World, i: int, rng: random.Random) -> None:
    """A signed deal with one milestone: its payable is what the `pay` operation pays by bank transfer."""
    seller, buyer = world.sellers[i % len(world.sellers)], world.buyers[i % len(world.buyers)]
    topic = TOPICS[i % len(TOPICS)]
    body = {
        "title_zh": f"{topic}许可成果（付款{i + 1}）",
        "summary": f"{topic}成果，已签约实施。",
        "description": f"{topic}相关成套工艺。",
        "keywords": [topic[:3]],
        "field_codes": [FIELDS[i % len(FIELDS)]],
        "trl": 6,
        "achievement_type": "applied_technology",
        "trade_modes": ["transfer"],
        "pricing": {"kind": "negotiable"},
        "region_code": "440300",
        "holder_state_funded": False,
    }
    listing_id = _publish(client, world, seller, body)
    opened = client.post(f"{API}/deals", json={"listing_id": listing_id, "message": "拟受让。"}, headers=auth(buyer))
    opened.raise_for_status()
    deal = f"{API}/deals/{opened.json()['id']}"
    etag = opened.headers["ETag"]

    def fire(key: str, name: str, payload: dict[str, Any], path: str | None = None) -> dict[str, Any]:
        nonlocal etag
        response = client.post(
            path or f"{deal}/transitions/{name}", json=payload, headers=auth(key, **{"If-Match": etag})
        )
        response.raise_for_status()
        etag = response.headers["ETag"]
        return dict(response.json())

    fire(seller, "reply", {"body": "欢迎。"})
    price = rng.randrange(100, 1000) * 1_000_000
    offer = {"price_fen": price, "trade_mode": "transfer", "payment_plan": [{"title": "全款", "amount_fen": price}]}
    offered = fire(buyer, "make_offer", offer, f"{deal}/offers")
    fire(seller, "accept_offer", {"offer_id": offered["open_offer"]["id"]})
    fire(buyer, "confirm_contract", {})
    fire(seller, "confirm_contract", {})
    money = client.get(f"{deal}/money", headers=auth(buyer))
    money.raise_for_status()
    world.payables.extend((p["reference"], buyer) for p in money.json()["payables"])


# ---------------------------------------------------------------- the operations


@dataclass
class Outcome:
    """What one operation saw: the statuses of its requests, and the latency of each step of a multi-step one."""

    statuses: list[int]
    steps: list[tuple[str, float]] = field(default_factory=list)


OpFunc = Callable[[httpx.AsyncClient, World, random.Random], Awaitable[Outcome]]


@dataclass(frozen=True)
class Operation:
    """One kind of operation: its share of the mix, the route that must exist for it to run, what it may answer."""

    name: str
    weight: float
    route: tuple[str, str]  # (method, path as in the spec) - the kind is skipped when the app lacks it
    run: OpFunc
    expected: frozenset[int] = frozenset({200, 201})


async def browse(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    params = {"limit": "20"}
    if rng.random() < 0.3:
        params["field_code"] = rng.choice(FIELDS)
    return Outcome([(await client.get(f"{API}/listings", params=params)).status_code])


async def search(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    params = {"q": rng.choice(QUERIES), "limit": "10"}
    return Outcome([(await client.get(f"{API}/search/listings", params=params)).status_code])


async def read(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    listing_id = rng.choice(world.listing_ids)
    return Outcome([(await client.get(f"{API}/listings/{listing_id}")).status_code])


async def negotiate(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    """Inquiry, reply, offer, call-off: the pair (buyer, listing) is free again afterwards."""
    assert world.pairs is not None
    buyer, listing_id, seller = await world.pairs.get()
    outcome = Outcome([])

    async def step(name: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
        started = time.perf_counter()
        response = await client.post(path, json=body, headers=headers)
        outcome.steps.append((name, (time.perf_counter() - started) * 1000))
        outcome.statuses.append(response.status_code)
        return response

    try:
        opened = await step(
            "open", f"{API}/deals", {"listing_id": listing_id, "message": "您好，我们希望了解许可方式。"}, auth(buyer)
        )
        if opened.status_code != 201:
            return outcome
        deal = f"{API}/deals/{opened.json()['id']}"
        replied = await step(
            "reply",
            f"{deal}/transitions/reply",
            {"body": "欢迎洽谈。"},
            auth(seller, **{"If-Match": opened.headers["ETag"]}),
        )
        if replied.status_code != 200:
            return outcome
        price = rng.randrange(100, 1000) * 100_000
        offer = {
            "price_fen": price,
            "trade_mode": "transfer",
            "payment_plan": [{"title": "首付款", "amount_fen": price}],
        }
        offered = await step("offer", f"{deal}/offers", offer, auth(buyer, **{"If-Match": replied.headers["ETag"]}))
        etag = offered.headers.get("ETag") or replied.headers["ETag"]
        await step("cancel", f"{deal}/transitions/cancel", {}, auth(buyer, **{"If-Match": etag}))
        return outcome
    finally:
        world.pairs.put_nowait((buyer, listing_id, seller))


async def bid(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    auction_id = rng.choice(world.auctions)
    amount = AUCTION_START + AUCTION_INCREMENT * next(world.bid_counters[auction_id])
    response = await client.post(
        f"{API}/auctions/{auction_id}/bids", json={"amount_fen": amount}, headers=auth(rng.choice(world.buyers))
    )
    return Outcome([response.status_code])


async def match(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    demand_id, owner = rng.choice(world.demand_ids)
    return Outcome([(await client.get(f"{API}/demands/{demand_id}/matches", headers=auth(owner))).status_code])


async def pay(client: httpx.AsyncClient, world: World, rng: random.Random) -> Outcome:
    """A bank transfer recorded against a milestone's reference (an instalment; over-payments are credited),
    then the payer reads its balances: a write through the ledger and a read of it."""
    reference, payer = rng.choice(world.payables)
    body = {"reference": reference, "amount_fen": rng.randrange(1, 100) * 10_000, "external_id": uuid.uuid4().hex}
    outcome = Outcome([])
    started = time.perf_counter()
    recorded = await client.post(f"{API}/money/transfers", json=body, headers=auth(world.platform))
    outcome.steps.append(("transfer", (time.perf_counter() - started) * 1000))
    outcome.statuses.append(recorded.status_code)
    started = time.perf_counter()
    balances = await client.get(f"{API}/money/balances", headers=auth(payer))
    outcome.steps.append(("balances", (time.perf_counter() - started) * 1000))
    outcome.statuses.append(balances.status_code)
    return outcome


# The mix. Add a kind here (a weight, the spec route it needs, a function); kinds whose route the app does
# not have are skipped and listed as such.
OPERATIONS: list[Operation] = [
    Operation("browse", 30, ("get", "/api/v1/listings"), browse),
    Operation("search", 25, ("get", "/api/v1/search/listings"), search),
    Operation("read", 25, ("get", "/api/v1/listings/{listing_id}"), read),
    Operation("negotiate", 8, ("post", "/api/v1/deals/{deal_id}/offers"), negotiate),
    # A bid refused because a higher one got in first (409) is the auction working, not an error.
    Operation("bid", 8, ("post", "/api/v1/auctions/{auction_id}/bids"), bid, frozenset({201, 409})),
    Operation("match", 3, ("get", "/api/v1/demands/{demand_id}/matches"), match),
    Operation("pay", 4, ("post", "/api/v1/money/transfers"), pay),
]


# ---------------------------------------------------------------- the load


@dataclass
class Stats:
    """Counts and latencies of one kind."""

    ops: int = 0
    errors: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    bad: dict[str, int] = field(default_factory=dict)
    steps: dict[str, list[float]] = field(default_factory=dict)

    def quantiles(self, values: list[float] | None = None) -> tuple[float, float, float] | None:
        values = self.latencies_ms if values is None else values
        if len(values) < 2:
            return None
        qs = statistics.quantiles(values, n=100, method="inclusive")
        return qs[49], qs[94], qs[98]


async def run_load(
    base: str, world: World, ops: list[Operation], *, seconds: float, rate: float, max_in_flight: int, seed: int
) -> tuple[dict[str, Stats], float, int]:
    """Start operations at `rate` per second for `seconds`; (stats per kind, elapsed, operations started late)."""
    rng = random.Random(seed)
    world.pairs = asyncio.Queue()
    for pair in world.pair_list:
        world.pairs.put_nowait(pair)
    stats = {op.name: Stats() for op in ops}
    weights = [op.weight for op in ops]
    slots = asyncio.Semaphore(max_in_flight)
    tasks: set[asyncio.Task[None]] = set()
    late = 0
    limits = httpx.Limits(max_connections=max_in_flight, max_keepalive_connections=max_in_flight)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one(op: Operation) -> None:
            started = time.perf_counter()
            try:
                outcome = await op.run(client, world, rng)
            except (httpx.HTTPError, OSError) as exc:
                outcome = Outcome([-1])
                stats[op.name].bad[type(exc).__name__] = stats[op.name].bad.get(type(exc).__name__, 0) + 1
            finally:
                slots.release()
            s = stats[op.name]
            s.ops += 1
            s.latencies_ms.append((time.perf_counter() - started) * 1000)
            for step_name, ms in outcome.steps:
                s.steps.setdefault(step_name, []).append(ms)
            wrong = [code for code in outcome.statuses if code not in op.expected]
            if wrong:
                s.errors += 1
                for code in wrong:
                    s.bad[str(code)] = s.bad.get(str(code), 0) + 1

        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in itertools.count():
            due = start + n / rate
            if due - start >= seconds:
                break
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -1.0 / rate:
                late += 1
            await slots.acquire()
            task = asyncio.create_task(one(rng.choices(ops, weights)[0]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks)
        elapsed = loop.time() - start
    return stats, elapsed, late


def available(ops: list[Operation], spec: dict[str, Any]) -> tuple[list[Operation], list[Operation]]:
    """(kinds the app has routes for, kinds skipped)."""
    paths = spec.get("paths", {})
    have = [op for op in ops if op.route[0] in paths.get(op.route[1], {})]
    return have, [op for op in ops if op not in have]


def rss_mib(proc: psutil.Process) -> float:
    return proc.memory_info().rss / 2**20


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="measured duration")
    parser.add_argument("--rate", type=float, default=20.0, help="operations started per second")
    parser.add_argument("--warmup-seconds", type=float, default=30.0, help="same load before measuring (not counted)")
    parser.add_argument("--max-in-flight", type=int, default=64, help="operations running at once, at most")
    parser.add_argument("--listings", type=int, default=40, help="published negotiable listings")
    parser.add_argument("--auctions", type=int, default=5, help="open auctions")
    parser.add_argument("--demands", type=int, default=20, help="open demands")
    parser.add_argument("--buyers", type=int, default=10, help="buyer organisations")
    parser.add_argument("--sellers", type=int, default=4, help="seller organisations")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the mix")
    parser.add_argument("--no-worker", action="store_true", help="do not run the outbox worker beside the API")
    parser.add_argument(
        "--app-env", action="append", default=[], metavar="NAME=VALUE", help="extra environment for the app"
    )
    args = parser.parse_args()

    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="marketplace-soak-"))
    pg = None
    procs: list[subprocess.Popen[bytes]] = []
    keep = False  # the logs stay when something failed
    try:
        t0 = time.perf_counter()
        pg, url = start_embedded(tmp / "data", "marketplace_soak")
        upgrade(url)
        keys = asyncio.run(seed_accounts(url, sellers=args.sellers, buyers=args.buyers))
        port = free_port()
        # All traffic comes from one address and a few keys: budgets far above the rate keep the limiter
        # in the path (its cost is measured) without turning the mix into 429s.
        limits = {
            "RATE_LIMIT_ENABLED": "true",
            "RATE_LIMIT_KEY_REQUESTS": "1000000",
            "RATE_LIMIT_ANONYMOUS_REQUESTS": "1000000",
        }
        extra = dict(item.split("=", 1) for item in args.app_env)
        env = clean_env(DATABASE_URL=url, LOG_LEVEL="WARNING", **{**limits, **extra})
        cmd = [
            sys.executable, "-m", "uvicorn", "marketplace.app:create_app", "--factory", "--host", HOST,
            "--port", str(port), "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        with (tmp / "app.log").open("wb") as log:
            api = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(api)
        if not args.no_worker:
            with (tmp / "worker.log").open("wb") as log:
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "marketplace.cli", "worker"],
                        cwd=ROOT,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        wait_ready(HOST, port, api, timeout=60)
        base = f"http://{HOST}:{port}"
        spec = httpx.get(f"{base}/schema/openapi.json", timeout=30).json()
        ops, skipped = available(OPERATIONS, spec)
        world = build_market(base, keys, listings=args.listings, auctions=args.auctions, demands=args.demands)
        world.pair_list = [(b, listing_id, seller) for b in world.buyers for listing_id, seller in world.negotiable]
        print(
            f"ready in {time.perf_counter() - t0:.1f}s: embedded PostgreSQL, demo organisations, {len(world.sellers)} "
            f"sellers, {len(world.buyers)} buyers, {len(world.listing_ids)} published listings "
            f"({len(world.auctions)} in open auctions), {len(world.demand_ids)} demands; "
            f"outbox worker: {'no' if args.no_worker else 'yes'}"
        )
        print(f"mix: {', '.join(f'{op.name} {op.weight:g}' for op in ops)}")
        if skipped:
            print(f"skipped (route not in the app): {', '.join(f'{op.name} ({op.route[1]})' for op in skipped)}")
        print(f"rate: {args.rate:g} operations/s, at most {args.max_in_flight} in flight; {psutil.cpu_count()} CPU(s)")

        app = psutil.Process(api.pid)
        if args.warmup_seconds > 0:
            asyncio.run(
                run_load(
                    base, world, ops, seconds=args.warmup_seconds, rate=args.rate,
                    max_in_flight=args.max_in_flight, seed=args.seed + 1,
                )
            )  # fmt: skip
        rss_start = rss_mib(app)
        samples: list[tuple[float, float]] = [(0.0, rss_start)]
        seconds = args.minutes * 60

        async def measured() -> tuple[dict[str, Stats], float, int]:
            async def sample() -> None:
                started = time.perf_counter()
                while True:
                    await asyncio.sleep(min(60.0, seconds / 5))
                    samples.append((time.perf_counter() - started, rss_mib(app)))

            sampler = asyncio.create_task(sample())
            try:
                return await run_load(
                    base, world, ops, seconds=seconds, rate=args.rate, max_in_flight=args.max_in_flight, seed=args.seed
                )
            finally:
                sampler.cancel()

        stats, elapsed, late = asyncio.run(measured())
        rss_end = rss_mib(app)
        samples.append((elapsed, rss_end))

        total_ops = sum(s.ops for s in stats.values())
        total_errors = sum(s.errors for s in stats.values())
        print(
            f"\n{'kind':<10} {'ops':>7} {'ops/s':>7} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  unexpected"
        )
        for op in ops:
            s = stats[op.name]
            q = s.quantiles()
            p50, p95, p99 = q if q else (None, None, None)
            bad = ", ".join(f"{k}x{v}" for k, v in sorted(s.bad.items())) or "-"
            print(
                f"{op.name:<10} {s.ops:>7} {s.ops / elapsed:>7.1f} {s.errors:>7} "
                f"{_fmt(p50):>8} {_fmt(p95):>8} {_fmt(p99):>8}  {bad}"
            )
            for step_name, values in s.steps.items():
                q = s.quantiles(values)
                p50, p95, p99 = q if q else (None, None, None)
                print(
                    f"  .{step_name:<7} {len(values):>7} {'':>7} {'':>7} {_fmt(p50):>8} {_fmt(p95):>8} {_fmt(p99):>8}"
                )
        growth = (rss_end - rss_start) / rss_start * 100
        print(
            f"\nthroughput: {total_ops / elapsed:.1f} operations/s over {elapsed / 60:.1f} min "
            f"(target {args.rate:g}/s; {late} started late)"
        )
        print(f"errors: {total_errors} (target 0: {'met' if total_errors == 0 else 'MISSED'})")
        print(
            f"API RSS: {rss_start:.1f} MiB after warm-up, {rss_end:.1f} MiB at the end, growth {growth:+.1f}% "
            f"(target < 10%: {'met' if growth < 10 else 'MISSED'})"
        )
        print("RSS samples (s, MiB): " + ", ".join(f"({t:.0f}, {m:.1f})" for t, m in samples))
        if total_errors:
            keep = True
            print(f"see {tmp / 'app.log'} (kept)")
    finally:
        for proc in reversed(procs):
            stop_process(proc)
        if pg is not None:
            pg.stop()
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
