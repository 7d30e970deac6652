"""One behaviour for every engine: the same documents and queries give the same answers on PostgreSQL and Meilisearch.

Only behaviour both engines promise is asserted (which documents match, filters, facets, order by
sort keys, paging, highlighting, writes); exact relevance scores are engine-specific.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from search.backend import SearchBackend
from search.model import (
    Facet,
    FacetCount,
    InvalidSearchQuery,
    SearchDocument,
    SearchFilters,
    SearchQuery,
    SortOrder,
)

INDEX = "conformance"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
ORG_A = "0190f5a0-0000-7000-8000-00000000000a"
ORG_B = "0190f5a0-0000-7000-8000-00000000000b"


def doc(n: int, title: str, **fields) -> SearchDocument:
    return SearchDocument(id=f"d{n:02d}", title=title, published_at=T0 + timedelta(days=n), **fields)


CORPUS = [
    doc(
        1,
        "石墨烯导热膜及其制备方法",
        title_en="Graphene thermal film",
        keywords=("石墨烯", "散热"),
        summary="面内热导率超过1500 W/m·K，用于智能手机散热。",
        field_codes=("3.6",),
        trl=6,
        trade_modes=("transfer", "exclusive_licence"),
        ip_types=("invention_patent",),
        price_min_fen=250_000_000,
        price_max_fen=250_000_000,
        region_code="320500",
        holder_id=ORG_A,
        holder_name="滨海材料研究所",
        state_funded=True,
    ),
    doc(
        2,
        "高镍三元锂离子电池正极材料",
        title_en="High-nickel cathode for lithium-ion batteries",
        keywords=("锂离子电池", "正极材料"),
        summary="单晶化高镍正极，1000次循环容量保持率92%。",
        field_codes=("5.2",),
        trl=7,
        trade_modes=("transfer",),
        ip_types=("invention_patent",),
        price_min_fen=1_000_000_000,
        price_max_fen=1_000_000_000,
        region_code="430100",
        holder_id=ORG_B,
        holder_name="湘江新能源材料有限公司",
    ),
    doc(
        3,
        "光纤激光切割头",
        keywords=("激光切割",),
        summary="适配万瓦级光纤激光器，可切割40mm碳钢板。",
        field_codes=("2.1",),
        trl=8,
        trade_modes=("transfer",),
        ip_types=("invention_patent", "utility_model"),
        price_min_fen=60_000_000,
        price_max_fen=60_000_000,
        region_code="420100",
        holder_id=ORG_A,
        has_auction=True,
    ),
    doc(
        4,
        "电力巡检无人机",
        keywords=("无人机", "电力巡检"),
        summary="六旋翼无人机搭载红外吊舱，自动识别绝缘子缺陷。",
        field_codes=("2.2", "1.5"),
        trl=7,
        trade_modes=("technical_service",),
        ip_types=("utility_model",),
        price_min_fen=180_000_000,
        price_max_fen=250_000_000,
        region_code="420100",
        holder_id=ORG_B,
    ),
    doc(
        5,
        "激光雷达与视觉融合的自动驾驶感知系统",
        title_en="LiDAR-camera fusion perception for autonomous driving",
        keywords=("激光雷达", "自动驾驶"),
        summary="128线激光雷达点云与相机图像前融合。",
        field_codes=("1.5",),
        trl=6,
        trade_modes=("exclusive_licence", "co_development"),
        ip_types=("software_copyright",),
        region_code="310100",
        holder_id=ORG_A,
    ),
    doc(
        6,
        "钙钛矿太阳能电池",
        title_en="Perovskite solar cell",
        keywords=("钙钛矿", "光伏"),
        summary="大面积钙钛矿组件制备技术。",
        field_codes=("6.3",),
        trl=5,
        trade_modes=("equity_investment",),
        ip_types=("invention_patent",),
        price_min_fen=3_000_000_000,
        price_max_fen=3_000_000_000,
        region_code="320500",
        holder_id=ORG_B,
        state_funded=True,
    ),
    doc(
        7,
        "污水处理工艺",
        summary="膜浓缩与分盐结晶组合工艺。",
        description="其中一个步骤使用石墨烯改性的膜材料。",
        field_codes=("7.2",),
        trl=8,
        trade_modes=("technical_service",),
        region_code="610100",
        holder_id=ORG_A,
    ),
    doc(
        8,
        "AT&T <b>标记</b> 测试 & 转义",
        summary="标题含 HTML 特殊字符。",
        field_codes=("9.2",),
        trl=9,
        trade_modes=("technical_service",),
        region_code="440300",
        holder_id=ORG_B,
    ),
]
IDS = {d.id for d in CORPUS}


async def ids(backend: SearchBackend, text: str = "", **query) -> list[str]:
    result = await backend.search(INDEX, SearchQuery(text=text, per_page=100, **query))
    return [h.id for h in result.hits]


@pytest.fixture
async def loaded(backend: SearchBackend) -> SearchBackend:
    await backend.upsert(INDEX, CORPUS)
    await backend.refresh_statistics(INDEX)
    return backend


# --- matching --------------------------------------------------------------------------------


async def test_a_word_finds_every_document_with_it(loaded: SearchBackend) -> None:
    assert set(await ids(loaded, "钙钛矿")) == {"d06"}
    assert set(await ids(loaded, "无人机")) == {"d04"}
    # title, keywords or description: all count; the title match ranks first
    assert (await ids(loaded, "石墨烯"))[0] == "d01"
    assert set(await ids(loaded, "石墨烯")) == {"d01", "d07"}


async def test_traditional_taiwan_and_full_width_forms_meet_simplified_text(loaded: SearchBackend) -> None:
    assert await ids(loaded, "無人機") == await ids(loaded, "无人机") == ["d04"]
    assert set(await ids(loaded, "雷射切割")) >= {"d03"}  # Taiwan 雷射 is mainland 激光
    assert (await ids(loaded, "雷射切割"))[0] == "d03"
    assert set(await ids(loaded, "ＧＲＡＰＨＥＮＥ")) == set(await ids(loaded, "graphene")) >= {"d01"}


async def test_synonyms_match_the_other_word(loaded: SearchBackend) -> None:
    assert "d04" in await ids(loaded, "UAV")  # 无人机
    assert "d05" in await ids(loaded, "无人驾驶")  # 自动驾驶
    assert "d06" in await ids(loaded, "photovoltaic")  # 光伏


async def test_english_typos_within_budget(loaded: SearchBackend) -> None:
    assert "d01" in await ids(loaded, "grahene", prefix=False)  # 7 letters, one typo
    assert "d06" in await ids(loaded, "perowskyte", prefix=False)  # 10 letters, two typos
    assert await ids(loaded, "grhene", prefix=False) == []  # 6 letters, two typos: too many
    assert await ids(loaded, "lidr", prefix=False) == []  # 4 letters: no typo allowed


async def test_the_last_word_matches_as_a_prefix(loaded: SearchBackend) -> None:
    assert "d01" in await ids(loaded, "graph")
    assert "d06" in await ids(loaded, "perovsk")
    assert await ids(loaded, "perovsk", prefix=False) == []


async def test_single_characters_match(loaded: SearchBackend) -> None:
    assert set(await ids(loaded, "锂")) == {"d02"}


async def test_odd_input_never_fails(loaded: SearchBackend) -> None:
    for text in [
        "' OR 1=1 --",
        "'; DROP TABLE search.documents; --",
        'trl > 3 AND (field_codes = "1" OR id IN [1, 2]) AND _geoRadius(1, 2, 3)',
        "%_\\*?~^:[]{}()<>!&|",
        "😀🚀👨‍👩‍👧‍👦",
        "\x00\u200b\ufeff",
        "锂" * 900,
    ]:
        result = await loaded.search(INDEX, SearchQuery(text=text))
        assert result.total >= 0
    emoji = await loaded.search(INDEX, SearchQuery(text="😀"))
    assert emoji.total == len(CORPUS)  # nothing to match: browse


def test_overlong_queries_and_bad_pages_are_refused_before_any_engine() -> None:
    with pytest.raises(InvalidSearchQuery) as info:
        SearchQuery(text="x" * 10_000)
    assert info.value.parameter == "q"
    with pytest.raises(InvalidSearchQuery):
        SearchQuery(per_page=101)
    with pytest.raises(InvalidSearchQuery):
        SearchQuery(page=200, per_page=100)
    with pytest.raises(InvalidSearchQuery) as info:
        SearchFilters(field_codes=('1" OR 1=1',))
    assert info.value.parameter == "field_code"


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(field_codes=("3",)), {"d01"}),  # a top-level code matches its children
        (SearchFilters(field_codes=("1.5",)), {"d04", "d05"}),
        (SearchFilters(field_codes=("2", "6.3")), {"d03", "d04", "d06"}),
        (SearchFilters(trl_min=7), {"d02", "d03", "d04", "d07", "d08"}),
        (SearchFilters(trl_min=6, trl_max=7), {"d01", "d02", "d04", "d05"}),
        (SearchFilters(trade_modes=("exclusive_licence", "equity_investment")), {"d01", "d05", "d06"}),
        (SearchFilters(ip_types=("utility_model",)), {"d03", "d04"}),
        (SearchFilters(price_min_fen=200_000_000), {"d01", "d02", "d04", "d06"}),
        (SearchFilters(price_max_fen=200_000_000), {"d03", "d04"}),
        (SearchFilters(price_min_fen=200_000_000, price_max_fen=300_000_000), {"d01", "d04"}),
        (SearchFilters(region_prefix="32"), {"d01", "d06"}),
        (SearchFilters(region_prefix="4201"), {"d03", "d04"}),
        (SearchFilters(region_prefix="440300"), {"d08"}),
        (SearchFilters(holder_id=ORG_A), {"d01", "d03", "d05", "d07"}),
        (SearchFilters(state_funded=True), {"d01", "d06"}),
        (SearchFilters(has_auction=True), {"d03"}),
        (SearchFilters(has_auction=False, holder_id=ORG_A, trl_min=7), {"d07"}),
    ],
)
async def test_filters(loaded: SearchBackend, filters: SearchFilters, expected: set[str]) -> None:
    assert set(await ids(loaded, filters=filters)) == expected


async def test_filters_apply_to_text_searches_too(loaded: SearchBackend) -> None:
    assert set(await ids(loaded, "石墨烯", filters=SearchFilters(field_codes=("7",)))) == {"d07"}
    assert await ids(loaded, "石墨烯", filters=SearchFilters(region_prefix="44")) == []


# --- facets ----------------------------------------------------------------------------------


async def test_facets_count_every_match_not_just_the_page(loaded: SearchBackend) -> None:
    result = await loaded.search(
        INDEX,
        SearchQuery(filters=SearchFilters(holder_id=ORG_A), facets=tuple(Facet), per_page=1),
    )
    assert result.total == 4 and len(result.hits) == 1
    facets = {f: {c.value: c.count for c in counts} for f, counts in result.facets.items()}
    assert facets[Facet.field_codes] == {"1": 1, "1.5": 1, "2": 1, "2.1": 1, "3": 1, "3.6": 1, "7": 1, "7.2": 1}
    assert facets[Facet.trl] == {"6": 2, "8": 2}
    assert facets[Facet.trade_modes] == {
        "transfer": 2,
        "exclusive_licence": 2,
        "co_development": 1,
        "technical_service": 1,
    }
    assert facets[Facet.ip_types] == {"invention_patent": 2, "utility_model": 1, "software_copyright": 1}
    assert facets[Facet.region] == {"32": 1, "42": 1, "31": 1, "61": 1}
    assert facets[Facet.holder] == {ORG_A: 4}
    assert facets[Facet.state_funded] == {"true": 1, "false": 3}
    assert facets[Facet.has_auction] == {"true": 1, "false": 3}
    assert result.price_stats is not None
    assert (result.price_stats.min_fen, result.price_stats.max_fen) == (60_000_000, 250_000_000)


async def test_facet_values_are_ordered_by_count_then_value(loaded: SearchBackend) -> None:
    result = await loaded.search(INDEX, SearchQuery(facets=(Facet.trade_modes,)))
    assert list(result.facets[Facet.trade_modes]) == [
        FacetCount("technical_service", 3),
        FacetCount("transfer", 3),
        FacetCount("exclusive_licence", 2),
        FacetCount("co_development", 1),
        FacetCount("equity_investment", 1),
    ]


async def test_no_facets_unless_asked(loaded: SearchBackend) -> None:
    result = await loaded.search(INDEX, SearchQuery())
    assert result.facets == {} and result.price_stats is None


# --- order and paging ------------------------------------------------------------------------


async def test_browse_is_newest_first(loaded: SearchBackend) -> None:
    assert await ids(loaded) == [d.id for d in sorted(CORPUS, key=lambda d: d.published_at, reverse=True)]
    assert await ids(loaded, sort=SortOrder.newest) == await ids(loaded)


async def test_sort_by_price_puts_documents_without_a_price_last(loaded: SearchBackend) -> None:
    ascending = await ids(loaded, sort=SortOrder.price_asc)
    assert ascending[:5] == ["d03", "d04", "d01", "d02", "d06"]
    assert set(ascending[5:]) == {"d05", "d07", "d08"}
    descending = await ids(loaded, sort=SortOrder.price_desc)
    assert descending[:5] == ["d06", "d02", "d04", "d01", "d03"]  # by the top of each range
    assert set(descending[5:]) == {"d05", "d07", "d08"}


async def test_sort_applies_to_text_searches(loaded: SearchBackend) -> None:
    assert await ids(loaded, "激光", sort=SortOrder.newest) == ["d05", "d03"]


async def test_pages_cover_every_match_once_with_a_steady_total(loaded: SearchBackend) -> None:
    seen: list[str] = []
    for page in range(1, 5):
        result = await loaded.search(INDEX, SearchQuery(page=page, per_page=3, sort=SortOrder.newest))
        assert result.total == len(CORPUS)
        seen.extend(h.id for h in result.hits)
        assert result.has_more == (page * 3 < len(CORPUS))
    assert sorted(seen) == sorted(IDS)


async def test_title_matches_rank_above_description_matches(loaded: SearchBackend) -> None:
    assert await ids(loaded, "石墨烯") == ["d01", "d07"]


# --- highlighting ----------------------------------------------------------------------------


async def test_highlights_mark_matches_in_the_original_text(loaded: SearchBackend) -> None:
    result = await loaded.search(INDEX, SearchQuery(text="無人機"))
    hit = result.hits[0]
    assert hit.highlights["title"] == "电力巡检<mark>无人机</mark>"
    assert "<mark>无人机</mark>" in hit.highlights["summary"]
    english = await loaded.search(INDEX, SearchQuery(text="graphene"))
    assert english.hits[0].highlights["title_en"] == "<mark>Graphene</mark> thermal film"


async def test_highlights_escape_html(loaded: SearchBackend) -> None:
    result = await loaded.search(INDEX, SearchQuery(text="标记"))
    assert result.hits[0].highlights["title"] == "AT&amp;T &lt;b&gt;<mark>标记</mark>&lt;/b&gt; 测试 &amp; 转义"


async def test_hits_return_the_document_without_its_description(loaded: SearchBackend) -> None:
    result = await loaded.search(INDEX, SearchQuery(text="污水处理"))
    document = result.hits[0].document
    expected = next(d for d in CORPUS if d.id == "d07")
    assert document.title == expected.title and document.summary == expected.summary
    assert document.description == ""
    assert document.published_at == expected.published_at


# --- writes ----------------------------------------------------------------------------------


async def test_upsert_replaces_and_delete_removes(loaded: SearchBackend) -> None:
    changed = doc(6, "钠离子电池", field_codes=("5.2",), trl=6)
    await loaded.upsert(INDEX, [changed])
    await loaded.upsert(INDEX, [changed])  # idempotent
    assert await ids(loaded, "钙钛矿") == []
    assert (await ids(loaded, "钠离子电池"))[0] == "d06"
    await loaded.delete(INDEX, ["d06", "d06", "no-such-doc"])
    assert "d06" not in await ids(loaded, "钠离子电池")
    assert await loaded.count(INDEX) == len(CORPUS) - 1


async def test_fingerprints_tell_versions_apart(loaded: SearchBackend) -> None:
    held = {doc_id: fp async for doc_id, fp in loaded.fingerprints(INDEX)}
    assert held == {d.id: d.fingerprint for d in CORPUS}
    await loaded.upsert(INDEX, [doc(1, "改过的标题")])
    held = {doc_id: fp async for doc_id, fp in loaded.fingerprints(INDEX)}
    assert held["d01"] != CORPUS[0].fingerprint


async def test_clear_empties_the_index(loaded: SearchBackend) -> None:
    await loaded.clear(INDEX)
    assert await loaded.count(INDEX) == 0
    assert await ids(loaded) == []


# --- suggestions and health ------------------------------------------------------------------


async def test_suggestions_offer_matching_titles(loaded: SearchBackend) -> None:
    suggestions = await loaded.suggest(INDEX, "钙钛", limit=5)
    titles = [s for s in suggestions if s.kind == "title"]
    assert titles and titles[0].id == "d06" and titles[0].text == "钙钛矿太阳能电池"
    assert await loaded.suggest(INDEX, "", limit=5) == []


async def test_health_reports_documents(loaded: SearchBackend) -> None:
    health = await loaded.health()
    assert health.ok
    assert health.engine in ("postgres", "meilisearch")
