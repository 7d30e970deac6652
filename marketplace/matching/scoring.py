"""How a (demand, listing) pair is judged: hard constraints, the structured fit, the score and its reasons.

Pure functions over plain facts (no SQL): the repository finds candidates through the search index, this
module decides which of them may be recommended and in what order, and says why in data and in one
Chinese sentence.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from marketplace.reference.fields import get_field
from marketplace.reference.regions import region_name


class Constraint(enum.StrEnum):
    """The hard constraints: a pair breaking one is not recommended unless the caller relaxes it."""

    budget = "budget"
    """The listing's fixed price, range minimum or auction start price is above the budget ceiling."""
    trl = "trl"
    """The listing's maturity is below the demand's minimum."""
    trade_mode = "trade_mode"
    """The listing offers none of the wanted trade modes."""


ALL_CONSTRAINTS = frozenset(Constraint)

# Weights of the parts of the score (they sum to 1; the score is shown out of 100).
W_TEXT = 0.55
W_FIELD = 0.22
W_TRL = 0.05
W_PRICE = 0.07
W_MODE = 0.05
W_REGION = 0.06

_MODE_ZH = {
    "transfer": "转让",
    "exclusive_licence": "独占许可",
    "sole_licence": "排他许可",
    "non_exclusive_licence": "普通许可",
    "equity_investment": "作价投资",
    "co_development": "技术开发",
    "technical_service": "技术服务",
}


@dataclass(frozen=True, slots=True)
class DemandFacts:
    """What matching reads of a demand."""

    id: str
    title: str
    description: str = ""
    field_codes: tuple[str, ...] = ()
    budget_min_fen: int | None = None
    budget_max_fen: int | None = None
    trade_modes: tuple[str, ...] = ()
    min_trl: int | None = None
    region_code: str | None = None
    organization_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListingFacts:
    """What matching reads of a listing (its public facts, as the search index holds them)."""

    id: str
    title: str
    field_codes: tuple[str, ...] = ()
    trl: int | None = None
    trade_modes: tuple[str, ...] = ()
    price_floor_fen: int | None = None
    """Fixed price, range minimum or auction start price; None when negotiable."""
    price_ceiling_fen: int | None = None
    pricing_kind: str | None = None
    region_code: str | None = None
    holder_id: str | None = None
    holder_name: str | None = None


@dataclass(frozen=True, slots=True)
class Reasons:
    """Why a pair fits (or how it does not), part by part."""

    matched_terms: tuple[str, ...]
    field: str
    """exact (a shared field code), parent (the same top-level field), none."""
    field_codes: tuple[str, ...]
    """The shared codes (exact) or shared top-level codes (parent)."""
    maturity: str
    """meets (TRL at or above the minimum), below, unknown, no_minimum."""
    trl: int | None
    min_trl: int | None
    price: str
    """within (the price range meets the budget), below_budget, negotiable, above_budget, no_budget, unknown."""
    price_floor_fen: int | None
    budget_max_fen: int | None
    trade_mode: str
    """offered (some wanted mode is offered), not_offered, any (no mode wanted)."""
    common_modes: tuple[str, ...]
    region: str
    """same_county, same_city, same_province, other, unknown."""


@dataclass(frozen=True, slots=True)
class Judgement:
    """A scored pair: total out of 100, the parts, violated constraints and an explanation."""

    score: float
    text_score: float
    reasons: Reasons
    violations: tuple[Constraint, ...]
    explanation: str
    parts: dict[str, float] = field(default_factory=dict)


def violations_of(demand: DemandFacts, listing: ListingFacts) -> tuple[Constraint, ...]:
    """The hard constraints the pair breaks (empty when it may be recommended)."""
    out: list[Constraint] = []
    if (
        demand.budget_max_fen is not None
        and listing.price_floor_fen is not None
        and listing.price_floor_fen > demand.budget_max_fen
    ):
        out.append(Constraint.budget)
    if demand.min_trl is not None and (listing.trl is None or listing.trl < demand.min_trl):
        out.append(Constraint.trl)
    if demand.trade_modes and not set(demand.trade_modes) & set(listing.trade_modes):
        out.append(Constraint.trade_mode)
    return tuple(out)


def _parents(codes: Sequence[str]) -> set[str]:
    return {c.split(".", 1)[0] for c in codes}


def field_fit(demand_codes: Sequence[str], listing_codes: Sequence[str]) -> tuple[str, tuple[str, ...], float]:
    """exact / parent / none, the shared codes, and the part's value (1, 0.5, 0)."""
    wanted = set(demand_codes)
    offered = set(listing_codes) | _parents(listing_codes)
    exact = sorted(c for c in wanted if c in offered)
    if exact:
        # A top-level code wanted ("5") is met exactly by any listing in that field.
        return "exact", tuple(exact), 1.0
    shared = sorted(_parents(demand_codes) & _parents(listing_codes))
    if shared:
        return "parent", tuple(shared), 0.5
    return "none", (), 0.0


def _price(demand: DemandFacts, listing: ListingFacts) -> tuple[str, float]:
    if listing.price_floor_fen is None:
        return "negotiable", 0.6
    if demand.budget_max_fen is None and demand.budget_min_fen is None:
        return "no_budget", 0.5
    if demand.budget_max_fen is not None and listing.price_floor_fen > demand.budget_max_fen:
        return "above_budget", 0.0
    ceiling = listing.price_ceiling_fen if listing.price_ceiling_fen is not None else listing.price_floor_fen
    if demand.budget_min_fen is not None and ceiling < demand.budget_min_fen:
        return "below_budget", 0.8
    return "within", 1.0


