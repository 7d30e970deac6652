"""Fee arithmetic on the default schedule: band edges, minimums, caps, each rounding case, tiny and huge deals."""

from __future__ import annotations

from fractions import Fraction

import pytest

from marketplace.payments.fees import (
    DEFAULT_SCHEDULE,
    Schedule,
    allocate,
    check_bands,
    commission_fen,
    round_half_up,
    share,
    side_fee,
)

DEFAULT = Schedule.of(**{k: v for k, v in DEFAULT_SCHEDULE.items() if k != "deposit_forfeit_to"})
YUAN = 100


def fees(amount: int, schedule: Schedule = DEFAULT) -> tuple[int, int]:
    return side_fee(schedule, "seller", amount).fee_fen, side_fee(schedule, "buyer", amount).fee_fen


def test_exactly_five_million_yuan_stays_in_the_first_band() -> None:
    seller = side_fee(DEFAULT, "seller", 5_000_000 * YUAN)
    assert [(line.portion_fen, line.rate_percent) for line in seller.lines] == [(500_000_000, "0.5")]
    assert fees(5_000_000 * YUAN) == (2_500_000, 7_500_000)


def test_one_fen_over_five_million_enters_the_second_band() -> None:
    seller = side_fee(DEFAULT, "seller", 5_000_000 * YUAN + 1)
    buyer = side_fee(DEFAULT, "buyer", 5_000_000 * YUAN + 1)
    assert [line.portion_fen for line in seller.lines] == [500_000_000, 1]
    assert seller.lines[1].fee_exact == Fraction(4, 1000)
    assert buyer.lines[1].fee_exact == Fraction(1, 100)
    assert seller.banded_exact == Fraction(2_500_000) + Fraction(4, 1000)
    assert (seller.fee_fen, buyer.fee_fen) == (2_500_000, 7_500_000)


def test_bands_apply_marginally_like_income_tax() -> None:
    # 10,000,000 yuan: 0.5 % of the first 5M plus 0.4 % of the next 5M, not 0.4 % of all of it.
    assert fees(10_000_000 * YUAN) == (2_500_000 + 2_000_000, 7_500_000 + 5_000_000)
    # one fen over 10M enters the third band
    assert [line.rate_percent for line in side_fee(DEFAULT, "seller", 10_000_000 * YUAN + 1).lines] == [
        "0.5",
        "0.4",
        "0.3",
    ]


def test_one_yuan_deal_pays_the_minimum_on_both_sides() -> None:
    seller = side_fee(DEFAULT, "seller", 1 * YUAN)
    buyer = side_fee(DEFAULT, "buyer", 1 * YUAN)
    assert seller.banded_exact == Fraction(1, 2) and buyer.banded_exact == Fraction(3, 2)
    assert seller.minimum_applied and buyer.minimum_applied
    assert (seller.fee_fen, buyer.fee_fen) == (2_000 * YUAN, 2_000 * YUAN)


def test_minimum_stops_applying_exactly_where_the_bands_reach_it() -> None:
    # seller 0.5 % reaches 2,000 yuan at 400,000 yuan; one fen less still pays the minimum
    at = side_fee(DEFAULT, "seller", 400_000 * YUAN)
    below = side_fee(DEFAULT, "seller", 400_000 * YUAN - 1)
    assert (at.fee_fen, at.minimum_applied) == (200_000, False)
    assert (below.fee_fen, below.minimum_applied) == (200_000, True)
    assert below.banded_exact == Fraction(199_999_995, 1000)


@pytest.mark.parametrize(
    ("amount", "seller_fee"),
    [
        (40_000_099, 200_000),  # 200,000.495 -> down
        (40_000_100, 200_001),  # 200,000.5 exactly -> half up
        (40_000_101, 200_001),  # 200,000.505 -> up
        (40_000_200, 200_001),  # 200,001 exactly -> no rounding
    ],
)
def test_each_rounding_case(amount: int, seller_fee: int) -> None:
    assert side_fee(DEFAULT, "seller", amount).fee_fen == seller_fee


def test_rounding_happens_once_at_the_end_not_per_band() -> None:
    # Two bands each giving half a fen: per-band rounding would give 2, rounding the sum once gives 1.
    schedule = Schedule.of(
        bands=[
            {"up_to_fen": 50, "seller_rate": "1", "buyer_rate": "1"},
            {"up_to_fen": None, "seller_rate": "1", "buyer_rate": "1"},
        ],
        seller_min_fen=0,
        buyer_min_fen=0,
        seller_cap_fen=None,
        buyer_cap_fen=None,
        broker_commission_bps=100,
    )
    quote = side_fee(schedule, "seller", 100)
    assert [line.fee_exact for line in quote.lines] == [Fraction(1, 2), Fraction(1, 2)]
    assert quote.fee_fen == 1
    # and a half at the end rounds up
    assert side_fee(schedule, "buyer", 150).fee_fen == 2  # 1.5 -> 2


def test_two_billion_yuan_deal() -> None:
    amount = 2_000_000_000 * YUAN
    seller, buyer = fees(amount)
    assert seller == 2_500_000 + 2_000_000 + 12_000_000 + 10_000_000 + 190_000_000
    assert buyer == 7_500_000 + 5_000_000 + 32_000_000 + 25_000_000 + 570_000_000
    assert len(side_fee(DEFAULT, "seller", amount).lines) == 5


def test_cap_applies_to_the_exact_figure() -> None:
    capped = Schedule.of(
        bands=DEFAULT_SCHEDULE["bands"],
        seller_min_fen=200_000,
        buyer_min_fen=200_000,
        seller_cap_fen=3_000_000,
        buyer_cap_fen=None,
        broker_commission_bps=100,
    )
    seller = side_fee(capped, "seller", 2_000_000_000 * YUAN)
    assert seller.cap_applied and seller.fee_fen == 3_000_000
    assert not side_fee(capped, "seller", 100 * YUAN).cap_applied


def test_commission_allocation_and_shares_are_exact() -> None:
    assert commission_fen(30_000_000, bps=100, fixed_fen=None) == 300_000
    assert commission_fen(150, bps=100, fixed_fen=None) == 2  # 1.5 -> 2
    assert commission_fen(30_000_000, bps=None, fixed_fen=12_345) == 12_345
    assert allocate(100, [1, 1, 1]) == [33, 33, 34]
    assert sum(allocate(7_500_001, [10_000_000, 20_000_000, 3])) == 7_500_001
    assert share(600_000, 10_000_000, 30_000_000) == 200_000
    assert round_half_up(Fraction(5, 2)) == 3 and round_half_up(Fraction(249, 100)) == 2


def test_bands_are_checked() -> None:
    assert check_bands([]) is not None
    assert check_bands([{"up_to_fen": 10, "seller_rate": "1", "buyer_rate": "1"}]) is not None  # last not open
    bad_order = [
        {"up_to_fen": 10, "seller_rate": "1", "buyer_rate": "1"},
        {"up_to_fen": 5, "seller_rate": "1", "buyer_rate": "1"},
        {"up_to_fen": None, "seller_rate": "1", "buyer_rate": "1"},
    ]
    assert check_bands(bad_order) is not None
    assert check_bands([{"up_to_fen": None, "seller_rate": "101", "buyer_rate": "1"}]) is not None
    assert check_bands(DEFAULT_SCHEDULE["bands"]) is None
