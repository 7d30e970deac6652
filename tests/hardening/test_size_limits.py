"""Body, page and query size limits on every route: over the limit is 413/400 problem+json, never a 500;
uploads are streamed to disk, so a large one never sits whole in memory."""

from __future__ import annotations

import json
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.config import Settings
from marketplace.kit.pagination import MAX_LIMIT
from marketplace.listings.attachments import ATTACHMENT_MAX_BYTES, inspect_file, sniff
from marketplace.storage import LocalStorage, use_storage
from tests.catalogue import API, create_listing
from tests.factories import Actor, Factory
from tests.listings.test_attachments import JPEG, OLE, PDF, PNG, office, ole

SPEC = json.loads((Path(__file__).parents[2] / "api_specs" / "openapi.json").read_text())


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.method, response.request.url, response.text[:300])
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def get_routes_with_query(name: str) -> list[tuple[str, dict[str, Any]]]:
    """Every GET path of the spec with a query parameter called `name`, and that parameter's schema."""
    out = []
    for path, ops in SPEC["paths"].items():
        op = ops.get("get")
        for param in (op or {}).get("parameters", []):
            if param["in"] == "query" and param["name"] == name:
                out.append((path, param.get("schema", {})))
    return out


def concrete(path: str) -> str:
    """A spec path with every {parameter} filled with a well-formed id."""
    out = path
    while "{" in out:
        start, end = out.index("{"), out.index("}")
        out = out[:start] + str(uuid.uuid4()) + out[end + 1 :]
    return out


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[LocalStorage]:
    store = LocalStorage(tmp_path / "files")
    use_storage(store)
    yield store
    use_storage(None)


@pytest.fixture
async def platform(factory: Factory) -> Actor:
    org = await factory.organization(OrganizationKind.platform)
    return await factory.actor(org, role=Role.admin)


# -- bodies ----------------------------------------------------------------------------------------------------


async def test_json_body_over_the_limit_is_413(client: httpx.AsyncClient, settings: Settings, platform: Actor) -> None:
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 1) + b'"}'
    headers = {**platform.headers, "Content-Type": "application/json"}
    for extra in ({}, {"Idempotency-Key": f"big-{uuid.uuid4()}"}):
        body = problem(await client.post(f"{API}/listings", content=big, headers={**headers, **extra}), 413)
        assert "larger" in body["detail"]


