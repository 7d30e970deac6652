"""The CI audit step: a vulnerable pin fails the build; an unreachable service is reported, not passed off."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[2] / ".ci" / "audit.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_audit", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_run(reports: dict[str, Any]) -> Any:
    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        service = command[command.index("--vulnerability-service") + 1]
        report = reports[service]
        if isinstance(report, str):
            return subprocess.CompletedProcess(command, 1, stdout="", stderr=report)
        return subprocess.CompletedProcess(command, 0, stdout=json.dumps(report), stderr="")

    return run


def dep(name: str, vulns: list[dict[str, Any]] | None = None, skip: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "version": "1.0"}
    if skip:
        out["skip_reason"] = skip
    else:
        out["vulns"] = vulns or []
    return out


def test_a_vulnerable_pin_fails(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    audit = load()
    vuln = {"id": "PYSEC-0000-1", "fix_versions": ["1.1"]}
    monkeypatch.setattr(audit.subprocess, "run", fake_run({"pypi": {"dependencies": [dep("a"), dep("b", [vuln])]}}))
    assert audit.main() == 1
    assert "VULNERABLE b==1.0: PYSEC-0000-1 (fixed in: 1.1)" in capsys.readouterr().out


def test_clean_pins_pass(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    audit = load()
    monkeypatch.setattr(audit.subprocess, "run", fake_run({"pypi": {"dependencies": [dep("a"), dep("b")]}}))
    assert audit.main() == 0
    assert "2 pins audited, 0 vulnerable" in capsys.readouterr().out


def test_unusable_services_are_reported_and_do_not_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = load()
    reports = {"pypi": {"dependencies": [dep("a", skip="not found")]}, "osv": "ConnectionError: no route"}
    monkeypatch.setattr(audit.subprocess, "run", fake_run(reports))
    assert audit.main() == 0
    out = capsys.readouterr().out
    assert "pip-audit (pypi): NOT RUN" in out and "pip-audit (osv): NOT RUN" in out


def test_falls_back_to_the_second_service(monkeypatch: pytest.MonkeyPatch) -> None:
    audit = load()
    vuln = {"id": "GHSA-x", "fix_versions": []}
    reports = {"pypi": "ConnectionError", "osv": {"dependencies": [dep("a", [vuln])]}}
    monkeypatch.setattr(audit.subprocess, "run", fake_run(reports))
    assert audit.main() == 1
