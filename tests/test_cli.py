"""The `marketplace` command, run as a user runs it: help texts, and `serve` on the embedded PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import pytest

from marketplace.demo import DEMO_ORGS, demo_key

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
EXIT_TIMEOUT = 30.0
PLATFORM_KEY = demo_key("ops@exchange.example")
# Anything that would point the CLI at another database than the embedded one in MARKETPLACE_DATA_DIR.
DB_ENV_VARS = ("DATABASE_URL", "TEST_DATABASE_URL", "XDG_RUNTIME_DIR")


def marketplace_command() -> list[str]:
    """The `marketplace` script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("marketplace")
    return [str(script)] if script.exists() else [sys.executable, "-m", "marketplace.cli"]


def cli_env(data_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DB_ENV_VARS}
    if data_dir is not None:
        env["MARKETPLACE_DATA_DIR"] = str(data_dir)
    return env


@contextmanager
def scratch_dir() -> Iterator[Path]:
    """A private folder outside pytest's basetemp.

    The embedded server runs as another system user and opens the folder's parents to it; pytest
    closes its own basetemp root again (chmod 700) whenever another pytest process or xdist worker
    starts, which would cut a running cluster off from its data.
    """
    path = Path(tempfile.mkdtemp(prefix="marketplace-cli-test-"))
    try:
        yield path
    finally:
        stop_leftover_postgres(path / "data")
        shutil.rmtree(path, ignore_errors=True)


