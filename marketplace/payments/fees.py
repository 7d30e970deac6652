"""Fee arithmetic: progressive bands applied marginally, a minimum and an optional cap per side, in exact fractions.

Rounding rule (the only one): each side's fee is computed exactly (fractions of a fen), the minimum and the cap
are applied to the exact figure, and the result is rounded half-up to the fen once, at the end. Nothing is
rounded per band.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

FEN_PER_YUAN = 100
SIDES = ("seller", "buyer")


def round_half_up(value: Fraction) -> int:
    """The nearest whole fen, halves rounded up (fees are never negative)."""
    return int((value + Fraction(1, 2)).__floor__())


def parse_rate(text: str) -> Fraction:
    """A percentage written as a decimal string ("0.5" is 0.5 %) as an exact fraction of one."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError) as exc:
        raise ValueError(f"not a decimal percentage: {text!r}") from exc
    if not value.is_finite() or value < 0 or value > 100:
        raise ValueError(f"a rate is a percentage from 0 to 100: {text!r}")
    return Fraction(value) / 100


def format_fraction(value: Fraction) -> str:
    """An exact amount of fen as text: an integer, or numerator/denominator."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


@dataclass(frozen=True)
class Band:
    """One band: from the previous band's upper bound up to `up_to_fen` (None: no upper bound)."""

    up_to_fen: int | None
    seller_rate: str
    buyer_rate: str

    def rate(self, side: str) -> Fraction:
        """This band's rate for one side, as a fraction of one."""
        return parse_rate(self.seller_rate if side == "seller" else self.buyer_rate)


@dataclass(frozen=True)
class Schedule:
    """A fee schedule's terms (the table row holds the same, as data)."""

    bands: tuple[Band, ...]
    seller_min_fen: int
    buyer_min_fen: int
    seller_cap_fen: int | None
    buyer_cap_fen: int | None
    broker_commission_bps: int

    def minimum(self, side: str) -> int:
        """The minimum fee of a side."""
        return self.seller_min_fen if side == "seller" else self.buyer_min_fen

    def cap(self, side: str) -> int | None:
        """The cap of a side, if any."""
        return self.seller_cap_fen if side == "seller" else self.buyer_cap_fen

    @classmethod
    def of(cls, *, bands: list[dict[str, Any]], **terms: Any) -> Schedule:
        """From stored values (bands as dicts)."""
        return cls(bands=tuple(Band(**b) for b in bands), **terms)


def check_bands(bands: list[dict[str, Any]]) -> str | None:
    """Why these bands are not a valid progression (or None): rising bounds, the last one open, valid rates."""
    if not bands:
        return "give at least one band"
    previous = 0
    for i, band in enumerate(bands):
        bound = band.get("up_to_fen")
        last = i == len(bands) - 1
        if last and bound is not None:
            return "the last band has no upper bound (up_to_fen null)"
        if not last and (bound is None or bound <= previous):
            return f"band {i}: up_to_fen must be above the previous band's bound"
        for key in ("seller_rate", "buyer_rate"):
            try:
                parse_rate(str(band.get(key)))
            except ValueError as exc:
                return f"band {i}: {exc}"
        if bound is not None:
            previous = bound
    return None


@dataclass(frozen=True)
class BandLine:
    """One band's share of the amount and the fee on it (exact)."""

    from_fen: int
    up_to_fen: int | None
    portion_fen: int
    rate_percent: str
    fee_exact: Fraction


@dataclass(frozen=True)
class SideQuote:
    """One side's fee: each band's arithmetic, the exact sum, the minimum or cap applied, the rounded total."""

    side: str
    lines: tuple[BandLine, ...]
    banded_exact: Fraction
    minimum_fen: int
    minimum_applied: bool
    cap_fen: int | None
    cap_applied: bool
    fee_fen: int


def side_fee(schedule: Schedule, side: str, amount_fen: int) -> SideQuote:
    """One side's fee on an amount, with its arithmetic."""
    if amount_fen <= 0:
        raise ValueError("the amount must be positive")
    lines: list[BandLine] = []
    lower = 0
    total = Fraction(0)
    for band in schedule.bands:
        upper = band.up_to_fen
        portion = max(0, (amount_fen if upper is None else min(amount_fen, upper)) - lower)
        rate = band.rate(side)
        fee = portion * rate
        if portion > 0:
            lines.append(
                BandLine(
                    from_fen=lower,
                    up_to_fen=upper,
                    portion_fen=portion,
                    rate_percent=band.seller_rate if side == "seller" else band.buyer_rate,
                    fee_exact=fee,
                )
            )
        total += fee
        if upper is None or amount_fen <= upper:
            break
        lower = upper
    exact = total
    minimum = schedule.minimum(side)
    cap = schedule.cap(side)
    minimum_applied = exact < minimum
    if minimum_applied:
        exact = Fraction(minimum)
    cap_applied = cap is not None and exact > cap
    if cap is not None and cap_applied:
        exact = Fraction(cap)
    return SideQuote(
        side=side,
        lines=tuple(lines),
        banded_exact=total,
        minimum_fen=minimum,
        minimum_applied=minimum_applied,
        cap_fen=cap,
        cap_applied=cap_applied,
        fee_fen=round_half_up(exact),
    )


def commission_fen(amount_fen: int, *, bps: int | None, fixed_fen: int | None) -> int:
    """A broker's commission: a fixed sum, or basis points of the amount rounded half-up to the fen."""
    if fixed_fen is not None:
        return fixed_fen
    return round_half_up(Fraction(amount_fen * (bps or 0), 10_000))


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split `total` fen in proportion to `weights` (floors, the rest to the last): parts sum to `total`."""
    whole = sum(weights)
    if whole <= 0:
        raise ValueError("weights must sum to more than zero")
    parts = [total * w // whole for w in weights]
    parts[-1] += total - sum(parts)
    return parts


def share(total: int, part: int, whole: int) -> int:
    """`total * part / whole` rounded half-up (the fee that goes with a released part of a milestone)."""
    if whole <= 0:
        raise ValueError("whole must be positive")
    return round_half_up(Fraction(total * part, whole))


def yuan(fen: int) -> int:
    """Whole yuan in fen."""
    return fen * FEN_PER_YUAN


DEFAULT_BANDS: list[dict[str, Any]] = [
    {"up_to_fen": yuan(5_000_000), "seller_rate": "0.5", "buyer_rate": "1.5"},
    {"up_to_fen": yuan(10_000_000), "seller_rate": "0.4", "buyer_rate": "1.0"},
    {"up_to_fen": yuan(50_000_000), "seller_rate": "0.3", "buyer_rate": "0.8"},
    {"up_to_fen": yuan(100_000_000), "seller_rate": "0.2", "buyer_rate": "0.5"},
    {"up_to_fen": None, "seller_rate": "0.1", "buyer_rate": "0.3"},
]
DEFAULT_SCHEDULE: dict[str, Any] = {
    "bands": DEFAULT_BANDS,
    "seller_min_fen": yuan(2_000),
    "buyer_min_fen": yuan(2_000),
    "seller_cap_fen": None,
    "buyer_cap_fen": None,
    "broker_commission_bps": 100,
    "deposit_forfeit_to": "seller",
}
