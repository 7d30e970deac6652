"""The pure parts of matching: constraints, field fit, score parts, explanation, relax parsing, selecting words."""

from __future__ import annotations

import pytest

from marketplace.kit.errors import InvalidInput
from marketplace.matching.matcher import match_query, term_sql
from marketplace.matching.scoring import Constraint, DemandFacts, ListingFacts, field_fit, judge, violations_of
from marketplace.matching.service import parse_relax
from search.postgres import RelevanceSql
from search.text import get_default_analyzer

DEMAND = DemandFacts(
    id="d",
    title="寻求固态电池电解质技术",
    field_codes=("5.2",),
    budget_max_fen=100_000_000,
    trade_modes=("transfer",),
    min_trl=6,
    region_code="440300",
)


def listing(**overrides: object) -> ListingFacts:
    base: dict[str, object] = {
        "id": "l",
        "title": "硫化物固态电池电解质",
        "field_codes": ("5.2",),
        "trl": 7,
        "trade_modes": ("transfer",),
        "price_floor_fen": 30_000_000,
        "price_ceiling_fen": 30_000_000,
        "region_code": "440305",
    }
    base.update(overrides)
    return ListingFacts(**base)  # type: ignore[arg-type]


def test_each_hard_constraint_is_named() -> None:
    assert violations_of(DEMAND, listing()) == ()
    assert violations_of(DEMAND, listing(price_floor_fen=100_000_001)) == (Constraint.budget,)
    assert violations_of(DEMAND, listing(price_floor_fen=100_000_000)) == ()  # at the ceiling is fine
    assert violations_of(DEMAND, listing(price_floor_fen=None, price_ceiling_fen=None)) == ()  # negotiable
    assert violations_of(DEMAND, listing(trl=5)) == (Constraint.trl,)
    assert violations_of(DEMAND, listing(trade_modes=("co_development",))) == (Constraint.trade_mode,)
    anything = DemandFacts(id="d", title="x")
    assert violations_of(anything, listing(trl=1, trade_modes=("co_development",), price_floor_fen=10**12)) == ()


def test_field_fit_exact_parent_none() -> None:
    assert field_fit(["5.2"], ["5.2", "3.2"]) == ("exact", ("5.2",), 1.0)
    assert field_fit(["5"], ["5.3"]) == ("exact", ("5",), 1.0)  # a top-level wish is met by its children
    assert field_fit(["5.1"], ["5.3"]) == ("parent", ("5",), 0.5)
    assert field_fit(["5.1"], ["7.3"]) == ("none", (), 0.0)


def test_judgement_parts_add_up_and_explain_in_one_line() -> None:
    j = judge(DEMAND, listing(), text_score=1.0, matched_terms=["固态电池", "电解质"])
    assert j.score == pytest.approx(sum(j.parts.values()), abs=0.05)
    assert j.reasons.region == "same_city" and j.reasons.price == "within"
    assert j.explanation.startswith("关键词“固态电池、电解质”相符") and "\n" not in j.explanation
    worse = judge(DEMAND, listing(region_code="110100", field_codes=("5.1",)), text_score=1.0)
    assert worse.score < j.score
    broken = judge(DEMAND, listing(price_floor_fen=500_000_000, trl=4), text_score=1.0)
    assert broken.violations == (Constraint.budget, Constraint.trl)
    assert "不满足：价格500万元起，超出预算上限100万元；成熟度TRL 4低于要求的6" in broken.explanation


def test_relax_names() -> None:
    assert parse_relax([]) == frozenset()
    assert parse_relax(["budget,trl"]) == {Constraint.budget, Constraint.trl}
    assert parse_relax(["all"]) == set(Constraint)
    with pytest.raises(InvalidInput) as caught:
        parse_relax(["cheap"])
    assert caught.value.errors[0].parameter == "relax"


def test_boilerplate_is_dropped_and_title_words_weigh_more() -> None:
    prepared, boosts = match_query([("寻求固态电池技术", 2.5), ("希望获得电解质方案", 1.0)], get_default_analyzer())
    words = [g.text for g in prepared.groups]
    assert "寻求" not in words and "技术" not in words and "希望" not in words
    assert words[0] == "固态电池" and boosts == {0: 2.5}


def test_common_title_words_still_select_the_rarest() -> None:
    prepared, boosts = match_query([("锂电池正极", 2.5)], get_default_analyzer())
    tokens = {t for g in prepared.groups for a in g.alternatives for t in a.tokens}
    common = RelevanceSql(
        prepared=prepared,
        score="0",
        every_word="",
        any_word="",
        params={"w0": 0.5, "w1": 0.5},
        columns=[],
        frequencies={t: 90_000 for t in tokens} | {"正极": 40_000},
        size=100_000,
    )
    terms = term_sql(common, boosts)
    assert [t.selecting is not None for t in terms] == [False, True]  # only the rarest (正极) selects