def run_cli(*args: str, data_dir: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*marketplace_command(), *args],
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def postgres_processes(data_dir: Path) -> list[psutil.Process]:
    """Live postgres processes (the postmaster and its children) of the embedded cluster in data_dir."""
    pgdata = str((data_dir / "pg").resolve())
    found: list[psutil.Process] = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            if proc.info["name"] == "postgres" and pgdata in (proc.info["cmdline"] or []):
                found += [proc, *proc.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    alive = []
    for proc in found:
        try:
            if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    return alive


def wait_postgres_gone(data_dir: Path, timeout: float = 10.0) -> list[psutil.Process]:
    deadline = time.monotonic() + timeout
    left = postgres_processes(data_dir)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = postgres_processes(data_dir)
    return left


def stop_leftover_postgres(data_dir: Path) -> None:
    """Stop an embedded cluster that outlived its server (fast shutdown, then kill)."""
    pgdata = str((data_dir / "pg").resolve())
    for proc in postgres_processes(data_dir):
        try:
            if pgdata in proc.cmdline():
                proc.send_signal(signal.SIGINT)
        except psutil.NoSuchProcess:
            continue
    for proc in wait_postgres_gone(data_dir):
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            continue


@dataclass
class Served:
    """A `marketplace serve` subprocess."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    data_dir: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=f"http://{HOST}:{self.port}", timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited with {self.proc.returncode} before /ready:\n{self.output()[-3000:]}")
            try:
                if self.client.get("/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"/ready did not answer 200 within {READY_TIMEOUT:.0f}s:\n{self.output()[-3000:]}")

    def get(self, path: str, key: str) -> httpx.Response:
        return self.client.get(path, headers={"Authorization": f"Bearer {key}"})

    def stop(self, sig: signal.Signals) -> int | None:
        """Send sig; the exit code, or None if the process did not exit in time."""
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(EXIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                return None
        return self.proc.returncode


def start_serve(data_dir: Path, *args: str, name: str = "serve") -> Served:
    port = free_port()
    log = data_dir.parent / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*marketplace_command(), "serve", "--host", HOST, "--port", str(port), *args],
            env=cli_env(data_dir),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(proc, port, log, data_dir)
    try:
        served.wait_ready()
    except BaseException:
        finish(served)
        raise
    return served


def finish(served: Served) -> None:
    """Make sure the server is gone (used on the way out of a test, whatever happened)."""
    served.client.close()
    if served.proc.poll() is None:
        served.proc.send_signal(signal.SIGINT)
        try:
            served.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            served.proc.kill()
            served.proc.wait(10)


def org_ids(served: Served) -> list[str]:
    response = served.get("/api/v1/platform/organizations?limit=100", PLATFORM_KEY)
    assert response.status_code == 200, response.text
    return [org["id"] for org in response.json()["items"]]


# ---------------------------------------------------------------- help texts


def test_help_lists_every_command() -> None:
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    for command in ("serve", "db", "demo", "create-admin", "openapi"):
        assert re.search(rf"^\s+{re.escape(command)}\s", result.stdout, re.MULTILINE), result.stdout


def test_serve_help_shows_its_options() -> None:
    result = run_cli("serve", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--host", "--port", "--workers"):
        assert option in result.stdout, result.stdout


# ---------------------------------------------------------------- serve on the embedded server


@dataclass
class FirstRun:
    """What the first `serve --demo` on a fresh data folder showed, up to its SIGTERM."""

    data_dir: Path
    me_status: int
    me: dict
    org_ids: list[str]
    output: str
    exit_code: int | None
    postgres_left: list[int]


@pytest.fixture(scope="module")
def first_run() -> Iterator[FirstRun]:
    """Serve --demo on a fresh MARKETPLACE_DATA_DIR, use it, stop it with SIGTERM, record what happened."""
    with scratch_dir() as tmp:
        data_dir = tmp / "data"
        served = start_serve(data_dir, "--demo", name="first")
        try:
            me = served.get("/api/v1/users/me", PLATFORM_KEY)
            ids = org_ids(served)
            exit_code = served.stop(signal.SIGTERM)
        finally:
            finish(served)
        left = [p.pid for p in wait_postgres_gone(data_dir, timeout=5)]
        yield FirstRun(data_dir, me.status_code, me.json(), ids, served.output(), exit_code, left)


@pytest.fixture
def data_dir(first_run: FirstRun) -> Iterator[Path]:
    """The first run's data folder, with no PostgreSQL running (each test starts it cold)."""
    stop_leftover_postgres(first_run.data_dir)
    yield first_run.data_dir
    stop_leftover_postgres(first_run.data_dir)


@pytest.mark.slow
def test_serve_demo_answers_with_the_demo_keys(first_run: FirstRun) -> None:
    assert first_run.me_status == 200, first_run.me
    assert first_run.me["user"]["email"] == "ops@exchange.example"
    assert first_run.me["organization"]["kind"] == "platform"
    assert len(first_run.org_ids) == len(DEMO_ORGS) == 6
    assert "mkt_demo_" in first_run.output  # the demo keys are printed
    assert "6 new organisation(s)" in first_run.output


@pytest.mark.slow
def test_serve_exits_on_sigterm(first_run: FirstRun) -> None:
    assert first_run.exit_code is not None, f"serve did not exit within {EXIT_TIMEOUT:.0f}s of SIGTERM"


@pytest.mark.slow
def test_sigterm_stops_the_embedded_postgres(first_run: FirstRun) -> None:
    assert first_run.postgres_left == [], f"postgres processes left running: {first_run.postgres_left}"


@pytest.mark.slow
def test_sigint_stops_the_embedded_postgres() -> None:
    with scratch_dir() as tmp:
        data = tmp / "data"
        served = start_serve(data, name="sigint")
        try:
            assert postgres_processes(data), "serve is up but no embedded postgres runs for its data folder"
            assert served.stop(signal.SIGINT) is not None, served.output()[-3000:]
        finally:
            finish(served)
        left = wait_postgres_gone(data)
        assert not left, f"postgres processes left running: {[p.pid for p in left]}"


@pytest.mark.slow
def test_serve_demo_again_does_not_duplicate_demo_data(first_run: FirstRun, data_dir: Path) -> None:
    served = start_serve(data_dir, "--demo", name="second")
    try:
        assert sorted(org_ids(served)) == sorted(first_run.org_ids)
        assert "0 new organisation(s)" in served.output()
        me = served.get("/api/v1/users/me", PLATFORM_KEY)
        assert me.status_code == 200
        assert me.json()["organization"]["id"] == first_run.me["organization"]["id"]
    finally:
        finish(served)


@pytest.mark.slow
def test_create_admin_prints_a_working_key(first_run: FirstRun, data_dir: Path) -> None:
    result = run_cli("create-admin", "--email", "admin@cli-test.example", "--name", "CLI admin", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("mkt_"), result.stdout

    again = run_cli("create-admin", "--email", "admin@cli-test.example", data_dir=data_dir)
    assert again.returncode != 0
    assert "exists already" in again.stderr

    served = start_serve(data_dir, name="admin")
    try:
        me = served.get("/api/v1/users/me", key)
        assert me.status_code == 200, me.text
        body = me.json()
        assert body["user"]["email"] == "admin@cli-test.example"
        assert body["user"]["role"] == "owner"
        # The demo's platform organisation is reused, not duplicated.
        assert body["organization"]["kind"] == "platform"
        assert body["organization"]["id"] == first_run.me["organization"]["id"]
        assert sorted(org_ids(served)) == sorted(first_run.org_ids)
        assert served.get("/api/v1/users/me", key + "x").status_code == 401
    finally:
        finish(served)
