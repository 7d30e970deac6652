"""Authorisation matrix, generated from the app's route table.

Every /api/v1 route must declare a policy (or this test fails), and is called by every kind of caller:
anonymous, each role of an institute, an enterprise's owner (another organisation), the platform's
member and admin. Routes with object ids in their path must also state, in OBJECT_SCOPE below, what
another organisation gets when it names the institute's objects.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.web.policy import Policy, policy_of
from tests.factories import Actor, Factory

API = "/api/v1"

# For routes with ids in the path: "own" means the ids are only meaningful inside the caller's own
# organisation (another organisation gets 404); "public" means any signed-in caller may name them.
OBJECT_SCOPE: dict[str, str] = {
    "/api/v1/organizations/me/members/{user_id:uuid}": "own",
    "/api/v1/users/me/api-keys/{key_id:uuid}": "own",
    "/api/v1/organizations/{org_id:uuid}": "public",
    "/api/v1/platform/organizations/{org_id:uuid}": "public",
    "/api/v1/platform/organizations/{org_id:uuid}/verification": "public",
    "/api/v1/platform/jobs/{job_id:uuid}/retry": "public",
    # Catalogue: published listings and open demands are public, the rest is their organisation's
    # (tests/listings/test_authorization.py and tests/demands/ check each route with real objects).
    "/api/v1/listings/{listing_id:uuid}": "public",
    "/api/v1/listings/{listing_id:uuid}/attachments": "public",
    "/api/v1/listings/{listing_id:uuid}/attachments/{attachment_id:uuid}": "public",
    "/api/v1/listings/{listing_id:uuid}/close": "public",
    "/api/v1/listings/{listing_id:uuid}/nda-acceptances": "public",
    "/api/v1/listings/{listing_id:uuid}/submit": "public",
    "/api/v1/listings/{listing_id:uuid}/watch": "public",
    "/api/v1/listings/{listing_id:uuid}/withdraw": "public",
    "/api/v1/platform/listings/{listing_id:uuid}/approve": "public",
    "/api/v1/platform/listings/{listing_id:uuid}/reject": "public",
    "/api/v1/platform/listings/{listing_id:uuid}/revision/approve": "public",
    "/api/v1/platform/listings/{listing_id:uuid}/revision/reject": "public",
    "/api/v1/demands/{demand_id:uuid}": "public",
    "/api/v1/demands/{demand_id:uuid}/close": "public",
    "/api/v1/demands/{demand_id:uuid}/fulfil": "public",
    # Webhook endpoints and their deliveries, and notifications, are their organisation's (or user's) only
    # (tests/webhooks/test_api.py and tests/notifications/ check each route with real objects).
    "/api/v1/webhooks/endpoints/{endpoint_id:uuid}": "own",
    "/api/v1/webhooks/endpoints/{endpoint_id:uuid}/rotate-secret": "own",
    "/api/v1/webhooks/endpoints/{endpoint_id:uuid}/deliveries": "own",
    "/api/v1/webhooks/endpoints/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}": "own",
    "/api/v1/webhooks/endpoints/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/redeliver": "own",
    "/api/v1/notifications/{notification_id:uuid}/read": "own",
    # Deals are their parties' (and brokers', and the platform's): other organisations get 404. Auctions and
    # public notices are public (tests/deals/test_routes.py checks each route with real objects).
    "/api/v1/deals/{deal_id:uuid}": "own",
    "/api/v1/deals/{deal_id:uuid}/transitions/{transition:str}": "own",
    "/api/v1/deals/{deal_id:uuid}/offers": "own",
    "/api/v1/deals/{deal_id:uuid}/messages": "own",
    "/api/v1/deals/{deal_id:uuid}/contract": "own",
    "/api/v1/deals/{deal_id:uuid}/contract/registration": "own",
    "/api/v1/deals/{deal_id:uuid}/money": "own",  # tests/payments/test_flow.py checks it with a real deal
    "/api/v1/money/stripe/payables/{payable_id:uuid}/intent": "own",  # the payer's (tests/payments/test_stripe.py)
    "/api/v1/auctions/{auction_id:uuid}": "public",
    "/api/v1/auctions/{auction_id:uuid}/bids": "public",
    "/api/v1/auctions/{auction_id:uuid}/registrations": "public",
    "/api/v1/auctions/{auction_id:uuid}/transitions/{transition:str}": "public",
    "/api/v1/public-notices/{notice_id:uuid}": "public",
    "/api/v1/public-notices/{notice_id:uuid}/objections": "public",
    # Matching: a demand's matches are its enterprise's (and its brokers', and the platform's), a listing's
    # matching demands and interest its holder's; saved searches and broker mandates their organisation's
    # (tests/matching/test_routes.py checks each route with real objects).
    "/api/v1/demands/{demand_id:uuid}/matches": "own",
    "/api/v1/demands/{demand_id:uuid}/matches/{listing_id:uuid}/feedback": "own",
    "/api/v1/listings/{listing_id:uuid}/matching-demands": "own",
    "/api/v1/listings/{listing_id:uuid}/interest": "own",
    "/api/v1/saved-searches/{saved_search_id:uuid}": "own",
    "/api/v1/broker-clients/{broker_client_id:uuid}": "own",
}

ACTORS = ["anonymous", "viewer", "member", "admin", "owner", "other_org_owner", "platform_member", "platform_admin"]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    policy: Policy | None


def api_endpoints(app: Litestar) -> list[Endpoint]:
    out = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(API):
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods):
                if method != "OPTIONS":
                    out.append(Endpoint(method, route.path, policy_of(handler)))
    return out


def _app() -> Litestar:
    from marketplace.app import create_app
    from marketplace.config import Settings

    return create_app(Settings(database_url="postgresql://matrix@localhost/matrix"), check_migrations=False)


ENDPOINTS = api_endpoints(_app())


def test_every_api_route_declares_a_policy() -> None:
    missing = [f"{e.method} {e.path}" for e in ENDPOINTS if e.policy is None]
    assert missing == [], f"routes without an access policy: {missing}"
    assert len(ENDPOINTS) >= 15


def test_every_route_with_ids_states_its_object_scope() -> None:
    with_ids = {e.path for e in ENDPOINTS if "{" in e.path}
    assert with_ids - set(OBJECT_SCOPE) == set(), "add these routes to OBJECT_SCOPE"


def expected_denial(policy: Policy, actor: str) -> int | None:
    """The status the policy alone must give this actor, or None when it lets them through."""
    if not policy.authenticated:
        return None
    if actor == "anonymous":
        return 401
    is_platform = actor.startswith("platform")
    if policy.platform_only and not is_platform:
        return 403
    role = {
        "viewer": Role.viewer,
        "member": Role.member,
        "admin": Role.admin,
        "owner": Role.owner,
        "other_org_owner": Role.owner,
        "platform_member": Role.member,
        "platform_admin": Role.admin,
    }[actor]
    if role.rank < policy.min_role.rank:
        return 403
    return None


@dataclass
class World:
    actors: dict[str, Actor]
    ids: dict[str, uuid.UUID]


async def build_world(factory: Factory) -> World:
    owner = await factory.actor(kind=OrganizationKind.institute, role=Role.owner)
    org = owner.organization
    actors: dict[str, Actor] = {"owner": owner}
    for name, role in (("viewer", Role.viewer), ("member", Role.member), ("admin", Role.admin)):
        actors[name] = await factory.actor(org, role=role)
    actors["other_org_owner"] = await factory.actor(kind=OrganizationKind.enterprise, role=Role.owner)
    platform = await factory.actor(kind=OrganizationKind.platform, role=Role.member)
    actors["platform_member"] = platform
    actors["platform_admin"] = await factory.actor(platform.organization, role=Role.admin)
    target_member = await factory.actor(org, role=Role.member)
    return World(
        actors=actors,
        ids={
            "org_id": org.id,
            "user_id": target_member.user.id,
            "key_id": owner.key_id,
            "job_id": uuid.uuid4(),
            "listing_id": uuid.uuid4(),
            "attachment_id": uuid.uuid4(),
            "demand_id": uuid.uuid4(),
            "deal_id": uuid.uuid4(),
            "auction_id": uuid.uuid4(),
            "notice_id": uuid.uuid4(),
            "endpoint_id": uuid.uuid4(),
            "delivery_id": uuid.uuid4(),
            "notification_id": uuid.uuid4(),
            "payable_id": uuid.uuid4(),
            "saved_search_id": uuid.uuid4(),
            "broker_client_id": uuid.uuid4(),
            "transition": "message",  # type: ignore[dict-item]
        },
    )


def fill(path: str, world: World) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: str(world.ids[m.group(1)]), path)


CASES = [pytest.param(e, a, id=f"{e.method} {e.path} as {a}") for e in ENDPOINTS for a in ACTORS]


@pytest.mark.parametrize(("endpoint", "actor"), CASES)
async def test_matrix(client: httpx.AsyncClient, factory: Factory, endpoint: Endpoint, actor: str) -> None:
    assert endpoint.policy is not None
    world = await build_world(factory)
    headers: dict[str, str] = {} if actor == "anonymous" else world.actors[actor].headers
    kwargs: dict[str, Any] = {"headers": headers}
    if endpoint.method in ("POST", "PATCH", "PUT"):
        kwargs["json"] = {}
    response = await client.request(endpoint.method, fill(endpoint.path, world), **kwargs)
    denial = expected_denial(endpoint.policy, actor)
    assert response.headers["content-type"].split(";")[0] in ("application/json", "application/problem+json")
    if denial is not None:
        assert response.status_code == denial, response.text
        return
    assert response.status_code not in (401, 403), response.text
    assert response.status_code < 500, response.text
    scope = OBJECT_SCOPE.get(endpoint.path)
    outsiders = ("other_org_owner", "platform_member", "platform_admin")
    if scope == "own" and "{user_id" in endpoint.path and actor in outsiders:
        assert response.status_code == 404, response.text  # another organisation's member: as if absent
    if scope == "own" and "{key_id" in endpoint.path and actor != "owner":
        assert response.status_code == 404, response.text  # keys are their user's alone, even in-house
    if scope == "own" and "{key_id" in endpoint.path and actor == "owner":
        assert response.status_code == 200, response.text
