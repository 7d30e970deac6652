"""Property-based fuzzing of every operation in api_specs/openapi.json, as each kind of organisation.

Each operation gets a handful of generated requests (valid and invalid) per organisation kind; the app runs
in-process on the test database and commits for real. The budget is small on purpose so CI stays within a
few minutes; raise FUZZ_EXAMPLES locally for a deeper run.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis import Case

from tests.fuzz.checks import CHECKS
from tests.fuzz.conftest import load_schema

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))


schema = load_schema()


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_operation(case: Case, caller: dict[str, str], fuzz_app: Litestar) -> None:
    """Every documented operation, as each organisation kind: no 5xx, only documented answers, bodies as documented."""
    case.call_and_validate(headers=caller, checks=CHECKS)
