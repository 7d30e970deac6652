"""Helpers for catalogue tests: valid payloads, patent numbers, and API shortcuts for listings and demands."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import httpx

from marketplace.reference.patents import compute_check_digit
from tests.factories import Actor

API = "/api/v1"


def patent_number(*, kind: str = "1", year: int = 2019) -> str:
    """A fresh, valid patent number (ZL form) with the right check digit."""
    digits = f"{year}{kind}{random.randrange(1, 10_000_000):07d}"
    return f"ZL{digits}.{compute_check_digit(digits)}"


def wrong_check_digit(number: str) -> tuple[str, str]:
    """The number with a wrong check digit, and the digit that would be right."""
    body, right = number[2:].split(".")
    wrong = "1" if right != "1" else "2"
    return f"ZL{body}.{wrong}", right


def listing_payload(**overrides: Any) -> dict[str, Any]:
    """A complete, valid listing body."""
    body: dict[str, Any] = {
        "title_zh": "高效钙钛矿太阳能电池制备技术",
        "title_en": "Efficient perovskite solar cells",
        "summary": "一种低成本、高稳定性的钙钛矿电池制备工艺。",
        "description": "采用两步溶液法制备，组件效率超过百分之二十。",
        "keywords": ["钙钛矿", "光伏"],
        "field_codes": ["6.3"],
        "trl": 5,
        "achievement_type": "applied_technology",
        "inventors": ["李明", "王芳"],
        "ip_assets": [
            {
                "type": "invention_patent",
                "number": patent_number(),
                "title": "一种钙钛矿薄膜的制备方法",
                "holder": "东湖理工大学",
                "filing_date": "2019-03-01",
                "grant_date": "2021-06-15",
                "legal_status": "granted",
            }
        ],
        "trade_modes": ["transfer", "exclusive_licence"],
        "pricing": {"kind": "fixed", "price_fen": 50_000_000},
        "region_code": "420100",
        "holder_state_funded": True,
        "contact_name": "张老师",
        "contact_phone": "027-87654321",
        "contact_email": "tto@example.edu.cn",
        "confidential_description": "SECRET-RECIPE: 前驱体配比 1:1.05，退火 100℃",
        "nda_text": "接收方对保密信息负有保密义务，期限五年。",
    }
    body.update(overrides)
    return body


def if_match(response: httpx.Response) -> dict[str, str]:
    """An If-Match header carrying the ETag of a response."""
    return {"If-Match": response.headers["ETag"]}


async def create_listing(client: httpx.AsyncClient, owner: Actor, **overrides: Any) -> httpx.Response:
    """POST a listing and insist it worked."""
    response = await client.post(f"{API}/listings", json=listing_payload(**overrides), headers=owner.headers)
    assert response.status_code == 201, response.text
    return response


async def transition(
    client: httpx.AsyncClient, actor: Actor, path: str, *, etag: str, json: Any = None
) -> httpx.Response:
    """POST a state change with If-Match."""
    return await client.post(f"{API}{path}", headers={**actor.headers, "If-Match": etag}, json=json)


async def published_listing(
    client: httpx.AsyncClient, owner: Actor, platform: Actor, **overrides: Any
) -> httpx.Response:
    """Create, submit and approve a listing; the last response (with its ETag)."""
    created = await create_listing(client, owner, **overrides)
    listing_id = created.json()["id"]
    submitted = await transition(client, owner, f"/listings/{listing_id}/submit", etag=created.headers["ETag"])
    assert submitted.status_code == 200, submitted.text
    approved = await transition(
        client, platform, f"/platform/listings/{listing_id}/approve", etag=submitted.headers["ETag"]
    )
    assert approved.status_code == 200, approved.text
    return approved


def demand_payload(**overrides: Any) -> dict[str, Any]:
    """A complete, valid demand body."""
    body: dict[str, Any] = {
        "title": "寻求工业机器人视觉定位技术",
        "description": "用于汽车零部件抓取，定位精度 0.1 mm。",
        "field_codes": ["2.1"],
        "budget_min_fen": 10_000_000,
        "budget_max_fen": 50_000_000,
        "trade_modes": ["transfer", "co_development"],
        "min_trl": 6,
        "region_code": "440300",
        "deadline": (date.today() + timedelta(days=30)).isoformat(),
        "wants_broker_contact": True,
    }
    body.update(overrides)
    return body


async def create_demand(client: httpx.AsyncClient, owner: Actor, **overrides: Any) -> httpx.Response:
    """POST a demand and insist it worked."""
    response = await client.post(f"{API}/demands", json=demand_payload(**overrides), headers=owner.headers)
    assert response.status_code == 201, response.text
    return response
