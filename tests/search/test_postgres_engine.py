"""PostgreSQL engine specifics: its schema, tsvector building, statistics, common words and fallback matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from search.highlight import Highlighter
from search.model import SearchDocument, SearchQuery
from search.postgres import PostgresSearchBackend, TermCache, tsvector_literal
from search.prepare import osa_distance, prepare_query, typo_budget

INDEX = "engine"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def backend(connection: AsyncConnection) -> PostgresSearchBackend:
    return PostgresSearchBackend(connection, cache=TermCache())


async def test_schema_is_what_the_engine_expects(connection: AsyncConnection) -> None:
    rows = await connection.execute(
        text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'search' ORDER BY 1")
    )
    assert [r[0] for r in rows] == ["documents", "indexes", "stored", "terms"]
    storage = await connection.execute(
        text(
            "SELECT attstorage::text FROM pg_attribute WHERE attrelid = 'search.documents'::regclass AND attname = 'tsv'"
        )
    )
    assert storage.scalar_one() == "m"  # kept in the row, uncompressed while it fits
    indexes = await connection.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = 'search'"))
    assert {"ix_search_documents_tsv", "ix_search_documents_browse", "ix_search_terms_trgm"} <= {r[0] for r in indexes}


async def test_tsvector_literals_survive_any_token(connection: AsyncConnection) -> None:
    tokens = ["it's", "back\\slash", "c++", "c#", "锂", "a:b", "'quoted'", "x" * 64]
    literal = tsvector_literal([(t, i + 1, "A") for i, t in enumerate(tokens)] + [("锂", 20000, "D")])
    result = await connection.execute(text("SELECT tsvector_to_array(CAST(:v AS tsvector))"), {"v": literal})
    assert sorted(result.scalar_one()) == sorted(tokens)


def doc(n: int, title: str, description: str = "") -> SearchDocument:
    return SearchDocument(id=f"e{n:04d}", title=title, description=description, published_at=T0 + timedelta(hours=n))


async def test_statistics_count_documents_and_forget_vanished_words(backend: PostgresSearchBackend) -> None:
    await backend.upsert(INDEX, [doc(1, "石墨烯导热膜"), doc(2, "石墨烯电池"), doc(3, "钙钛矿电池")])
    await backend.refresh_statistics(INDEX)
    assert await backend._frequencies(INDEX, {"石墨烯", "电池", "钙钛矿", "不存在"}) == {
        "石墨烯": 2,
        "电池": 2,
        "钙钛矿": 1,
        "不存在": 0,
    }
    await backend.delete(INDEX, ["e0003"])
    await backend.refresh_statistics(INDEX)
    backend.cache.forget()
    assert (await backend._frequencies(INDEX, {"钙钛矿"}))["钙钛矿"] == 0
    assert await backend._size(INDEX) == 2


async def test_common_words_rank_but_do_not_match_alone(backend: PostgresSearchBackend) -> None:
    docs = [doc(n, f"关键技术第{n}项", "一种新型技术方案") for n in range(240)]
    docs += [doc(1000, "石墨烯关键技术"), doc(1001, "石墨烯涂层")]
    await backend.upsert(INDEX, docs)
    await backend.refresh_statistics(INDEX)
    result = await backend.search(INDEX, SearchQuery(text="技术 石墨烯", per_page=5))
    assert [h.id for h in result.hits] == ["e1000", "e1001"]  # 技术 is in every document: ranking only
    assert result.total == 2


async def test_every_word_first_then_any_word(backend: PostgresSearchBackend) -> None:
    await backend.upsert(INDEX, [doc(1, "石墨烯导热膜"), doc(2, "钙钛矿电池"), doc(3, "石墨烯钙钛矿叠层")])
    both = await backend.search(INDEX, SearchQuery(text="石墨烯 钙钛矿"))
    assert both.hits[0].id == "e0003"  # the one with both words first
    assert {h.id for h in both.hits} == {"e0001", "e0002", "e0003"}  # few with both: any word will do


def test_typo_budget_and_distance() -> None:
    assert [typo_budget(w) for w in ("lidar", "lida", "graphene", "perovskite", "锂电池", "5g")] == [1, 0, 1, 2, 0, 0]
    assert osa_distance("grahene", "graphene") == 1
    assert osa_distance("pervoskyte", "perovskite") == 2  # a transposition counts once
    assert osa_distance("abc", "xyz", limit=1) == 2


def test_query_groups_carry_synonyms_parts_and_prefixes() -> None:
    prepared = prepare_query("鋰電池 回收")
    first, last = prepared.groups
    kinds = {(a.tokens, a.kind) for a in first.alternatives}
    assert (("锂电池",), "exact") in kinds and (("锂离子电池",), "synonym") in kinds
    assert (("锂", "电池"), "parts") in kinds and (("电池",), "partial") in kinds
    assert any(a.prefix for a in last.alternatives)
    assert not any(a.prefix for a in prepare_query("回收 ").groups[0].alternatives)


def test_highlights_map_back_to_traditional_and_full_width_text() -> None:
    marker = Highlighter(["激光", "5g"])
    assert marker.highlight("雷射切割頭與５Ｇ模組") == "<mark>雷射</mark>切割頭與<mark>５Ｇ</mark>模組"
    assert marker.highlight("没有匹配") is None
    window = Highlighter(["激光"]).highlight("前" * 300 + "激光" + "后" * 300, max_chars=40)
    assert window is not None and window.startswith("…") and window.endswith("…") and "<mark>激光</mark>" in window
