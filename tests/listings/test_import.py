"""Bulk import (CSV, JSON lines; API and CLI) and export, which round-trips through import."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.cli import main
from marketplace.config import get_settings, to_asyncpg_url
from marketplace.listings import bulk
from tests.catalogue import API, create_listing, patent_number
from tests.factories import Actor, Factory, unique_credit_code

HEADER = "成果名称,英文名称,领域,成熟度,交易方式,定价方式,价格,最低价,最高价,地区代码,国有资金,完成人,知识产权"


def good_csv(rows: int = 3) -> str:
    lines = [HEADER]
    for i in range(rows):
        assets = json.dumps([{"type": "invention_patent", "number": patent_number(), "legal_status": "granted"}])
        lines.append(
            f'批量成果{i},Batch {i},1.5;2.1,{1 + i % 9},转让;普通许可,固定价格,{1000 + i},,,110108,是,李明、王芳,"'
            + assets.replace('"', '""')
            + '"'
        )
    return "\n".join(lines) + "\n"


async def count_listings(session: AsyncSession, org_id: object) -> int:
    result = await session.execute(sa.text("SELECT count(*) FROM listings WHERE organization_id = :o"), {"o": org_id})
    return int(result.scalar_one())


@pytest.fixture
async def owner(factory: Factory) -> Actor:
    return await factory.actor(kind=OrganizationKind.institute, role=Role.member)


async def post_csv(client: httpx.AsyncClient, owner: Actor, text: str, query: str = "") -> httpx.Response:
    return await client.post(
        f"{API}/listings/import{query}",
        content=text.encode("utf-8"),
        headers={**owner.headers, "Content-Type": "text/csv"},
    )


async def test_good_csv_imports_every_row_as_drafts(
    client: httpx.AsyncClient, owner: Actor, session: AsyncSession
) -> None:
    response = await post_csv(client, owner, good_csv(5))
    assert response.status_code == 201, response.text
    assert response.json() == {"imported": 5, "status": "draft", "organization_id": str(owner.organization.id)}
    assert await count_listings(session, owner.organization.id) == 5
    mine = await client.get(f"{API}/organizations/me/listings?limit=10", headers=owner.headers)
    first = await client.get(f"{API}/listings/{mine.json()['items'][-1]['id']}", headers=owner.headers)
    body = first.json()
    assert body["status"] == "draft"
    assert body["trade_modes"] == ["transfer", "non_exclusive_licence"]
    assert body["inventors"] == ["李明", "王芳"]
    assert body["holder_state_funded"] is True
    assert body["ip_assets"][0]["number"].startswith("ZL")
    events = await session.execute(
        sa.text(
            "SELECT count(*) FROM outbox_events WHERE type = 'listing.created' AND organization_id = :o "
            "AND payload->>'organization_id' = :s AND payload->>'via' = 'import'"
        ),
        {"o": owner.organization.id, "s": str(owner.organization.id)},
    )
    assert events.scalar_one() == 5
    audits = await session.execute(
        sa.text("SELECT count(*) FROM audit_events WHERE action = 'listing.created' AND organization_id = :o"),
        {"o": owner.organization.id},
    )
    assert audits.scalar_one() == 5


async def test_one_bad_row_imports_nothing_and_names_the_row(
    client: httpx.AsyncClient, owner: Actor, session: AsyncSession
) -> None:
    lines = good_csv(4).splitlines()
    number = patent_number()
    body, right = number[2:].split(".")
    wrong = "0" if right != "0" else "1"
    bad_assets = json.dumps([{"type": "invention_patent", "number": f"ZL{body}.{wrong}"}]).replace('"', '""')
    lines[3] = f'坏行,Bad,9.9,12,转让,固定价格,,,,999999,否,,"{bad_assets}"'
    response = await post_csv(client, owner, "\n".join(lines) + "\n")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["title"] == "Import rejected"
    assert problem["detail"] == "1 row(s) have problems; nothing was imported"
    rows = problem["rows"]
    assert {r["row"] for r in rows} == {3}
    by_field = {r["field"]: r for r in rows}
    assert set(by_field) == {"field_codes", "trl", "price_fen", "region_code", "ip_assets"}
    assert by_field["trl"]["column"] == "成熟度"
    assert f"check digit should be {right}" in by_field["ip_assets"]["problem"]
    assert by_field["price_fen"]["problem"] == "required for fixed pricing"
    assert {e["pointer"] for e in problem["errors"]} >= {"/rows/3/trl", "/rows/3/region_code"}
    assert await count_listings(session, owner.organization.id) == 0


async def test_traditional_headers_full_width_digits_and_chinese_values(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    text = (
        "成果名稱,技術領域,技術成熟度,交易方式,定價方式,最低價,最高價,地區代碼,是否財政資助,聯繫電話\n"
        '繁體標題成果,１.５,７,獨佔許可、技術服務,區間,１２３,"１,０００",４４０３００,否,０２７-８７６５４３２１\n'
    )
    response = await post_csv(client, owner, text)
    assert response.status_code == 201, response.text
    mine = await client.get(f"{API}/organizations/me/listings", headers=owner.headers)
    listing_id = mine.json()["items"][0]["id"]
    body = (await client.get(f"{API}/listings/{listing_id}", headers=owner.headers)).json()
    assert body["title_zh"] == "繁體標題成果"  # free text is kept as written
    assert body["field_codes"] == ["1.5"]
    assert body["trl"] == 7
    assert body["trade_modes"] == ["exclusive_licence", "technical_service"]
    assert body["pricing"]["kind"] == "range"
    assert (body["pricing"]["min_fen"], body["pricing"]["max_fen"]) == (123, 1000)
    assert body["region_code"] == "440300"
    assert body["holder_state_funded"] is False


async def test_jsonl_multipart_and_submit_flag(client: httpx.AsyncClient, owner: Actor) -> None:
    rows = [
        {
            "title_zh": "JSON成果一",
            "field_codes": ["3.1"],
            "trl": 4,
            "trade_modes": ["transfer"],
            "pricing_kind": "auction",
            "start_price_fen": 100,
            "increment_fen": 10,
            "reserve_fen": 500,
            "region_code": "310000",
        },
        {
            "成果名称": "JSON成果二",
            "领域": "3.2",
            "成熟度": "６",
            "交易方式": ["作价投资"],
            "定价方式": "面议",
            "地区代码": "310000",
        },
    ]
    content = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    response = await client.post(
        f"{API}/listings/import?submit=true",
        files={"file": ("listings.jsonl", content, "application/octet-stream")},
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "submitted"
    mine = await client.get(f"{API}/organizations/me/listings?status=submitted", headers=owner.headers)
    assert {i["title_zh"] for i in mine.json()["items"]} == {"JSON成果一", "JSON成果二"}


async def test_unknown_format_and_columns(client: httpx.AsyncClient, owner: Actor) -> None:
    response = await client.post(
        f"{API}/listings/import", content=b"{}", headers={**owner.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 415
    unknown = await post_csv(client, owner, "成果名称,颜色\n成果,红\n")
    assert unknown.status_code == 422
    assert unknown.json()["rows"] == [
        {"row": 0, "field": "颜色", "problem": "unknown column (see the documented columns)"}
    ]
    empty = await post_csv(client, owner, "成果名称,领域\n")
    assert empty.status_code == 422


async def test_submitted_import_refuses_patents_already_active_or_repeated(
    client: httpx.AsyncClient, owner: Actor, factory: Factory
) -> None:
    taken = patent_number()
    other = await factory.actor(kind=OrganizationKind.institute)
    created = await create_listing(
        client, other, ip_assets=[{"type": "invention_patent", "number": taken, "legal_status": "granted"}]
    )
    submitted = await client.post(
        f"{API}/listings/{created.json()['id']}/submit", headers={**other.headers, "If-Match": created.headers["ETag"]}
    )
    assert submitted.status_code == 200
    repeated = patent_number()

    def row(title: str, number: str) -> dict[str, object]:
        return {
            "title_zh": title,
            "field_codes": ["1"],
            "trl": 3,
            "trade_modes": ["transfer"],
            "pricing_kind": "negotiable",
            "region_code": "110000",
            "ip_assets": [{"type": "invention_patent", "number": number, "legal_status": "granted"}],
        }

    content = "\n".join(
        json.dumps(r, ensure_ascii=False)
        for r in (row("成果一", taken), row("成果二", repeated), row("成果三", repeated))
    )
    response = await client.post(
        f"{API}/listings/import?submit=true",
        content=content.encode(),
        headers={**owner.headers, "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 422, response.text
    assert [(r["row"], r["field"]) for r in response.json()["rows"]] == [(1, "ip_assets"), (3, "ip_assets")]
    # As drafts the same file is fine: drafts do not hold patents.
    drafts = await client.post(
        f"{API}/listings/import",
        content=content.encode(),
        headers={**owner.headers, "Content-Type": "application/x-ndjson"},
    )
    assert drafts.status_code == 201


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
async def test_export_round_trips_through_import(client: httpx.AsyncClient, factory: Factory, fmt: str) -> None:
    source = await factory.actor(kind=OrganizationKind.institute)
    await create_listing(client, source)
    await create_listing(
        client,
        source,
        title_zh="第二项成果，含逗号",
        pricing={"kind": "auction", "start_price_fen": 100, "increment_fen": 5, "reserve_fen": 200, "deposit_fen": 10},
        keywords=[],
        ip_assets=[{"type": "know_how", "title": "工艺诀窍"}],
        nda_text=None,
        confidential_description=None,
        description="多行\n描述",
    )
    exported = await client.get(f"{API}/organizations/me/listings/export?format={fmt}", headers=source.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith(bulk.MEDIA_TYPES[fmt])
    target = await factory.actor(kind=OrganizationKind.enterprise)
    imported = await client.post(
        f"{API}/listings/import",
        content=exported.content,
        headers={**target.headers, "Content-Type": bulk.MEDIA_TYPES[fmt]},
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == 2
    again = await client.get(f"{API}/organizations/me/listings/export?format={fmt}", headers=target.headers)
    assert again.text == exported.text


def test_header_folding() -> None:
    assert bulk.canonical_column("成果名称") == "title_zh"
    assert bulk.canonical_column("成果名稱") == "title_zh"
    assert bulk.canonical_column(" Title_ZH ") == "title_zh"
    assert bulk.canonical_column("\ufeff成果名称") == "title_zh"
    assert bulk.canonical_column("保證金") == "deposit_fen"
    assert bulk.canonical_column("價格（分）") == "price_fen"
    assert bulk.canonical_column("颜色") is None


def test_gb18030_files_are_read() -> None:
    text = "成果名称,领域,成熟度,交易方式,定价方式,地区代码\n国标编码成果,1.5,4,转让,面议,110000\n"
    parsed = bulk.parse(text.encode("gb18030"), bulk.CSV)
    assert parsed.problems == []
    listing, problems = bulk.to_listing(parsed.rows[0])
    assert problems == []
    assert listing is not None and listing.title_zh == "国标编码成果"


def test_cli_import(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI commits for real, so it works on an organisation of its own and frees its patents afterwards."""
    code = unique_credit_code(OrganizationKind.institute)

    async def sql(statement: str, **params: object) -> list[object]:
        engine = create_async_engine(to_asyncpg_url(database_url))
        try:
            async with engine.begin() as conn:
                result = await conn.execute(sa.text(statement), params)
                return list(result.scalars().all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    org_id = asyncio.run(
        sql(
            "INSERT INTO organizations (id, kind, name_zh, credit_code, verification_status, version, created_at, "
            "updated_at) VALUES (gen_random_uuid(), 'institute', 'CLI导入测试院', :c, 'verified', 1, now(), now()) "
            "RETURNING id",
            c=code,
        )
    )[0]
    good = tmp_path / "good.csv"
    good.write_text(good_csv(3), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "\n坏行成果,Bad,9.9,4,转让,面议,,,,110000,否,,\n", encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        rejected = runner.invoke(main, ["import", "listings", str(bad), "--org", code])
        assert rejected.exit_code == 1, rejected.output
        assert "Nothing imported" in rejected.output
        assert "领域" in rejected.output and "unknown field code '9.9'" in rejected.output
        result = runner.invoke(main, ["import", "listings", str(good), "--org", str(org_id), "--submit"])
        assert result.exit_code == 0, result.output
        assert "imported 3 listings" in result.output
        unknown = runner.invoke(main, ["import", "listings", str(good), "--org", "no-such-org"])
        assert unknown.exit_code != 0
        assert "no organisation" in unknown.output
        statuses = asyncio.run(sql("SELECT status FROM listings WHERE organization_id = :o", o=org_id))
        assert statuses == ["submitted"] * 3
    finally:
        get_settings.cache_clear()
        asyncio.run(
            sql(
                "UPDATE listing_ip_assets SET active = false WHERE listing_id IN "
                "(SELECT id FROM listings WHERE organization_id = :o)",
                o=org_id,
            )
        )


def test_every_column_is_documented() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    assert "# Bulk import" in doc
    for column in bulk.COLUMNS:
        assert f"`{column}`" in doc, column
        assert column in (bulk.__doc__ or ""), column
