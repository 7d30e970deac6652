"""Helpers shared by the bench scripts: ports, polling, process checks."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
# Variables that would make `marketplace` use an outside database instead of the embedded one.
DB_ENV_VARS = ("DATABASE_URL", "TEST_DATABASE_URL", "XDG_RUNTIME_DIR")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def marketplace_command() -> list[str]:
    """How to launch the `marketplace` CLI of this interpreter's environment."""
    return [os.fspath(Path(sys.executable).with_name("marketplace"))]


def http_get(host: str, port: int, path: str, headers: dict[str, str] | None = None, timeout: float = 2.0):
    """(status, body) of one GET; raises OSError when nothing answers."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_ready(
    host: str,
    port: int,
    proc: subprocess.Popen | None = None,
    *,
    path: str = "/ready",
    timeout: float = 60.0,
    interval: float = 0.01,
) -> float:
    """Poll until GET path answers 200; return the time it took. Fails if proc exits first."""
    started = time.perf_counter()
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before {path} answered 200")
        try:
            status, _ = http_get(host, port, path, timeout=1.0)
            if status == 200:
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{path} on {host}:{port} did not answer 200 within {timeout:.0f}s")


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
    """Send sig and wait for the process to exit (killing it after timeout); return its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    return int(proc.returncode)


def postgres_processes(pgdata: Path) -> list[psutil.Process]:
    """Every live postgres process (postmaster and its children) serving the cluster in pgdata."""
    pgdata = pgdata.expanduser().resolve()
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or []
            if proc.info["name"] == "postgres" and str(pgdata) in cmdline:
                found.append(proc)
                found.extend(proc.children(recursive=True))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def wait_postgres_gone(pgdata: Path, timeout: float = 10.0) -> list[psutil.Process]:
    """Wait up to timeout for the cluster's processes to go; return those still alive."""
    deadline = time.monotonic() + timeout
    left = postgres_processes(pgdata)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = postgres_processes(pgdata)
    return left


def stop_postgres(pgdata: Path) -> None:
    """Stop a cluster left running (fast shutdown of its postmaster, then kill)."""
    for proc in postgres_processes(pgdata):
        try:
            if str(pgdata.expanduser().resolve()) in (proc.cmdline() or []):
                proc.send_signal(signal.SIGINT)  # postgres: SIGINT is "fast" shutdown
        except psutil.NoSuchProcess:
            continue
    for proc in wait_postgres_gone(pgdata, timeout=10):
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the database variables, plus extra.

    Rate limits are off unless extra turns them on: a benchmark's load comes from one address and a few
    keys, and the limiter would answer it with 429s instead of measuring the route.
    """
    env = {k: v for k, v in os.environ.items() if k not in DB_ENV_VARS}
    env["RATE_LIMIT_ENABLED"] = "false"
    env.update(extra)
    return env


async def add_actor(
    session: Any, *, kind: Any, name: str, credit_code: str, email: str, role: Any, key_name: str = "bench"
) -> tuple[Any, str]:
    """A verified organisation in Shenzhen with one user and a read/write API key: (organisation, key)."""
    from marketplace.accounts.keys import display_prefix, generate_key, hash_key
    from marketplace.accounts.models import ApiKey, Organization, User, VerificationStatus

    org = Organization(
        kind=kind,
        name_zh=name,
        credit_code=credit_code,
        region_code="440300",
        verification_status=VerificationStatus.verified,
    )
    session.add(org)
    await session.flush()
    user = User(organization_id=org.id, email=email, display_name=name, role=role)
    session.add(user)
    await session.flush()
    secret = generate_key()
    session.add(
        ApiKey(
            user_id=user.id,
            name=key_name,
            prefix=display_prefix(secret),
            key_hash=hash_key(secret),
            scopes=["read", "write"],
        )
    )
    return org, secret
