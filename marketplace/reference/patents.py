"""Chinese patent application numbers (with CNIPA check character) and publication numbers."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

__all__ = [
    "PatentKind",
    "PatentNumber",
    "PatentNumberError",
    "PublicationNumber",
    "compute_check_digit",
    "is_valid_patent_number",
    "parse_patent_number",
    "parse_publication_number",
    "patent_type_of",
]


class PatentKind(StrEnum):
    """The three kinds of Chinese patent."""

    INVENTION = "invention"
    UTILITY_MODEL = "utility_model"
    DESIGN = "design"


class PatentNumberError(ValueError):
    """A patent number that cannot be accepted; `message` says what is wrong in plain English."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Type digit -> (kind, filed through the PCT route).
_TYPE_DIGITS: dict[str, tuple[PatentKind, bool]] = {
    "1": (PatentKind.INVENTION, False),
    "2": (PatentKind.UTILITY_MODEL, False),
    "3": (PatentKind.DESIGN, False),
    "8": (PatentKind.INVENTION, True),
    "9": (PatentKind.UTILITY_MODEL, True),
}
_TYPE_HELP = "1 invention, 2 utility model, 3 design, 8 PCT invention, 9 PCT utility model"

# CNIPA weights, applied from the left; the 8-digit form uses the first eight.
_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)

# The 8-digit scheme ran from the first filings under the 1985 patent law to 30 Sep 2003.
_FIRST_OLD_YEAR = 1985
_LAST_OLD_YEAR = 2003
_FIRST_NEW_YEAR = 2003

_SEPARATORS_RE = re.compile(r"\s+")


def compute_check_digit(digits: str) -> str:
    """The CNIPA check character for an 8- or 12-digit application number body."""
    if not re.fullmatch(r"[0-9]{8}|[0-9]{12}", digits):
        raise PatentNumberError(f"check digits are defined for 8 or 12 digits, got {digits!r}")
    remainder = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=False)) % 11
    return "X" if remainder == 10 else str(remainder)


def _normalise_text(text: str) -> str:
    """Fold full-width characters to ASCII, drop whitespace and upper-case the letters."""
    # NFKC maps ＣＮ２０１… and the full-width full stop to their ASCII forms.
    folded = unicodedata.normalize("NFKC", text).replace("。", ".")
    return _SEPARATORS_RE.sub("", folded).upper()


@dataclass(frozen=True, slots=True)
class PatentNumber:
    """A checked application (patent) number."""

    digits: str
    check: str
    kind: PatentKind
    pct: bool
    year: int
    serial: int

    @property
    def type_digit(self) -> str:
        """The digit after the year that encodes kind and filing route."""
        return self.digits[4] if len(self.digits) == 12 else self.digits[2]

    @property
    def bare(self) -> str:
        """The number without prefix, e.g. "201310123456.7"."""
        return f"{self.digits}.{self.check}"

    @property
    def normalized(self) -> str:
        """The canonical patent-number form, e.g. "ZL201310123456.7"."""
        return f"ZL{self.bare}"

    @property
    def application_number(self) -> str:
        """The application-number form, e.g. "CN201310123456.7"."""
        return f"CN{self.bare}"

    def __str__(self) -> str:
        return self.normalized


def _year_of(digits: str) -> int:
    """The filing year encoded in an 8- or 12-digit body, checked against the scheme's era."""
    if len(digits) == 12:
        year = int(digits[:4])
        if year < _FIRST_NEW_YEAR:
            raise PatentNumberError(f"year {year} is before {_FIRST_NEW_YEAR}, when 12-digit application numbers began")
        if year > date.today().year:
            raise PatentNumberError(f"year {year} is in the future")
        return year
    yy = int(digits[:2])
    year = 1900 + yy if yy >= _FIRST_OLD_YEAR % 100 else 2000 + yy
    if year > _LAST_OLD_YEAR:
        raise PatentNumberError(
            f"year {digits[:2]} is outside {_FIRST_OLD_YEAR}-{_LAST_OLD_YEAR}, the years of 8-digit application numbers"
        )
    return year


def _split(cleaned: str, original: str) -> tuple[str, str | None]:
    """Split a cleaned number into its digit body and check character (None when absent)."""
    body = cleaned[2:] if cleaned[:2] in ("CN", "ZL") else cleaned
    if not body:
        raise PatentNumberError(f"{original!r} has a prefix but no number")
    bad = next((c for c in body if c not in "0123456789.X"), None)
    if bad is not None:
        raise PatentNumberError(f"unexpected character {bad!r} in patent number {original!r}")
    if body.count(".") > 1:
        raise PatentNumberError(f"patent number {original!r} has more than one '.'")
    if "." in body:
        digits, check = body.split(".")
        if len(check) != 1:
            raise PatentNumberError(f"expected a single check character after '.', got {check!r}")
    elif body.endswith("X"):
        digits, check = body[:-1], "X"
    elif len(body) in (9, 13):
        digits, check = body[:-1], body[-1]
    else:
        digits, check = body, None
    if "X" in digits:
        raise PatentNumberError(f"'X' may only appear as the check character in {original!r}")
    if len(digits) not in (8, 12):
        count = len(body.replace(".", ""))
        raise PatentNumberError(
            "application number must have 12 digits plus a check digit (8 plus a check digit before "
            f"2003), got {count} character{'' if count == 1 else 's'}"
        )
    return digits, check


