"""Checks every fuzz test applies: schemathesis's own, and one that compares the spec with the validator."""

from __future__ import annotations

import re

import schemathesis
from schemathesis import Case, CheckContext, Response
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ensure_resource_availability,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    use_after_free,
)

# Messages of pydantic's built-in constraints (type, required, length, pattern, range, extra fields). When one
# of these rejects a request generated from the spec, the spec and the validator disagree about the schema.
_SCHEMA_MESSAGES = re.compile(
    r"Extra inputs are not permitted|Field required|should have at (least|most)|should match pattern|"
    r"Input should be|should be (greater|less) than"
)


def _stripped_to_nothing(body: object, pointer: object) -> bool:
    """Request strings are stripped before their length is checked: "  " is too short by design, not by the spec."""
    value = body
    for part in str(pointer or "").split("/")[1:]:
        if isinstance(value, dict):
            value = value.get(part.replace("~1", "/").replace("~0", "~"))
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return False
    return isinstance(value, str) and value.strip() != value


@schemathesis.check
def spec_matches_validator(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A request valid by the spec is never rejected by the request validator's own schema rules."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    body = response.json()
    if not isinstance(body, dict) or not str(body.get("type", "")).endswith("/validation-failed"):
        return None
    schema_errors = [
        e
        for e in body.get("errors") or []
        if _SCHEMA_MESSAGES.search(str(e.get("detail", ""))) and not _stripped_to_nothing(case.body, e.get("pointer"))
    ]
    assert not schema_errors, f"the spec allows what the validator rejects: {schema_errors}"
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    spec_matches_validator,
]

# After a create, the linked read finds the object; after a delete, nothing answers for it.
STATEFUL_CHECKS = [*CHECKS, use_after_free, ensure_resource_availability]
