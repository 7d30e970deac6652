"""Property-based fuzzing of every operation in api_specs/openapi.json, as each kind of organisation.

Each operation gets schemathesis's coverage cases (boundary values of every input, valid and invalid) as one
organisation kind that may call it, and a handful of random requests as every kind; the app runs
in-process on the test database and commits for real. The budget is small on purpose so CI stays within a
few minutes; raise FUZZ_EXAMPLES locally for a deeper run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis import Case

from tests.fuzz.checks import CHECKS
from tests.fuzz.conftest import Caller, load_schema

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))


schema = load_schema()


def coverage_kind(path: str) -> str:
    """The kind that runs an operation's coverage cases (boundary values of every input, thousands per kind).

    They test input validation, which comes after authorisation, so they run once, as a kind allowed to call
    the operation; random generation runs as every kind.
    """
    if path.startswith(("/api/v1/platform/", "/api/v1/reports/")):
        return "platform"
    if path.startswith(("/api/v1/demands", "/api/v1/deals")) or path.endswith("/bids"):
        return "enterprise"
    return "institute"


def _phase(case: Case) -> str:
    name = case.meta.phase.name if case.meta is not None else ""
    return str(getattr(name, "value", name))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operation(case: Case, caller: Caller, fuzz_app: Litestar) -> None:
    """Every documented operation, as each organisation kind: no 5xx, only documented answers, bodies as documented."""
    if _phase(case) == "coverage" and caller.kind != coverage_kind(case.operation.path):
        return
    case.call_and_validate(headers=caller.headers, checks=CHECKS)
