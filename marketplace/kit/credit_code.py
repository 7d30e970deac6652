"""Unified social credit codes (统一社会信用代码) checked by GB 32100-2015."""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# First character: the registering authority; second: the kind of organisation under it.
AUTHORITY_KINDS = {
    "1": "123459",
    "2": "129",
    "3": "12345",
    "4": "129",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "129",
    "9": "123",
    "A": "19",
    "N": "12349",
    "Y": "1",
}


class CreditCodeError(ValueError):
    """The text is not a valid unified social credit code; the message says why."""


def check_character(first17: str) -> str:
    """The 18th character that GB 32100-2015 computes from the first 17."""
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Return the code upper-cased, or raise CreditCodeError naming the problem."""
    code = value.strip().upper()
    if len(code) != 18:
        raise CreditCodeError(f"must be 18 characters, got {len(code)}")
    bad = sorted({ch for ch in code if ch not in CHARSET})
    if bad:
        raise CreditCodeError(f"contains characters not allowed in a credit code: {''.join(bad)}")
    kinds = AUTHORITY_KINDS.get(code[0])
    if kinds is None or code[1] not in kinds:
        raise CreditCodeError(f"registration authority and kind '{code[:2]}' do not exist")
    if not code[2:8].isdigit():
        raise CreditCodeError("characters 3-8 must be the 6-digit administrative division code")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(f"check character should be {expected}, not {code[17]}")
    return code


def make_credit_code(prefix17: str) -> str:
    """Complete a 17-character prefix with its check character (for fixtures and demo data)."""
    return prefix17 + check_character(prefix17)