def _region(demand: DemandFacts, listing: ListingFacts) -> tuple[str, float]:
    a, b = demand.region_code or "", listing.region_code or ""
    if len(a) != 6 or len(b) != 6:
        return "unknown", 0.3
    if a[:2] != b[:2]:
        return "other", 0.0
    if a[2:4] == "00" or b[2:4] == "00" or a[:4] != b[:4]:
        return "same_province", 0.6
    if a == b or a[4:] == "00" or b[4:] == "00":
        return ("same_county", 1.0) if a == b and a[4:] != "00" else ("same_city", 0.9)
    return "same_city", 0.9


def judge(
    demand: DemandFacts,
    listing: ListingFacts,
    *,
    text_score: float,
    matched_terms: Sequence[str] = (),
) -> Judgement:
    """Score one pair; text_score is the search ranking already scaled to 0..1."""
    field_kind, field_codes, field_value = field_fit(demand.field_codes, listing.field_codes)
    if demand.min_trl is None:
        maturity, trl_value = "no_minimum", 0.5
    elif listing.trl is None:
        maturity, trl_value = "unknown", 0.0
    elif listing.trl >= demand.min_trl:
        maturity, trl_value = "meets", 1.0
    else:
        maturity, trl_value = "below", 0.0
    price, price_value = _price(demand, listing)
    common = tuple(m for m in demand.trade_modes if m in set(listing.trade_modes))
    if not demand.trade_modes:
        mode, mode_value = "any", 0.5
    elif common:
        mode, mode_value = "offered", 1.0
    else:
        mode, mode_value = "not_offered", 0.0
    region, region_value = _region(demand, listing)
    text = max(0.0, min(1.0, text_score))
    parts = {
        "text": W_TEXT * text,
        "field": W_FIELD * field_value,
        "maturity": W_TRL * trl_value,
        "price": W_PRICE * price_value,
        "trade_mode": W_MODE * mode_value,
        "region": W_REGION * region_value,
    }
    reasons = Reasons(
        matched_terms=tuple(dict.fromkeys(matched_terms)),
        field=field_kind,
        field_codes=field_codes,
        maturity=maturity,
        trl=listing.trl,
        min_trl=demand.min_trl,
        price=price,
        price_floor_fen=listing.price_floor_fen,
        budget_max_fen=demand.budget_max_fen,
        trade_mode=mode,
        common_modes=common,
        region=region,
    )
    violations = violations_of(demand, listing)
    return Judgement(
        score=round(100 * sum(parts.values()), 2),
        text_score=round(text, 4),
        reasons=reasons,
        violations=violations,
        explanation=explain(reasons, violations, listing=listing, demand=demand),
        parts={k: round(100 * v, 2) for k, v in parts.items()},
    )


def _yuan(fen: int) -> str:
    yuan = fen / 100
    if yuan >= 10_000:
        return f"{yuan / 10_000:g}万元"
    return f"{yuan:g}元"


def explain(reasons: Reasons, violations: Sequence[Constraint], *, listing: ListingFacts, demand: DemandFacts) -> str:
    """One line of Chinese saying why the pair fits, and what it breaks when constraints were relaxed."""
    bits: list[str] = []
    if reasons.matched_terms:
        bits.append("关键词“" + "、".join(reasons.matched_terms[:4]) + "”相符")
    if reasons.field == "exact":
        names = [f.name_zh for c in reasons.field_codes if (f := get_field(c)) is not None]
        bits.append("同属" + ("、".join(names[:2]) or "所需") + "领域")
    elif reasons.field == "parent":
        names = [f.name_zh for c in reasons.field_codes if (f := get_field(c)) is not None]
        bits.append("同属" + ("、".join(names[:2]) or "相近") + "大类")
    if reasons.maturity == "meets":
        bits.append(f"成熟度TRL {reasons.trl}（要求≥{reasons.min_trl}）")
    elif reasons.trl is not None and reasons.maturity == "no_minimum":
        bits.append(f"成熟度TRL {reasons.trl}")
    if reasons.price == "within":
        bits.append(f"价格{_yuan(reasons.price_floor_fen or 0)}起，在预算内")
    elif reasons.price == "below_budget":
        bits.append("价格低于预算")
    elif reasons.price == "negotiable":
        bits.append("价格面议")
    if reasons.trade_mode == "offered":
        bits.append("可" + "、".join(_MODE_ZH.get(m, m) for m in reasons.common_modes[:2]))
    if reasons.region in ("same_county", "same_city"):
        bits.append("同城（" + (region_name(listing.region_code or "") or "本地") + "）")
    elif reasons.region == "same_province":
        bits.append("同省")
    line = "；".join(bits) if bits else "与需求部分相关"
    if violations:
        broken = []
        for v in violations:
            if v is Constraint.budget:
                broken.append(
                    f"价格{_yuan(listing.price_floor_fen or 0)}起，超出预算上限{_yuan(demand.budget_max_fen or 0)}"
                )
            elif v is Constraint.trl:
                broken.append(f"成熟度TRL {listing.trl}低于要求的{demand.min_trl}")
            else:
                broken.append("未提供所需的交易方式")
        line += "。不满足：" + "；".join(broken)
    return line + "。"
