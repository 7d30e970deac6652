"""Document tokens with offsets, and compound-word decomposition (the analyzer's additions for the engines)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.text import get_default_analyzer, normalize

SAMPLES = [
    "高能量密度锂离子电池正极材料的制备方法，适用于电动汽车。CRISPR-Cas9",
    "雷射切割頭與５Ｇ模組 node.js 3.5倍",
    "x" * 200,
    "",
]


@pytest.mark.parametrize("sample", SAMPLES)
def test_positions_are_the_document_tokens_where_they_stand(sample: str) -> None:
    analyzer = get_default_analyzer()
    positioned = analyzer.analyze_document_positions(sample)
    assert [t for t, _ in positioned] == analyzer.analyze_document(sample)
    norm = normalize(sample)
    for token, offset in positioned:
        assert norm[offset : offset + len(token)] == token


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("锂离子电池雷射軟體ＡＢ１２ab-._ ，。😀中华人民共和国")), max_size=60))
def test_property_positions_match_tokens(sample: str) -> None:
    analyzer = get_default_analyzer()
    positioned = analyzer.analyze_document_positions(sample)
    assert [t for t, _ in positioned] == analyzer.analyze_document(sample)
    norm = normalize(sample)
    assert all(norm[o : o + len(t)] == t for t, o in positioned)


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("锂离子电池", ("锂离子", "电池")),
        ("锂电池", ("锂", "电池")),
        ("激光雷达", ("激光", "雷达")),
        ("固态电池", ("固态", "电池")),
        ("鋰電池", ("锂", "电池")),
        ("钙钛矿", ()),
        ("电池", ()),
        ("graphene", ()),
    ],
)
def test_compound_words_decompose_into_dictionary_words(word: str, parts: tuple[str, ...]) -> None:
    assert get_default_analyzer().decompose(word) == parts
