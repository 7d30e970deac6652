"""Tests for the administrative division codes."""

from collections import Counter

import pytest

from marketplace.reference.regions import (
    MUNICIPALITIES,
    Region,
    all_regions,
    get_region,
    is_valid_region,
    prefectures,
    provinces,
    region_name,
    region_prefix,
)

PLACEHOLDERS = {"市辖区", "县"}


def _real_prefectures() -> list[Region]:
    return [r for r in prefectures() if r.name_zh not in PLACEHOLDERS]


def test_thirty_four_provincial_level_divisions() -> None:
    provs = provinces()
    assert len(provs) == 34
    codes = {r.code for r in provs}
    assert {"710000", "810000", "820000", "110000", "650000"} <= codes
    assert get_region("710000") == Region("710000", "台湾省", "province", None)
    assert get_region("810000").name_zh == "香港特别行政区"  # type: ignore[union-attr]
    assert get_region("820000").name_zh == "澳门特别行政区"  # type: ignore[union-attr]


def test_prefecture_counts() -> None:
    assert len(prefectures()) >= 330
    real = _real_prefectures()
    assert len(real) == 333

    def kind(name: str) -> str:
        for suffix in ("自治州", "地区", "盟"):
            if name.endswith(suffix):
                return suffix
        return "市"

    assert Counter(kind(r.name_zh) for r in real) == {"市": 293, "自治州": 30, "地区": 7, "盟": 3}


def test_every_prefecture_belongs_to_its_province() -> None:
    province_codes = {r.code for r in provinces()}
    for region in prefectures():
        assert region.level == "prefecture"
        assert region.parent in province_codes
        assert region.code[:2] == region.parent[:2]  # type: ignore[index]
        assert region.code.endswith("00") and not region.code.endswith("0000")


def test_codes_unique() -> None:
    codes = [r.code for r in all_regions()]
    assert len(codes) == len(set(codes))


def test_municipalities_have_grouping_entries() -> None:
    for code in ("110100", "120100", "310100", "500100", "500200"):
        region = get_region(code)
        assert region is not None and region.level == "prefecture"
    assert {r.code[:2] for r in prefectures() if r.name_zh in PLACEHOLDERS} == MUNICIPALITIES


def test_hong_kong_macao_taiwan_have_no_prefectures() -> None:
    for province in ("710000", "810000", "820000"):
        assert prefectures(province) == ()


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("440300", "深圳市"),
        ("330100", "杭州市"),
        ("652300", "昌吉回族自治州"),
        ("152900", "阿拉善盟"),
        ("232700", "大兴安岭地区"),
        ("542500", "阿里地区"),
        ("540600", "那曲市"),
        ("460300", "三沙市"),
        ("460400", "儋州市"),
        ("441900", "东莞市"),
        ("370100", "济南市"),
    ],
)
def test_known_prefectures(code: str, name: str) -> None:
    region = get_region(code)
    assert region is not None
    assert region.name_zh == name
    assert is_valid_region(code)


@pytest.mark.parametrize(
    "code",
    [
        "110000",
        "440000",
        "710000",
        "820000",
        "440300",
        "110100",
        "500200",
        # county level under a known prefecture
        "440305",
        "330106",
        "652301",
        # municipalities, including the 县 grouping older records still carry
        "110101",
        "110228",
        "120221",
        "310230",
        "500101",
        "500229",
        # counties directly administered by a province or autonomous region
        "419001",
        "429004",
        "469001",
        "659001",
    ],
)
def test_valid_region_codes(code: str) -> None:
    assert is_valid_region(code)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "44030",
        "4403000",
        "44030a",
        " 440300",
        "４４０３００",
        "000000",
        "990000",
        "440001",
        "449900",
        "449901",
        "371200",  # 莱芜市, merged into 济南 in 2019
        "110200",  # the Beijing 县 grouping no longer exists as such
        "429000",  # grouping code, not a place
        "710100",
        "810001",
        "130000 ",
    ],
)
def test_invalid_region_codes(code: str) -> None:
    assert not is_valid_region(code)
    assert region_name(code) is None


def test_non_string_region_codes_are_rejected() -> None:
    assert not is_valid_region(440300)  # type: ignore[arg-type]
    assert get_region(None) is None  # type: ignore[arg-type]


def test_get_region_does_not_ship_counties() -> None:
    assert get_region("440305") is None


@pytest.mark.parametrize(
    ("code", "prefix"),
    [("440000", "44"), ("440300", "4403"), ("440305", "440305"), ("110100", "1101"), ("710000", "71")],
)
def test_region_prefix(code: str, prefix: str) -> None:
    assert region_prefix(code) == prefix


def test_region_prefix_rejects_invalid_codes() -> None:
    with pytest.raises(ValueError, match="not a valid region code"):
        region_prefix("449900")


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("440000", "广东省"),
        ("440300", "广东省深圳市"),
        ("440305", "广东省深圳市"),
        ("652300", "新疆维吾尔自治区昌吉回族自治州"),
        ("110100", "北京市"),
        ("110105", "北京市"),
        ("500200", "重庆市"),
        ("429004", "湖北省"),
        ("810000", "香港特别行政区"),
    ],
)
def test_region_name(code: str, name: str) -> None:
    assert region_name(code) == name