def parse_patent_number(text: str) -> PatentNumber:
    """Parse and check an application or patent number such as "ZL 2013 1 0123456.7"."""
    if not isinstance(text, str):
        raise PatentNumberError(f"patent number must be text, got {type(text).__name__}")
    cleaned = _normalise_text(text)
    if not cleaned:
        raise PatentNumberError("patent number is empty")
    digits, check = _split(cleaned, text)
    type_digit = digits[4] if len(digits) == 12 else digits[2]
    if type_digit not in _TYPE_DIGITS:
        raise PatentNumberError(f"type digit {type_digit} is not a patent type ({_TYPE_HELP})")
    year = _year_of(digits)
    serial = int(digits[5:] if len(digits) == 12 else digits[3:])
    if serial == 0:
        raise PatentNumberError("serial number cannot be all zeros")
    expected = compute_check_digit(digits)
    if check is None:
        raise PatentNumberError(f"check digit is missing; it should be {expected}")
    if check != expected:
        raise PatentNumberError(f"check digit should be {expected}, not {check}")
    kind, pct = _TYPE_DIGITS[type_digit]
    return PatentNumber(digits=digits, check=check, kind=kind, pct=pct, year=year, serial=serial)


def is_valid_patent_number(text: str) -> bool:
    """Whether the text is a well-formed application number with the right check digit."""
    try:
        parse_patent_number(text)
    except PatentNumberError:
        return False
    return True


# Publication kind codes: A/B/C invention, U/Y utility model, S/D design (pre-2010 codes included).
_PUBLICATION_KINDS: dict[str, PatentKind] = {
    "A": PatentKind.INVENTION,
    "B": PatentKind.INVENTION,
    "C": PatentKind.INVENTION,
    "U": PatentKind.UTILITY_MODEL,
    "Y": PatentKind.UTILITY_MODEL,
    "S": PatentKind.DESIGN,
    "D": PatentKind.DESIGN,
}
_FIRST_DIGIT_KIND = {"1": PatentKind.INVENTION, "2": PatentKind.UTILITY_MODEL, "3": PatentKind.DESIGN}
_PUBLICATION_RE = re.compile(r"CN(?P<digits>[0-9]{7}|[0-9]{9})(?P<code>[A-Z])")


@dataclass(frozen=True, slots=True)
class PublicationNumber:
    """A format-checked publication or grant number such as "CN108938619B" (no check digit exists)."""

    digits: str
    kind_code: str
    kind: PatentKind

    @property
    def normalized(self) -> str:
        """The canonical form, e.g. "CN108938619B"."""
        return f"CN{self.digits}{self.kind_code}"

    def __str__(self) -> str:
        return self.normalized


def parse_publication_number(text: str) -> PublicationNumber:
    """Parse a publication/grant number: CN, 7 or 9 digits, and a kind code letter."""
    if not isinstance(text, str):
        raise PatentNumberError(f"publication number must be text, got {type(text).__name__}")
    cleaned = _normalise_text(text)
    match = _PUBLICATION_RE.fullmatch(cleaned)
    if match is None:
        raise PatentNumberError(
            f"{text!r} is not a publication number: expected CN, 7 or 9 digits and a kind code such as A or U"
        )
    digits, code = match["digits"], match["code"]
    kind = _PUBLICATION_KINDS.get(code)
    if kind is None:
        raise PatentNumberError(f"kind code {code} is not a Chinese publication kind (A, B, C, U, Y, S, D)")
    if _FIRST_DIGIT_KIND.get(digits[0]) is not kind:
        raise PatentNumberError(
            f"publication number starting with {digits[0]} does not match kind code {code} ({kind.value})"
        )
    return PublicationNumber(digits=digits, kind_code=code, kind=kind)


def patent_type_of(number: str) -> PatentKind:
    """The kind of patent an application or publication number refers to."""
    try:
        return parse_patent_number(number).kind
    except PatentNumberError as application_error:
        cleaned = _normalise_text(number) if isinstance(number, str) else ""
        if _PUBLICATION_RE.fullmatch(cleaned):
            return parse_publication_number(number).kind
        raise application_error