async def test_streamed_body_without_length_over_the_limit_is_413(
    client: httpx.AsyncClient, settings: Settings, platform: Actor
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title_zh": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    headers = {**platform.headers, "Content-Type": "application/json"}
    problem(await client.post(f"{API}/listings", content=chunks(), headers=headers), 413)


async def test_upload_over_its_route_limit_is_413(
    client: httpx.AsyncClient, factory: Factory, storage: LocalStorage
) -> None:
    owner = await factory.actor(kind=OrganizationKind.institute)
    listing_id = (await create_listing(client, owner)).json()["id"]
    content = PDF + b"0" * (ATTACHMENT_MAX_BYTES + 128 * 1024)
    response = await client.post(
        f"{API}/listings/{listing_id}/attachments",
        files={"file": ("big.pdf", content, "application/pdf")},
        headers=owner.headers,
    )
    problem(response, 413)
    assert not any(storage.root.rglob("*")) or not any(p.is_file() for p in storage.root.rglob("*"))


async def test_upload_is_streamed_to_disk_not_held_in_memory(
    client: httpx.AsyncClient, factory: Factory, storage: LocalStorage
) -> None:
    """A 12 MB upload, sent in 64 KB chunks, raises the process's traced memory peak by far less than 12 MB."""
    owner = await factory.actor(kind=OrganizationKind.institute)
    listing_id = (await create_listing(client, owner)).json()["id"]
    size = 12 * 1024 * 1024
    boundary = "hardening-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="confidential"\r\n\r\nfalse\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head + PDF
        sent = len(PDF)
        while sent < size:
            chunk = b"0" * min(65536, size - sent)
            sent += len(chunk)
            yield chunk
        yield tail

    headers = {
        **owner.headers,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Idempotency-Key": f"upload-{uuid.uuid4()}",  # the replay copy of the body is spooled too
    }
    tracemalloc.start()
    try:
        response = await client.post(f"{API}/listings/{listing_id}/attachments", content=body(), headers=headers)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 201, response.text
    assert response.json()["size_bytes"] == size
    stored = storage.root / "listings" / listing_id / response.json()["id"]
    assert stored.stat().st_size == size
    assert peak < size / 3, f"peak traced memory {peak} bytes for a {size}-byte upload"


@pytest.mark.parametrize(
    "content", [PDF, PNG, JPEG, office("word"), office("xl"), office("ppt"), ole("WordDocument"), ole("Workbook"), OLE]
)
def test_chunked_inspection_agrees_with_sniffing(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "f"
    path.write_bytes(content)
    with path.open("rb") as fh:
        facts = inspect_file(fh)
    assert facts.kind is sniff(content) and facts.size == len(content)


def test_ole_marker_straddling_a_chunk_is_found(tmp_path: Path) -> None:
    from marketplace.listings import attachments

    content = OLE + b"\x00" * (attachments.CHUNK - len(OLE) - 7) + "WordDocument".encode("utf-16-le")
    path = tmp_path / "f"
    path.write_bytes(content)
    with path.open("rb") as fh:
        assert inspect_file(fh).kind is attachments.DOC


# -- pages -----------------------------------------------------------------------------------------------------


LIMIT_ROUTES = get_routes_with_query("limit")


def test_every_list_route_declares_a_bounded_limit() -> None:
    assert len(LIMIT_ROUTES) >= 20
    unbounded = [path for path, schema in LIMIT_ROUTES if "maximum" not in json.dumps(schema)]
    assert unbounded == [], "limit without a maximum in the spec"


@pytest.mark.parametrize(("path", "schema"), LIMIT_ROUTES, ids=[p for p, _ in LIMIT_ROUTES])
async def test_over_limit_page_size_is_400_naming_limit(
    client: httpx.AsyncClient, platform: Actor, path: str, schema: dict[str, Any]
) -> None:
    maximum = max(int(m) for m in _maxima(schema)) if _maxima(schema) else MAX_LIMIT
    search = path.startswith(f"{API}/search/")
    for bad in (maximum + 1, 10**9, 0, -1, "ten"):
        response = await client.get(concrete(path), params={"limit": bad}, headers=platform.headers)
        # Search reports out-of-range search parameters as 422 (its own convention); everything else is 400.
        body = problem(response, 422 if search and response.status_code == 422 else 400)
        assert any(e.get("parameter") == "limit" for e in body.get("errors", [])), body


def _maxima(schema: Any) -> list[int]:
    if isinstance(schema, dict):
        found = [schema["maximum"]] if "maximum" in schema else []
        for value in schema.values():
            found += _maxima(value)
        return found
    if isinstance(schema, list):
        return [m for item in schema for m in _maxima(item)]
    return []


# -- query strings ---------------------------------------------------------------------------------------------


async def test_query_string_over_the_limit_is_400(client: httpx.AsyncClient, settings: Settings) -> None:
    long_q = "专" * (settings.max_query_string_bytes // 9 + 1)  # 9 bytes each, percent-encoded
    body = problem(await client.get(f"{API}/listings", params={"q": long_q}), 400)
    assert body["errors"] == [
        {"detail": f"longer than {settings.max_query_string_bytes} bytes", "parameter": "query", "in": "query"}
    ]
    problem(await client.get("/dashboard/login", params={"x": "y" * settings.max_query_string_bytes}), 400)


async def test_nul_characters_in_query_strings_are_400(client: httpx.AsyncClient, platform: Actor) -> None:
    for path, name in ((f"{API}/listings", "q"), (f"{API}/platform/jobs", "kind")):
        body = problem(await client.get(path, params={name: "a\x00b"}, headers=platform.headers), 400)
        assert body["errors"][0]["parameter"] == "query"


STRING_QUERY_PARAMS = sorted(
    {
        (path, param["name"])
        for path, ops in SPEC["paths"].items()
        for param in (ops.get("get") or {}).get("parameters", [])
        if param["in"] == "query" and "string" in json.dumps(param.get("schema", {})) and param["name"] != "limit"
    }
)


@pytest.mark.parametrize(("path", "name"), STRING_QUERY_PARAMS, ids=[f"{p}?{n}" for p, n in STRING_QUERY_PARAMS])
async def test_long_query_values_are_refused_or_served_never_500(
    client: httpx.AsyncClient, platform: Actor, settings: Settings, path: str, name: str
) -> None:
    near_cap = "检" * ((settings.max_query_string_bytes - len(name) - 1) // 9)  # percent-encoded: 9 bytes each
    for value in (near_cap, "x" * (settings.max_query_string_bytes - len(name) - 1), "\x00\ud7ff'\"<>%"):
        response = await client.get(concrete(path), params={name: value}, headers=platform.headers)
        assert response.status_code < 500, (path, name, response.status_code, response.text[:200])
        if response.status_code >= 400:
            assert response.headers["content-type"].startswith("application/problem+json")
