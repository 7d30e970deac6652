#!/usr/bin/env python3
"""Set up and run the project with nothing but Python 3.11+: `python3 dev.py up` or `python3 dev.py test`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"
INPUTS = ("pyproject.toml", "constraints.txt")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def setup() -> None:
    """Create .venv and install the project with its pinned dependencies (skipped when nothing changed)."""
    if sys.version_info < (3, 11):  # noqa: UP036  (dev.py runs under whatever python3 the machine has)
        sys.exit("Python 3.11 or newer is required")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _fingerprint():
        return
    print("installing dependencies (pinned by constraints.txt) ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-c", str(ROOT / "constraints.txt"), "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(_fingerprint())


def main(argv: list[str]) -> int:
    """Dispatch: setup | up [serve options] | test [pytest options] | run CMD..."""
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "setup":
        setup()
        return 0
    if command == "up":
        setup()
        return subprocess.call([str(BIN / "marketplace"), "serve", "--demo", *rest], cwd=ROOT)
    if command == "test":
        setup()
        return subprocess.call([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT)
    if command == "run":
        setup()
        return subprocess.call([str(BIN / rest[0]), *rest[1:]], cwd=ROOT)
    print(__doc__)
    print("commands: setup | up [--port N ...] | test [pytest args] | run <tool> [args]")
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
