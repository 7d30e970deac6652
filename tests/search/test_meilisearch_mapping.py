"""What the Meilisearch engine sends and how it reads answers (no server needed; the conformance suite needs one).

The client is replaced by a recorder only here, where no Meilisearch server can run; behaviour
against a real server is covered by test_conformance.py when MEILISEARCH_URL is set.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from search.meili import (
    FILTERABLE,
    SEARCHABLE,
    MeilisearchBackend,
    _quoted,
    meili_document,
    meili_filter,
    meili_settings,
    meili_sort,
)
from search.model import Facet, FacetCount, SearchDocument, SearchFilters, SearchQuery, SortOrder
from search.settings import index_settings

DOC = SearchDocument(
    id="0190f5a0-0000-7000-8000-000000000001",
    title="雷射切割頭",
    title_en="Laser cutting head",
    keywords=("激光切割",),
    summary="适配万瓦级光纤激光器。",
    description="描述里的细节文字。",
    holder_id="org-1",
    holder_name="光谷激光技术有限公司",
    field_codes=("2.1",),
    trl=8,
    trade_modes=("transfer",),
    price_min_fen=100,
    region_code="420100",
    has_auction=True,
    published_at=datetime(2026, 3, 1, tzinfo=UTC),
)


def test_settings_cover_fields_typos_synonyms_and_ranking() -> None:
    body = meili_settings(index_settings("listings"))
    assert body["searchableAttributes"] == list(SEARCHABLE)
    assert set(body["filterableAttributes"]) == set(FILTERABLE) >= {"field_codes", "trl", "region_prefixes", "holder"}
    assert body["typoTolerance"]["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 9}
    assert body["rankingRules"][0] == "sort" and body["rankingRules"][-1] == "published_at:desc"
    assert "镭射" in body["synonyms"]["激光"] and "激光" in body["synonyms"]["镭射"]
    assert body["pagination"]["maxTotalHits"] == 10_000
    assert body["faceting"]["sortFacetValuesBy"] == {"*": "count"}
    assert "的" in body["stopWords"]


def test_settings_are_valid_for_the_official_client() -> None:
    pytest.importorskip("meilisearch_python_sdk")
    from meilisearch_python_sdk.models.settings import MeilisearchSettings

    parsed = MeilisearchSettings.model_validate(meili_settings(index_settings("listings")))
    assert parsed.typo_tolerance is not None and parsed.typo_tolerance.min_word_size_for_typos is not None
    assert parsed.typo_tolerance.min_word_size_for_typos.one_typo == 5


def test_documents_are_pre_tokenised_with_our_analyzer() -> None:
    body = meili_document(DOC)
    assert body["id"] == DOC.id
    assert "激光" in body["t_title"].split()  # 雷射 (Taiwan) was folded to 激光 before Meilisearch sees it
    assert "laser" in body["t_title"].split()
    assert body["field_codes"] == ["2", "2.1"] and body["region_prefixes"] == ["42", "4201"]
    assert (body["price_min_fen"], body["price_max_fen"]) == (100, 100)
    assert body["doc"]["title"] == "雷射切割頭" and "description" not in body["doc"]
    assert "细节" in body["t_description"].split()
    assert body["fingerprint"] == DOC.fingerprint and body["published_at"] == DOC.published_ts


def test_filters_become_meilisearch_filter_expressions() -> None:
    query = SearchQuery(
        filters=SearchFilters(
            field_codes=("1", "2.1"),
            trl_min=3,
            trl_max=7,
            trade_modes=("transfer",),
            ip_types=("invention_patent", "utility_model"),
            price_min_fen=10,
            price_max_fen=99,
            region_prefix="440300",
            holder_id="org-1",
            state_funded=False,
            has_auction=True,
        )
    )
    assert meili_filter(query) == [
        ['field_codes = "1"', 'field_codes = "2.1"'],
        ['trade_modes = "transfer"'],
        ['ip_types = "invention_patent"', 'ip_types = "utility_model"'],
        "trl >= 3",
        "trl <= 7",
        "price_max_fen >= 10",
        "price_min_fen <= 99",
        'region_prefixes = "4403"',
        'holder = "org-1"',
        "state_funded = false",
        "has_auction = true",
    ]
    assert _quoted('a"b\\c') == '"a\\"b\\\\c"'


def test_sorts() -> None:
    assert meili_sort(SortOrder.relevance, browsing=False) is None
    assert meili_sort(SortOrder.relevance, browsing=True) == ["published_at:desc", "id:desc"]
    assert meili_sort(SortOrder.price_asc, browsing=False)[0] == "price_min_fen:asc"


class Recorder:
    """Stands in for the SDK's AsyncIndex: records the search call, answers like Meilisearch."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def search(self, query: str | None, **kwargs: Any) -> Any:
        self.calls.append({"query": query, **kwargs})
        return SimpleNamespace(
            hits=[{"id": DOC.id, "doc": DOC.as_json(with_description=False), "_rankingScore": 0.9}],
            total_hits=1,
            facet_distribution={"trl": {"8": 1}, "has_auction": {"true": 1}},
            facet_stats={"price_min_fen": {"min": 100, "max": 100}, "price_max_fen": {"min": 100, "max": 100}},
        )


async def test_search_sends_our_tokens_and_reads_the_answer() -> None:
    index = Recorder()
    client = SimpleNamespace(index=lambda uid: index)
    backend = MeilisearchBackend(client, prefix="t_", settings={"listings": index_settings("listings")})
    result = await backend.search(
        "listings",
        SearchQuery(text="雷射 切割", facets=(Facet.trl, Facet.has_auction), filters=SearchFilters(trl_min=5)),
    )
    call = index.calls[0]
    assert call["query"] == "激光 切割"
    assert call["filter"] == ["trl >= 5"] and call["page"] == 1 and call["hits_per_page"] == 20
    assert call["facets"] == ["trl", "has_auction", "price_min_fen", "price_max_fen"]
    assert call["matching_strategy"] == "frequency" and call["locales"] == ["cmn"]
    assert result.total == 1 and result.hits[0].id == DOC.id and result.hits[0].score == 0.9
    assert result.hits[0].highlights["title_en"] == "<mark>Laser</mark> cutting head"
    assert result.facets[Facet.trl] == (FacetCount("8", 1),)
    assert result.price_stats is not None and result.price_stats.max_fen == 100
    await backend.search("listings", SearchQuery(text="激光 ", prefix=True))
    assert index.calls[-1]["query"] == "激光 "  # finished word: no prefix search
