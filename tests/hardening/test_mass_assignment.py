"""Mass assignment: no request body can set who owns a thing, its state, verification, money, version, ids or
timestamps. The cases come from the OpenAPI spec's request bodies, so a new writable route is covered at once."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.deals.schemas import TRANSITION_INPUTS
from marketplace.deals.service import validate_input
from marketplace.kit.errors import InvalidInput
from tests.factories import Actor, Factory, unique_credit_code

SPEC = json.loads((Path(__file__).parents[2] / "api_specs" / "openapi.json").read_text())
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]

# What an attacker would try to set; each is sent wherever the schema does not declare it.
PROBES: dict[str, Any] = {
    "id": str(uuid.uuid4()),
    "organization_id": str(uuid.uuid4()),
    "owner_organization_id": str(uuid.uuid4()),
    "seller_organization_id": str(uuid.uuid4()),
    "buyer_organization_id": str(uuid.uuid4()),
    "user_id": str(uuid.uuid4()),
    "created_by_user_id": str(uuid.uuid4()),
    "status": "published",
    "state": "completed",
    "verified": True,
    "verification_status": "verified",
    "is_platform": True,
    "version": 99,
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "published_at": "2020-01-01T00:00:00Z",
    "price_fen": 1,
    "amount_fen": 1,
    "fee_fen": 0,
    "platform_fee_fen": 0,
    "commission_fen": 0,
    "commission_bps": 0,
    "net_fen": 10**12,
    "paid_fen": 10**12,
    "deposit_fen": 0,
    "key_hash": "0" * 64,
    "secret": "whsec_chosen",
}
# Names that must never be writable unless someone reviewed why (the list below).
SENSITIVE = re.compile(
    r"^(id|.*organization_id|owner_(organization_|user_)?id|.*user_id|status|state|verified|verification_status|is_platform|version|"
    r".*_at|.*fee.*|.*commission.*|net_.*|paid_.*|payout.*|balance.*|amount_fen|price_fen|deposit.*|key_hash|"
    r"secret|scopes|role|kind)$"
)
# Declared inputs with a sensitive-looking name, each reviewed: why it is an input, and what stops abuse.
REVIEWED_ANYWHERE: dict[str, str] = {
    "version": "the version the caller read (optimistic concurrency, 409 when stale), never a version to set",
}
REVIEWED: dict[tuple[str, str], str] = {
    ("BidInput", "amount_fen"): "the bid itself; the service checks it against the auction's minimum step",
    ("OfferInput", "price_fen"): "the price proposed in an offer; both sides must accept it",
    ("OpenDealInput", "buyer_organization_id"): "brokers only; anyone else naming another buyer is a 422",
    ("OpenDealInput", "commission_bps"): "a broker's proposed commission, agreed in the deal",
    ("OpenDealInput", "commission_fixed_fen"): "a broker's proposed commission, agreed in the deal",
    ("OrganizationRegister", "kind"): "institute, enterprise or broker agency; platform is refused (tested below)",
    ("RegisterInput", "version"): "the auction version read (optimistic concurrency)",
    ("MemberCreate", "role"): "an admin's choice within the organisation's roles",
    ("MemberUpdate", "role"): "an admin's choice within the organisation's roles",
    ("ApiKeyCreate", "scopes"): "cannot exceed the calling key's scopes",
    ("ApiKeyCreate", "expires_at"): "a caller may shorten its own key's life",
    ("VerificationDecision", "status"): "the platform's decision (platform-only route)",
    ("OpenAuctionInput", "starts_at"): "the seller's auction schedule, checked against the listing",
    ("OpenAuctionInput", "ends_at"): "the seller's auction schedule, checked against the listing",
    ("OfferInput", "expires_at"): "how long the offer stands",
    ("AppointBrokerInput", "broker_user_id"): "the broker a party appoints; the service checks it is a broker",
    ("AppointBrokerInput", "commission_bps"): "the commission the appointing party agrees to",
    ("AppointBrokerInput", "commission_fixed_fen"): "the commission the appointing party agrees to",
    ("BrokerClientCreate", "agency_organization_id"): "the agency an enterprise names to act for it (its own choice)",
    ("IntroductionInput", "commission_bps"): "a broker's proposed commission, agreed in the deal it opens",
    ("IntroductionInput", "commission_fixed_fen"): "a broker's proposed commission, agreed in the deal it opens",
    ("FeeScheduleInput", "broker_commission_bps"): "the platform publishing a fee schedule (platform admins only)",
    ("FeeScheduleInput", "deposit_forfeit_to"): "the platform publishing a fee schedule (platform admins only)",
    ("TransferInput", "amount_fen"): "a bank transfer the platform received (platform only), matched to a reference",
    ("TransferInput", "received_at"): "when the bank received it (platform only)",
    ("PayoutInput", "organization_id"): "whom the platform paid (platform only); never above that balance",
    ("PayoutInput", "amount_fen"): "what the platform paid (platform only); never above the balance (409)",
    ("PayoutInput", "paid_at"): "when the platform paid (platform only)",
    ("StripePayoutInput", "organization_id"): "whom the platform pays through Stripe (platform only)",
    (
        "StripePayoutInput",
        "amount_fen",
    ): "what the platform pays through Stripe (platform only); never above the balance",
}
# Routes whose body is a generic object in the spec: each transition's own schema validates it (tested below);
# the listings import takes a file (CSV or JSON lines) whose columns are checked row by row
# (tests/listings/test_import.py: unknown columns and fields are refused per row).
GENERIC_BODY_OPERATIONS = {"fireDealTransition", "fireAuctionTransition", "importListings"}


def resolve(schema: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    """The named object schema of a request body (through oneOf with null), or (None, None) for a generic one."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return name, SCHEMAS[name]
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        name, found = resolve(option)
        if found is not None:
            return name, found
    return None, None


