"""Every error is RFC 9457 problem+json, naming the offending field."""

from __future__ import annotations

import httpx
import pytest

from marketplace.accounts.models import ApiKeyScope, OrganizationKind, Role
from tests.factories import Factory

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_suffix: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert str(body["type"]).endswith("/" + type_suffix)
    assert body["title"] and body["detail"] and body["instance"] == response.request.url.path
    return dict(body)


async def test_unknown_route_is_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nothing-here"), 404, "not-found")


async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/organizations/me")
    assert_problem(response, 405, "method-not-allowed")
    assert set(response.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PATCH"}


async def test_missing_key_is_401_with_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me")
    assert_problem(response, 401, "not-authenticated")
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer mkt_doesnotexistdoesnotexistdoesnotexist", "Basic dXNlcjpwYXNz", "Bearer short", "Bearer"]
)
async def test_bad_key_is_401(client: httpx.AsyncClient, header: str) -> None:
    response = await client.get("/api/v1/users/me", headers={"Authorization": header})
    assert_problem(response, 401, "not-authenticated")


async def test_read_only_key_cannot_write(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner, scopes=(ApiKeyScope.read,))
    assert (await client.get("/api/v1/users/me", headers=actor.headers)).status_code == 200
    response = await client.patch("/api/v1/organizations/me", json={"name_zh": "新名字"}, headers=actor.headers)
    body = assert_problem(response, 403, "permission-denied")
    assert "read scope" in str(body["detail"])


async def test_validation_names_each_field_by_pointer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/organizations",
        json={"kind": "planet", "name_zh": "x", "credit_code": "914403001922038217", "owner_email": "nope"},
    )
    body = assert_problem(response, 422, "validation-failed")
    pointers = {e["pointer"]: e["detail"] for e in body["errors"]}  # type: ignore[union-attr]
    assert set(pointers) == {"/kind", "/name_zh", "/credit_code", "/owner_email", "/owner_name"}
    assert "check character should be 6, not 7" in pointers["/credit_code"]


async def test_unknown_fields_are_rejected_not_ignored(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner)
    response = await client.patch(
        "/api/v1/organizations/me",
        json={"verification_status": "verified", "kind": "platform"},
        headers=actor.headers,
    )
    body = assert_problem(response, 422, "validation-failed")
    assert {e["pointer"] for e in body["errors"]} == {"/verification_status", "/kind"}  # type: ignore[union-attr]


async def test_malformed_json_is_a_client_error(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/organizations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_query_parameter_errors_name_the_parameter(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner)
    response = await client.get("/api/v1/organizations/me/members?limit=1000", headers=actor.headers)
    body = assert_problem(response, 400, "validation-failed")
    assert body["errors"] == [{"detail": body["errors"][0]["detail"], "parameter": "limit", "in": "query"}]  # type: ignore[index]


async def test_bad_cursor_names_the_parameter(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner)
    response = await client.get("/api/v1/organizations/me/members?cursor=@@@", headers=actor.headers)
    body = assert_problem(response, 400, "invalid-cursor")
    assert body["errors"] == [{"detail": "not a valid cursor", "parameter": "cursor", "in": "query"}]


async def test_bad_path_parameter_is_a_client_error(client: httpx.AsyncClient, factory: Factory) -> None:
    actor = await factory.actor(role=Role.owner)
    response = await client.get("/api/v1/organizations/not-a-uuid", headers=actor.headers)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_oversized_body_is_413(client: httpx.AsyncClient, settings: object) -> None:
    big = b'{"name_zh": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await client.post("/api/v1/organizations", content=big, headers={"content-type": "application/json"})
    assert_problem(response, 413, "request-body-too-large")


async def test_oversized_body_with_idempotency_key_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"name_zh": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/organizations",
        content=big,
        headers={"content-type": "application/json", "Idempotency-Key": "big-1"},
    )
    assert_problem(response, 413, "request-body-too-large")


async def test_problem_carries_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/users/me", headers={"X-Request-ID": "trace-abc.123"})
    assert response.headers["x-request-id"] == "trace-abc.123"
    assert response.json()["request_id"] == "trace-abc.123"


async def test_insane_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert response.headers["x-request-id"] != "bad id\twith spaces"
    assert len(response.headers["x-request-id"]) == 32


async def test_platform_kind_cannot_self_register(client: httpx.AsyncClient) -> None:
    from tests.factories import unique_credit_code

    response = await client.post(
        "/api/v1/organizations",
        json={
            "kind": "platform",
            "name_zh": "假平台",
            "credit_code": unique_credit_code(OrganizationKind.enterprise),
            "owner_email": "x@example.com",
            "owner_name": "x",
        },
    )
    body = assert_problem(response, 422, "invalid-input")
    assert body["errors"] == [{"detail": body["errors"][0]["detail"], "pointer": "/kind"}]  # type: ignore[index]
