"""Tests for Chinese patent application and publication numbers."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.reference.patents import (
    PatentKind,
    PatentNumberError,
    compute_check_digit,
    is_valid_patent_number,
    parse_patent_number,
    parse_publication_number,
    patent_type_of,
)

# Numbers as published with their check characters; each was checked against the CNIPA rule.
REAL_NUMBERS = [
    "ZL202010566088.9",
    "ZL201510958772.0",
    "ZL202510942578.7",
    "ZL200510096239.4",
    "ZL202322865413.3",
    "ZL201811564288.X",
    "ZL201910603565.1",
    "CN201810336559.X",
    "CN201810429510.9",
    "CN201810698291.4",
    "CN202411064734.6",
    "ZL200510030457.8",
    "ZL200510025251.6",
    # 8-digit numbers from before October 2003
    "ZL99113861.9",
    "ZL01105715.7",
    "ZL00125301.8",
]


@pytest.mark.parametrize("number", REAL_NUMBERS)
def test_real_published_numbers_pass(number: str) -> None:
    parsed = parse_patent_number(number)
    assert parsed.bare == number[2:]
    assert parsed.normalized == "ZL" + number[2:]


@pytest.mark.parametrize(
    "text",
    [
        "ZL201811564288.X",
        "ZL201811564288.x",
        "CN201811564288.X",
        "201811564288.X",
        "201811564288X",
        "ZL 2018 1 1564288.X",
        "zl 201811564288 . x",
        "  CN201811564288X\t",
        "ＺＬ２０１８１１５６４２８８．Ｘ",
        "ＣＮ２０１８１１５６４２８８。Ｘ",
        "ZL\u3000201811564288.X",
    ],
)
def test_every_form_normalises_to_the_same_number(text: str) -> None:
    parsed = parse_patent_number(text)
    assert parsed.normalized == "ZL201811564288.X"
    assert parsed.application_number == "CN201811564288.X"
    assert str(parsed) == "ZL201811564288.X"


def test_parsed_fields_of_12_digit_number() -> None:
    parsed = parse_patent_number("CN202322865413.3")
    assert parsed.kind is PatentKind.UTILITY_MODEL
    assert not parsed.pct
    assert parsed.year == 2023
    assert parsed.serial == 2865413
    assert parsed.check == "3"
    assert parsed.type_digit == "2"
    assert parsed.digits == "202322865413"


def test_parsed_fields_of_8_digit_number() -> None:
    old = parse_patent_number("99113861.9")
    assert (old.year, old.kind, old.serial, old.type_digit) == (1999, PatentKind.INVENTION, 13861, "1")
    assert parse_patent_number("0110571 5 7").year == 2001


@pytest.mark.parametrize(
    ("type_digit", "kind", "pct"),
    [
        ("1", PatentKind.INVENTION, False),
        ("2", PatentKind.UTILITY_MODEL, False),
        ("3", PatentKind.DESIGN, False),
        ("8", PatentKind.INVENTION, True),
        ("9", PatentKind.UTILITY_MODEL, True),
    ],
)
def test_type_digits(type_digit: str, kind: PatentKind, pct: bool) -> None:
    digits = f"2015{type_digit}0012345"
    parsed = parse_patent_number(f"{digits}.{compute_check_digit(digits)}")
    assert parsed.kind is kind
    assert parsed.pct is pct
    assert patent_type_of(parsed.normalized) is kind


def test_wrong_check_digit_names_the_expected_one() -> None:
    with pytest.raises(PatentNumberError, match="check digit should be 9, not 8") as info:
        parse_patent_number("ZL202010566088.8")
    assert info.value.message == "check digit should be 9, not 8"
    with pytest.raises(PatentNumberError, match="check digit should be X, not 0"):
        parse_patent_number("201811564288.0")
    with pytest.raises(PatentNumberError, match="check digit should be 7, not 1"):
        parse_patent_number("01105715.1")


def test_missing_check_digit_names_the_expected_one() -> None:
    with pytest.raises(PatentNumberError, match="check digit is missing; it should be 9"):
        parse_patent_number("ZL202010566088")
    with pytest.raises(PatentNumberError, match="check digit is missing; it should be 7"):
        parse_patent_number("01105715")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("ZL", "no number"),
        ("2020105660889.1", "must have 12 digits"),
        ("20201056608.9", "must have 12 digits"),
        ("2020105660", "must have 12 digits"),
        ("1234567", "must have 12 digits"),
        ("202050566088.1", "type digit 5 is not a patent type"),
        ("202000566088.1", "type digit 0 is not a patent type"),
        ("99413861.9", "type digit 4 is not a patent type"),
        ("200210566088.1", "before 2003"),
        ("209910566088.1", "in the future"),
        ("04113861.9", "outside 1985-2003"),
        ("84113861.9", "outside 1985-2003"),
        ("201310000000.0", "serial number cannot be all zeros"),
        ("ZL2013-10123456.7", "unexpected character '-'"),
        ("US201310123456.7", "unexpected character 'U'"),
        ("2013101X3456.7", "'X' may only appear as the check character"),
        ("201310123456.", "single check character"),
        ("201310123456.78", "single check character"),
        ("2013.10123456.7", "more than one '.'"),
        (".7", "got 1 character$"),
        ("X", "got 1 character$"),
    ],
)
def test_rejected_numbers(text: str, message: str) -> None:
    with pytest.raises(PatentNumberError, match=message):
        parse_patent_number(text)
    assert not is_valid_patent_number(text)


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(PatentNumberError, match="must be text"):
        parse_patent_number(201310123456)  # type: ignore[arg-type]


def test_error_is_a_value_error() -> None:
    assert issubclass(PatentNumberError, ValueError)


def test_compute_check_digit_rejects_bad_lengths() -> None:
    with pytest.raises(PatentNumberError):
        compute_check_digit("12345")
    assert compute_check_digit("201811564288") == "X"
    assert compute_check_digit("99113861") == "9"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("CN108938619B", PatentKind.INVENTION),
        ("CN108938619A", PatentKind.INVENTION),
        ("CN1234567C", PatentKind.INVENTION),
        ("cn 210123456 u", PatentKind.UTILITY_MODEL),
        ("CN2345678Y", PatentKind.UTILITY_MODEL),
        ("CN305123456S", PatentKind.DESIGN),
        ("ＣＮ１０８９３８６１９Ｂ", PatentKind.INVENTION),
    ],
)
def test_publication_numbers(text: str, kind: PatentKind) -> None:
    parsed = parse_publication_number(text)
    assert parsed.kind is kind
    assert patent_type_of(text) is kind
    assert str(parsed).startswith("CN")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("108938619B", "not a publication number"),
        ("CN10893861B", "not a publication number"),
        ("CN108938619", "not a publication number"),
        ("CN108938619Q", "kind code Q"),
        ("CN208938619B", "does not match kind code B"),
        ("CN108938619U", "does not match kind code U"),
    ],
)
def test_rejected_publication_numbers(text: str, message: str) -> None:
    with pytest.raises(PatentNumberError, match=message):
        parse_publication_number(text)


def test_patent_type_of_reports_application_errors() -> None:
    with pytest.raises(PatentNumberError, match="check digit should be 9"):
        patent_type_of("ZL202010566088.1")


_years = st.integers(min_value=2003, max_value=2025)
_type_digits = st.sampled_from("12389")
_serials = st.integers(min_value=1, max_value=9_999_999)


@given(year=_years, type_digit=_type_digits, serial=_serials)
def test_any_generated_12_digit_number_with_its_check_digit_parses(year: int, type_digit: str, serial: int) -> None:
    digits = f"{year}{type_digit}{serial:07d}"
    check = compute_check_digit(digits)
    parsed = parse_patent_number(f"CN{digits}.{check}")
    assert parsed.digits == digits
    assert parsed.year == year
    assert parsed.serial == serial
    assert parse_patent_number(f"{digits}{check}") == parsed


@given(year=_years, type_digit=_type_digits, serial=_serials, wrong=st.sampled_from("0123456789X"))
def test_any_other_check_digit_is_rejected_naming_the_right_one(
    year: int, type_digit: str, serial: int, wrong: str
) -> None:
    digits = f"{year}{type_digit}{serial:07d}"
    right = compute_check_digit(digits)
    if wrong == right:
        return
    with pytest.raises(PatentNumberError, match=f"check digit should be {right}, not {wrong}"):
        parse_patent_number(f"ZL{digits}.{wrong}")


@given(
    yy=st.sampled_from([f"{y:02d}" for y in (*range(85, 100), *range(4))]),
    type_digit=_type_digits,
    serial=st.integers(min_value=1, max_value=99_999),
)
def test_any_generated_8_digit_number_round_trips(yy: str, type_digit: str, serial: int) -> None:
    digits = f"{yy}{type_digit}{serial:05d}"
    parsed = parse_patent_number(f"{digits}.{compute_check_digit(digits)}")
    assert parse_patent_number(parsed.normalized) == parsed
    assert 1985 <= parsed.year <= 2003


@given(digits=st.from_regex(r"[0-9]{12}", fullmatch=True), position=st.integers(0, 11), delta=st.integers(1, 9))
def test_check_digit_detects_any_single_digit_change(digits: str, position: int, delta: int) -> None:
    # Weights 2-9 are all coprime with 11, so altering one digit always alters the remainder.
    changed = digits[:position] + str((int(digits[position]) + delta) % 10) + digits[position + 1 :]
    assert compute_check_digit(changed) != compute_check_digit(digits)
