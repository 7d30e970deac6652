"""Tests for the strategic emerging industries classification."""

import json
from importlib import resources

import pytest

from marketplace.reference.fields import (
    FieldCode,
    all_fields,
    children,
    get_field,
    is_valid_field,
    top_level,
    top_level_fields,
)

TOP_LEVEL_NAMES = {
    "1": "新一代信息技术产业",
    "2": "高端装备制造产业",
    "3": "新材料产业",
    "4": "生物产业",
    "5": "新能源汽车产业",
    "6": "新能源产业",
    "7": "节能环保产业",
    "8": "数字创意产业",
    "9": "相关服务业",
}

# Second-level codes per top-level category in the 2018 classification (40 in all).
SECOND_LEVEL_COUNTS = {"1": 5, "2": 5, "3": 7, "4": 5, "5": 4, "6": 5, "7": 3, "8": 4, "9": 2}


def test_exactly_nine_top_level_categories_with_official_names() -> None:
    tops = top_level_fields()
    assert len(tops) == 9
    assert {f.code: f.name_zh for f in tops} == TOP_LEVEL_NAMES


def test_second_level_counts_match_the_classification() -> None:
    counts = {code: len(children(code)) for code in TOP_LEVEL_NAMES}
    assert counts == SECOND_LEVEL_COUNTS
    assert len(all_fields()) == 9 + 40


def test_every_second_level_parent_exists_and_code_extends_it() -> None:
    for field in all_fields():
        if field.parent is None:
            assert "." not in field.code
            continue
        parent = get_field(field.parent)
        assert parent is not None and parent.is_top_level
        assert field.code.startswith(parent.code + ".")


def test_codes_are_unique_and_names_filled() -> None:
    codes = [f.code for f in all_fields()]
    assert len(codes) == len(set(codes))
    assert all(f.name_zh and f.name_en for f in all_fields())


@pytest.mark.parametrize(
    ("code", "name_zh"),
    [
        ("1.1", "下一代信息网络产业"),
        ("1.2", "电子核心产业"),
        ("1.3", "新兴软件和新型信息技术服务"),
        ("1.4", "互联网与云计算、大数据服务"),
        ("1.5", "人工智能"),
        ("2.1", "智能制造装备产业"),
        ("3.6", "前沿新材料"),
        ("4.4", "生物质能产业"),
        ("6.5", "智能电网产业"),
        ("7.3", "资源循环利用产业"),
        ("8.3", "设计服务"),
        ("9.1", "新技术与创新创业服务"),
        ("9.2", "其他相关服务"),
    ],
)
def test_known_second_level_names(code: str, name_zh: str) -> None:
    field = get_field(code)
    assert field is not None
    assert field.name_zh == name_zh


@pytest.mark.parametrize("code", ["1", "9", "1.1", "1.5", "3.7", "9.2", " 2.3 "])
def test_valid_codes(code: str) -> None:
    assert is_valid_field(code)


@pytest.mark.parametrize(
    "code", ["", "0", "10", "1.6", "3.8", "7.4", "9.3", "1.1.1", "1.01", "01", "1.", ".1", "人工智能"]
)
def test_invalid_codes(code: str) -> None:
    assert not is_valid_field(code)
    assert get_field(code) is None


def test_non_string_codes_are_rejected() -> None:
    assert not is_valid_field(1)  # type: ignore[arg-type]
    assert get_field(None) is None  # type: ignore[arg-type]


def test_top_level_of_second_and_top_level_codes() -> None:
    assert top_level("1.5").code == "1"
    assert top_level("8.4").name_zh == "数字创意产业"
    assert top_level("6") == get_field("6")


def test_top_level_and_children_reject_unknown_codes() -> None:
    with pytest.raises(ValueError, match="unknown field code"):
        top_level("1.9")
    with pytest.raises(ValueError, match="unknown field code"):
        children("12")


def test_children_of_second_level_code_is_empty() -> None:
    assert children("1.1") == ()


def test_field_code_is_frozen() -> None:
    field = get_field("1.5")
    assert isinstance(field, FieldCode)
    with pytest.raises(AttributeError):
        field.name_zh = "x"  # type: ignore[misc]


def test_bundled_json_matches_loaded_data() -> None:
    raw = json.loads(
        resources.files("marketplace.reference").joinpath("data/sei_2018.json").read_text(encoding="utf-8")
    )
    assert [e["code"] for e in raw["fields"]] == [f.code for f in all_fields()]