def writable_operations() -> list[tuple[str, str, str, str, str, dict[str, Any]]]:
    """(operation id, method, path, media type, schema name, schema) of every POST/PUT/PATCH with a body."""
    out = []
    for path, ops in SPEC["paths"].items():
        for method, op in ops.items():
            if method not in ("post", "put", "patch") or "requestBody" not in op:
                continue
            for media_type, content in op["requestBody"]["content"].items():
                name, schema = resolve(content["schema"])
                out.append((op["operationId"], method, path, media_type, name or "", schema or {}))
    return out


OPERATIONS = writable_operations()
TYPED = [op for op in OPERATIONS if op[4]]


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)


def test_every_writable_body_is_covered() -> None:
    generic = {op[0] for op in OPERATIONS if not op[4]}
    assert generic == GENERIC_BODY_OPERATIONS, "a new route takes an untyped body: give it an InputSchema"
    assert len(TYPED) >= 20


def test_sensitive_looking_inputs_are_reviewed() -> None:
    declared = {
        (name, field)
        for _, _, _, _, name, schema in TYPED
        for field in schema.get("properties", {})
        if SENSITIVE.match(field) and field not in REVIEWED_ANYWHERE
    }
    unreviewed = declared - set(REVIEWED)
    assert unreviewed == set(), f"writable fields that look sensitive, not reviewed: {sorted(unreviewed)}"


@pytest.fixture
async def callers(factory: Factory) -> list[Actor]:
    platform = await factory.actor(await factory.organization(OrganizationKind.platform), role=Role.admin)
    return [
        platform,
        await factory.actor(kind=OrganizationKind.institute, role=Role.owner),
        await factory.actor(kind=OrganizationKind.enterprise, role=Role.owner),
        await factory.actor(kind=OrganizationKind.broker_agency, role=Role.owner),
    ]


@pytest.mark.parametrize(
    ("operation", "method", "path", "media_type", "name", "schema"), TYPED, ids=[o[0] for o in TYPED]
)
async def test_protected_fields_are_rejected_by_name(
    client: httpx.AsyncClient,
    callers: list[Actor],
    operation: str,
    method: str,
    path: str,
    media_type: str,
    name: str,
    schema: dict[str, Any],
) -> None:
    probes = {k: v for k, v in PROBES.items() if k not in schema.get("properties", {})}
    url = concrete(path)
    response: httpx.Response | None = None
    for caller in callers:  # the first caller the route's policy lets through reaches validation
        headers = {**caller.headers, "If-Match": '"1"'}
        if media_type == "multipart/form-data":
            form = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in probes.items()}
            response = await client.request(
                method, url, data=form, files={"file": ("a.pdf", b"%PDF-1.4\n", "application/pdf")}, headers=headers
            )
        else:
            response = await client.request(method, url, json=probes, headers=headers)
        if response.status_code not in (401, 403):
            break
    assert response is not None
    assert response.status_code in (400, 422), (operation, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    # A body field named like a path parameter (user_id on /members/{user_id}) is reported by Litestar as that
    # parameter: still refused, still by name.
    named = {e.get("pointer") or "/" + str(e.get("parameter")) for e in response.json().get("errors", [])}
    missing = sorted(f"/{k}" for k in probes if f"/{k}" not in named)
    assert missing == [], f"{operation}: not rejected by name: {missing}"


@pytest.mark.parametrize("transition", sorted(TRANSITION_INPUTS))
def test_transition_bodies_reject_protected_fields(transition: str) -> None:
    declared = TRANSITION_INPUTS[transition].model_fields
    probes = {k: v for k, v in PROBES.items() if k not in declared}
    with pytest.raises(InvalidInput) as caught:
        validate_input(transition, probes)
    named = {e.pointer for e in caught.value.errors}
    assert {f"/{k}" for k in probes} <= named
    model = TRANSITION_INPUTS[transition].__name__
    unreviewed = {
        f for f in declared if SENSITIVE.match(f) and f not in REVIEWED_ANYWHERE and (model, f) not in REVIEWED
    }
    assert unreviewed == set(), (transition, model, unreviewed)


async def test_platform_kind_cannot_be_self_registered(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/organizations",
        json={
            "kind": "platform",
            "name_zh": "冒充平台",
            "credit_code": unique_credit_code(OrganizationKind.enterprise),
            "region_code": "440300",
            "owner_email": "x@example.com",
            "owner_name": "x",
        },
    )
    assert response.status_code in (400, 422)
    assert "/kind" in {e.get("pointer") for e in response.json()["errors"]}


async def test_api_key_scopes_cannot_exceed_the_callers(client: httpx.AsyncClient, factory: Factory) -> None:
    from marketplace.accounts.models import ApiKeyScope

    reader = await factory.actor(scopes=(ApiKeyScope.read,))
    response = await client.post(
        "/api/v1/users/me/api-keys", json={"name": "more", "scopes": ["read", "write"]}, headers=reader.headers
    )
    assert response.status_code in (403, 422), response.text
