"""Start-up time of `marketplace serve` with the embedded PostgreSQL (no DATABASE_URL).

Measures the time from process start until GET /ready answers 200, on a fresh MARKETPLACE_DATA_DIR
(initdb + migrations included) and on an existing one, --runs times each, and prints the medians.
After every run it stops the server with --signal and checks that the embedded PostgreSQL of that
data folder is gone; a server left running is reported and then stopped by the bench, so that every
"existing" run starts PostgreSQL cold.

    .venv/bin/python -m bench.bench_startup --runs 3 --signal TERM
"""

from __future__ import annotations

import argparse
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # also runnable as a plain script

from bench.common import (
    ROOT,
    clean_env,
    free_port,
    marketplace_command,
    postgres_processes,
    stop_postgres,
    stop_process,
    wait_postgres_gone,
    wait_ready,
)

HOST = "127.0.0.1"


def one_run(data_dir: Path, sig: signal.Signals, log: Path) -> tuple[float, int, float, list[int]]:
    """(seconds to ready, exit code, seconds to exit, pids of postgres processes left behind)."""
    port = free_port(HOST)
    env = clean_env(MARKETPLACE_DATA_DIR=str(data_dir))
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*marketplace_command(), "serve", "--host", HOST, "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(HOST, port, proc, timeout=120, interval=0.01)
            ready = time.perf_counter() - started
        except BaseException:
            stop_process(proc, signal.SIGINT)
            stop_postgres(data_dir / "pg")
            raise
    stopping = time.perf_counter()
    code = stop_process(proc, sig)
    exited = time.perf_counter() - stopping
    left = wait_postgres_gone(data_dir / "pg", timeout=5)
    return ready, code, exited, [p.pid for p in left]


def report(label: str, ready: float, code: int, exited: float, left: list[int], sig: signal.Signals) -> bool:
    check = "embedded postgres gone" if not left else f"embedded postgres LEFT RUNNING (pids {left})"
    print(f"  {label:<9} ready in {ready:6.2f}s; SIG{sig.name[3:]} -> exit code {code} after {exited:.2f}s; {check}")
    return not left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per case")
    parser.add_argument("--signal", choices=("TERM", "INT"), default="TERM", help="how to stop the server")
    parser.add_argument("--keep", action="store_true", help="keep the data folders and logs")
    args = parser.parse_args()
    sig = signal.Signals[f"SIG{args.signal}"]

    tmp = Path(tempfile.mkdtemp(prefix="marketplace-startup-"))
    fresh: list[float] = []
    existing: list[float] = []
    clean = True
    try:
        print(f"marketplace serve, embedded PostgreSQL, stopped with SIG{args.signal}; logs in {tmp}")
        print("fresh data folder (initdb + migrations):")
        for i in range(args.runs):
            data = tmp / f"fresh-{i}"
            ready, code, exited, left = one_run(data, sig, tmp / f"fresh-{i}.log")
            clean &= report(f"run {i + 1}", ready, code, exited, left, sig)
            stop_postgres(data / "pg")
            fresh.append(ready)
        # The existing folder: the first fresh one, already initialised and migrated.
        data = tmp / "fresh-0"
        print(f"existing data folder ({data.name}):")
        for i in range(args.runs):
            if postgres_processes(data / "pg"):
                raise SystemExit("postgres is still running before a cold start; cannot measure")
            ready, code, exited, left = one_run(data, sig, tmp / f"existing-{i}.log")
            clean &= report(f"run {i + 1}", ready, code, exited, left, sig)
            stop_postgres(data / "pg")
            existing.append(ready)
        print(
            f"\nmedian time to /ready 200: fresh {statistics.median(fresh):.2f}s, "
            f"existing {statistics.median(existing):.2f}s"
        )
        print(
            "embedded postgres stopped with the server after every run"
            if clean
            else f"PROBLEM: the embedded postgres outlived `marketplace serve` after SIG{args.signal} (stopped by the bench)"
        )
    finally:
        for pg in tmp.glob("*/pg"):
            stop_postgres(pg)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
