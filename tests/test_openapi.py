"""The checked-in spec is what the app generates; every operation is documented."""

from __future__ import annotations

import json
from pathlib import Path

from marketplace.cli import render_openapi

SPEC_PATH = Path(__file__).resolve().parents[1] / "api_specs" / "openapi.json"


def test_checked_in_spec_matches_the_app() -> None:
    generated = render_openapi()
    assert SPEC_PATH.read_text(encoding="utf-8") == generated, (
        "api_specs/openapi.json is stale: run `marketplace openapi` and commit the result"
    )


def test_every_operation_has_stable_id_summary_and_errors() -> None:
    spec = json.loads(render_openapi())
    seen: set[str] = set()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            where = f"{method.upper()} {path}"
            op_id = op.get("operationId", "")
            assert op_id and op_id[0].islower() and "_" not in op_id, f"{where}: camelCase operationId"
            assert op_id not in seen, f"{where}: duplicate operationId {op_id}"
            seen.add(op_id)
            assert op.get("summary"), f"{where}: summary"
            if path.startswith("/api/v1"):
                errors = {code for code in op["responses"] if code.startswith(("4", "5"))}
                assert "503" in errors, f"{where}: documents 503"
                for code in errors:
                    content = op["responses"][code].get("content", {})
                    assert "application/problem+json" in content, f"{where} {code}: problem+json"


def test_all_api_routes_are_versioned() -> None:
    spec = json.loads(render_openapi())
    system = {"/health", "/ready", "/metrics"}
    assert all(p.startswith("/api/v1/") or p in system for p in spec["paths"]), sorted(spec["paths"])
