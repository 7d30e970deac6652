"""Unified social credit codes: GB 32100-2015 check character."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.kit.credit_code import (
    CHARSET,
    CreditCodeError,
    check_character,
    make_credit_code,
    validate_credit_code,
)

REAL_CODES = [
    "914403001922038216",  # a Shenzhen enterprise
    "91330100716105852F",  # a Hangzhou enterprise (check character is a letter)
    "91350100M000100Y43",  # the standard's worked example
    "12100000400000624D",  # a public institution (kind 1 under authority 1)
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_credit_code("  91330100716105852f ") == "91330100716105852F"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91440300192203821", "must be 18 characters, got 17"),
        ("9144030019220382167", "must be 18 characters, got 19"),
        ("914403001922038217", "check character should be 6, not 7"),
        ("91440300192203821I", "not allowed in a credit code: I"),
        ("9144030O1922038216", "not allowed in a credit code: O"),
        ("Z14403001922038216", "not allowed in a credit code: Z"),
        ("B14403001922038216", "registration authority and kind 'B1' do not exist"),
        ("9A4403001922038216", "registration authority and kind '9A' do not exist"),
        ("91A40300192203821X", "characters 3-8 must be the 6-digit administrative division code"),
    ],
)
def test_invalid_codes_say_why(code: str, message: str) -> None:
    with pytest.raises(CreditCodeError, match=message.replace("(", r"\(")):
        validate_credit_code(code)


body = st.text(alphabet=CHARSET, min_size=9, max_size=9)


@given(division=st.from_regex(r"[1-6][0-9]{5}", fullmatch=True), rest=body)
def test_any_completed_code_validates_and_any_other_check_fails(division: str, rest: str) -> None:
    code = make_credit_code("91" + division + rest)
    assert validate_credit_code(code) == code
    for wrong in CHARSET:
        if wrong != code[17]:
            with pytest.raises(CreditCodeError, match="check character"):
                validate_credit_code(code[:17] + wrong)


def test_check_character_is_in_charset() -> None:
    assert check_character("91350100M000100Y4") == "3"
