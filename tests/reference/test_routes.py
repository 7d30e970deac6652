"""The public reference data routes."""

from __future__ import annotations

import httpx

API = "/api/v1"


async def test_fields(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/reference/fields")
    assert response.status_code == 200
    assert "max-age" in response.headers["cache-control"]
    items = response.json()["items"]
    assert items[0] == {"code": "1", "parent": None, "name_zh": "新一代信息技术产业", "name_en": items[0]["name_en"]}
    assert {"code", "parent", "name_zh", "name_en"} == set(items[1])
    assert any(i["code"] == "1.5" and i["parent"] == "1" for i in items)


async def test_regions(client: httpx.AsyncClient) -> None:
    everything = (await client.get(f"{API}/reference/regions")).json()["items"]
    assert len(everything) > 300
    guangdong = (await client.get(f"{API}/reference/regions?province=440000")).json()["items"]
    assert guangdong[0] == {"code": "440000", "name_zh": "广东省", "level": "province", "parent": None}
    assert {"code": "440300", "name_zh": "深圳市", "level": "prefecture", "parent": "440000"} in guangdong
    assert all(r["code"].startswith("44") for r in guangdong)
    assert (await client.get(f"{API}/reference/regions?province=4403")).status_code == 400


async def test_trl(client: httpx.AsyncClient) -> None:
    items = (await client.get(f"{API}/reference/trl")).json()["items"]
    assert [i["level"] for i in items] == list(range(1, 10))
    assert items[4]["name_zh"] == "以原理样机为载体通过相关环境验证"
    assert items[4]["phase"] == "pilot"
    assert items[8]["phase_zh"] == "产业化阶段"
