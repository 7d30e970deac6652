"""Bulk import of listings: 10,000 realistic CSV rows through the service, against a plain executemany.

Run: .venv/bin/python bench/import_listings.py [--rows 10000]  (or python -m bench.import_listings)

Uses DATABASE_URL when set (the schema must be migrated), otherwise a throwaway embedded PostgreSQL.
Prints rows/second for the whole import (parse, validate, COPY, audit and outbox records, commit) and,
for the insert step alone, COPY against a plain executemany of the very same rows (the baseline), with
their ratio. Inserts are rolled back except the full import's, which commits like the CLI does.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa

from marketplace.accounts.models import Organization, OrganizationKind, VerificationStatus
from marketplace.config import Settings, to_asyncpg_url
from marketplace.db.engine import make_engine, make_sessionmaker
from marketplace.listings import bulk
from marketplace.listings.models import Listing, ListingIPAsset, ListingStatus
from marketplace.listings.service import ImportOwner, ListingsService, import_rows
from marketplace.reference.fields import all_fields
from marketplace.reference.patents import compute_check_digit
from marketplace.reference.regions import prefectures

SUBJECTS = [
    "钙钛矿太阳能电池",
    "工业机器人视觉定位",
    "锂离子电池正极材料",
    "基因编辑递送载体",
    "高强度铝合金",
    "智能电网故障诊断",
    "水体重金属吸附材料",
    "农作物病虫害识别",
    "碳纤维复合材料",
    "毫米波雷达芯片",
    "医用可降解支架",
    "氢燃料电池催化剂",
]
ACTIONS = ["制备方法", "关键技术", "系统及装置", "优化工艺", "检测方法", "产业化技术"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "明芳伟静磊洋勇艳杰娟涛超"
MODES = [
    "transfer",
    "exclusive_licence",
    "sole_licence",
    "non_exclusive_licence",
    "equity_investment",
    "co_development",
    "technical_service",
]
HEADERS_ZH = [
    "成果名称",
    "英文名称",
    "摘要",
    "关键词",
    "领域",
    "成熟度",
    "成果类型",
    "完成人",
    "交易方式",
    "定价方式",
    "价格",
    "最低价",
    "最高价",
    "起拍价",
    "加价幅度",
    "保留价",
    "保证金",
    "地区代码",
    "国有资金",
    "联系人",
    "联系电话",
    "知识产权",
]


def _patent(serials: set[int], year: int) -> str:
    while True:
        serial = random.randrange(1, 10_000_000)
        if serial not in serials:
            serials.add(serial)
            break
    digits = f"{year}1{serial:07d}"
    return f"ZL{digits}.{compute_check_digit(digits)}"


def generate_csv(rows: int, seed: int = 20260101) -> bytes:
    """A CSV with Chinese headers and rows like those an institute's technology-transfer office keeps."""
    random.seed(seed)
    codes = [f.code for f in all_fields() if f.parent is not None]
    regions = [r.code for r in prefectures()]
    serials: set[int] = set()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS_ZH)
    for i in range(rows):
        subject, action = random.choice(SUBJECTS), random.choice(ACTIONS)
        kind = random.choice(["fixed", "fixed", "range", "negotiable", "auction"])
        price = min_p = max_p = start = inc = reserve = deposit = ""
        if kind == "fixed":
            price = str(random.randrange(10, 5000) * 10_000_00)
        elif kind == "range":
            low = random.randrange(10, 1000) * 10_000_00
            min_p, max_p = str(low), str(low * random.randrange(2, 5))
        elif kind == "auction":
            s = random.randrange(10, 500) * 10_000_00
            start, inc, reserve, deposit = str(s), str(s // 20), str(s * 2), str(s // 10)
        assets = [
            {
                "type": "invention_patent",
                "number": _patent(serials, random.randrange(2010, 2024)),
                "title": f"一种{subject}的{action}",
                "legal_status": "granted",
            }
            for _ in range(random.randrange(0, 3))
        ]
        writer.writerow(
            [
                f"{subject}{action}（第{i + 1}号）",
                f"{subject} technology #{i + 1}",
                f"本成果涉及{subject}的{action}，已完成中试验证，具备产业化条件。",
                f"{subject};{action}",
                ";".join(random.sample(codes, random.randrange(1, 3))),
                str(random.randrange(1, 10)),
                random.choice(["applied_technology", "applied_technology", "basic_research", "soft_science"]),
                "、".join(random.choice(SURNAMES) + random.choice(GIVEN) for _ in range(random.randrange(1, 4))),
                ";".join(random.sample(MODES, random.randrange(1, 3))),
                kind,
                price,
                min_p,
                max_p,
                start,
                inc,
                reserve,
                deposit,
                random.choice(regions),
                random.choice(["是", "否"]),
                random.choice(SURNAMES) + "老师",
                f"027-{random.randrange(10_000_000, 99_999_999)}",
                json.dumps(assets, ensure_ascii=False) if assets else "",
            ]
        )
    return out.getvalue().encode("utf-8")


async def run(url: str, rows: int) -> None:
    engine = make_engine(Settings(database_url=url), url=to_asyncpg_url(url))
    maker = make_sessionmaker(engine)
    content = generate_csv(rows)
    async with maker() as session:
        org = Organization(
            kind=OrganizationKind.institute,
            name_zh=f"基准测试研究院{uuid.uuid4().hex[:6]}",
            verification_status=VerificationStatus.verified,
        )
        session.add(org)
        await session.commit()
    owner = ImportOwner(organization_id=org.id, kind=OrganizationKind.institute, verified=True)

    # 1. The whole import through the service, committed.
    started = time.perf_counter()
    async with maker() as session:
        count = await ListingsService(session).import_listings(owner, content, bulk.CSV)
        await session.commit()
    full = time.perf_counter() - started

    # The very same validated rows for the insert-only comparison.
    parsed = bulk.parse(content, bulk.CSV)
    creates = [listing for raw in parsed.rows if (listing := bulk.to_listing(raw)[0]) is not None]
    listing_table = Listing.__table__  # type: ignore[attr-defined]
    asset_table = ListingIPAsset.__table__  # type: ignore[attr-defined]

    async def timed_insert(use_copy: bool) -> float:
        listing_rows, asset_rows = import_rows(owner, creates, status=ListingStatus.draft)
        async with maker() as session:
            service = ListingsService(session)
            await session.execute(sa.text("SELECT 1"))
            began = time.perf_counter()
            if use_copy:
                await service.insert_rows(listing_rows, asset_rows)
            else:
                await service.repo.insert_many(listing_table, listing_rows)
                await service.repo.insert_many(asset_table, asset_rows)
            elapsed = time.perf_counter() - began
            await session.rollback()
        return elapsed

    # 2. Insert step alone: COPY against a plain executemany (baseline); best of three each.
    copy_s = min([await timed_insert(True) for _ in range(3)])
    many_s = min([await timed_insert(False) for _ in range(3)])
    await engine.dispose()

    print(f"rows: {count} (file {len(content) / 1e6:.1f} MB)")
    print(f"full import (parse, validate, COPY, audit+outbox, commit): {full:.2f}s  {count / full:,.0f} rows/s")
    print(f"insert step, COPY:                  {copy_s:.3f}s  {count / copy_s:,.0f} rows/s")
    print(f"insert step, executemany (baseline): {many_s:.3f}s  {count / many_s:,.0f} rows/s")
    print(f"COPY vs executemany: {many_s / copy_s:.1f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if url:
        asyncio.run(run(url, args.rows))
        return
    from marketplace.db.embedded import start_embedded
    from marketplace.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        server, url = start_embedded(Path(tmp), "bench_import")
        try:
            upgrade(url)
            asyncio.run(run(url, args.rows))
        finally:
            server.stop()


if __name__ == "__main__":
    main()
