"""Stateful fuzzing: sequences that follow the spec's links, so ids flow from a create to its reads and updates."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from litestar import Litestar
from schemathesis import Case, Response
from schemathesis.checks import CheckFunction

from tests.catalogue import demand_payload, listing_payload
from tests.fuzz.checks import STATEFUL_CHECKS
from tests.fuzz.conftest import SPEC_PATH, FuzzWorld, load_schema

# Creates need reference codes, URLs that may receive webhooks and consistent pricing, which random data rarely
# has: the stateful run starts from valid bodies, keeping the generated free text, so the ids flow. (The
# stateless run fuzzes the create bodies themselves.)
VALID_CREATES: dict[str, Callable[[], dict[str, Any]]] = {
    "/api/v1/listings": listing_payload,
    "/api/v1/demands": demand_payload,
    "/api/v1/webhooks/endpoints": lambda: {"url": "https://93.184.216.34/hooks/marketplace", "event_types": ["*"]},
}
FREE_TEXT = ("title_zh", "summary", "description", "title")

SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS", "15"))


def _linked_operations() -> list[str]:
    """The operations that declare links, and the ones their links lead to."""
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    out: set[str] = set()
    for item in spec["paths"].values():
        for op in item.values():
            for response in op.get("responses", {}).values() if isinstance(op, dict) else []:
                for link in response.get("links", {}).values():
                    out |= {op["operationId"], link["operationId"]}
    return sorted(out)


LINKED = load_schema().include(operation_id=_linked_operations())
BaseMachine = LINKED.as_state_machine()


def test_the_spec_links_creates_to_their_reads() -> None:
    spec = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    creates = {
        "/api/v1/listings": "getListing",
        "/api/v1/demands": "getDemand",
        "/api/v1/webhooks/endpoints": "getWebhookEndpoint",
        "/api/v1/deals": "getDeal",
        "/api/v1/auctions": "getAuction",
    }
    for path, read in creates.items():
        links = spec["paths"][path]["post"]["responses"]["201"]["links"]
        assert read in {link["operationId"] for link in links.values()}, path


@pytest.mark.parametrize("kind", ["institute", "enterprise"])
def test_linked_sequences(kind: str, fuzz_world: FuzzWorld, fuzz_app: Litestar) -> None:
    """Create, then read, change and delete what was created, as an organisation that may create it."""
    headers = fuzz_world.headers[kind]
    seen: list[tuple[str, int]] = []
    created: set[str] = set()
    followed: list[str] = []

    class Machine(BaseMachine):  # type: ignore[misc, valid-type]
        def before_call(self, case: Case) -> None:
            valid = VALID_CREATES.get(case.operation.path) if case.method == "POST" else None
            if valid is not None:
                generated = case.body if isinstance(case.body, dict) else {}
                body = valid()
                for key in FREE_TEXT:
                    if key in body and isinstance(generated.get(key), str) and len(generated[key].strip()) >= 2:
                        body[key] = generated[key]
                case.body = body

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            label = f"{case.method} {case.operation.path}"
            seen.append((label, response.status_code))
            if any(object_id in case.formatted_path for object_id in created):
                followed.append(label)
            if case.method == "POST" and response.status_code == 201:
                body = response.json()
                if isinstance(body, dict) and "id" in body:
                    created.add(str(body["id"]))

        def get_call_kwargs(self, case: Case) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(
            self,
            response: Response,
            case: Case,
            additional_checks: list[CheckFunction] | None = None,
            **kwargs: Any,
        ) -> None:
            case.validate_response(response, checks=STATEFUL_CHECKS, transport_kwargs=kwargs or None)

    Machine.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=6,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
    )
    assert created, f"no create succeeded: {sorted(set(seen))}"
    assert followed, f"no call used the id a create returned: {sorted(set(seen))}"
