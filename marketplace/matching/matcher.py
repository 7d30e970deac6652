"""The matcher: candidates through the PostgreSQL search index, hard constraints, structured scoring.

For a demand: its title and description are analysed as search queries are (traditional/simplified,
segmentation, synonyms, typo tolerance), the title's words weighing TITLE_BOOST times the
description's; the search index ranks listings by field (title, keywords, summary, description) and
word rarity. Candidates are listings matching any uncommon word or sharing a wanted field code; the
enforced hard constraints are conditions of the same statement. Each candidate is then judged by
marketplace.matching.scoring (text, field, maturity, price, mode, region) and sorted.

For a listing the same happens the other way round over the demands index.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.demands.models import Demand
from marketplace.listings.models import Listing, PricingKind
from marketplace.matching.repository import MatchingRepository, TermSql
from marketplace.matching.scoring import ALL_CONSTRAINTS, Constraint, DemandFacts, Judgement, ListingFacts, judge
from search.model import MAX_QUERY_TERMS, SearchQuery
from search.postgres import PostgresSearchBackend, RelevanceSql, TermCache, tsquery_of
from search.prepare import Alternative, PreparedQuery, QueryGroup, prepare_query
from search.settings import DEMANDS, LISTINGS, index_settings
from search.text import Analyzer, get_default_analyzer

TITLE_BOOST = 2.5
"""How much more a word of the demand's (or listing's) title weighs than a word of its description."""
KEYWORD_BOOST = 2.0
"""A listing's keywords, when matching demands for it."""
MAX_DESCRIPTION_TERMS = 20
CANDIDATES = 60
"""Candidates a word brings in, read per match request (the page is cut from these and the field's)."""

# Words every demand says ("we seek a technology solution"): they carry no subject and are left out.
BOILERPLATE = frozenset(
    """
    寻求 需求 需要 希望 寻找 求购 征集 技术 解决方案 方案 合作 企业 公司 我司 我们 本公司 产品 项目 相关 应用
    提供 要求 实现 具备 具有 能够 用于 进行 引进 购买 采购 拟 计划 目前 现有 已有 一套 一种 成熟 方面 问题 提升
    从事 条件 合作开发 联合开发 成果 相关成果 结合 可结合 方向 领域 单位 对接 转化 落地
    """.split()  # noqa: SIM905  (a word list reads better as text)
)


@dataclass(frozen=True, slots=True)
class ListingMatch:
    """A listing recommended for a demand."""

    listing: ListingFacts
    judgement: Judgement
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DemandMatch:
    """A demand a listing fits."""

    demand: Demand
    holder_name: str | None
    judgement: Judgement


def match_query(
    parts: Sequence[tuple[str, float]], analyzer: Analyzer, *, max_terms: int = MAX_QUERY_TERMS
) -> tuple[PreparedQuery, dict[int, float]]:
    """One query from several texts, each with a weight (title first); repeated and boilerplate words once."""
    groups: list[QueryGroup] = []
    boosts: dict[int, float] = {}
    seen: set[str] = set()
    head_text, head_words = "", cast(tuple[str, ...], ())
    for n, (raw, weight) in enumerate(parts):
        if not raw:
            continue
        prepared = prepare_query(raw, analyzer, prefix=False, max_terms=MAX_DESCRIPTION_TERMS * 2)
        if n == 0:
            head_text, head_words = prepared.text, prepared.words
        taken = 0
        for group in prepared.groups:
            if len(groups) >= max_terms or (weight <= 1.0 and taken >= MAX_DESCRIPTION_TERMS):
                break
            if group.text in seen or group.text in BOILERPLATE:
                continue
            seen.add(group.text)
            if weight != 1.0:
                boosts[len(groups)] = weight
            groups.append(group)
            taken += 1
    return PreparedQuery(text=head_text, words=head_words, groups=tuple(groups)), boosts


SELECTING_EXTRA = 0
"""Description words (the rarest) that may bring a document in besides the title's."""
SELECTIVE_SHARE = 0.02
SELECTIVE_MIN_DOCS = 200
"""A word (or one of its forms) selects documents only if at most this share of them (or this many) has it."""
LEVEL_VALUES = (0.0, 0.2, 0.6, 1.0)
"""A word's value by the strongest field it occurs in: absent, description, keywords/summary, title."""


def term_sql(rel: RelevanceSql, boosts: Mapping[int, float]) -> list[TermSql]:
    """Per query word: its tsqueries, its weight (rarity x boost, normalised), and how it may select documents.

    Title (and keyword) words select documents, and so do the SELECTING_EXTRA rarest other words; only
    alternatives found in at most SELECTIVE_SHARE of the documents select (a common word only ranks).
    """
    limit = max(SELECTIVE_MIN_DOCS, int(SELECTIVE_SHARE * rel.size))

    def selective(alternative: Alternative) -> bool:
        return min((rel.frequencies.get(t, 0) for t in alternative.tokens), default=0) <= limit

    rest = sorted(
        (i for i in range(len(rel.prepared.groups)) if i not in boosts),
        key=lambda i: -float(rel.params.get(f"w{i}", 0.0)),
    )
    extra = set(rest[:SELECTING_EXTRA])
    groups = rel.prepared.groups
    wholes = [[a for a in g.alternatives if not a.partial] or list(g.alternatives) for g in groups]
    # A title word's compound parts (联网 of 物联网) may bring a document in, ranking as a description hit.
    looses = [list(g.alternatives) if i in boosts else wholes[i] for i, g in enumerate(groups)]
    selecting = [
        [a for a in looses[i] if selective(a)] if i in boosts or i in extra else [] for i in range(len(groups))
    ]
    if groups and not any(selecting):
        # Every title word is common: the rarest one selects all the same.
        heads = [i for i in range(len(groups)) if i in boosts] or list(range(len(groups)))

        def df(i: int) -> int:
            return min(min((rel.frequencies.get(t, 0) for t in a.tokens), default=0) for a in wholes[i])

        rarest = min(heads, key=df)
        selecting[rarest] = wholes[rarest]
    return [
        TermSql(
            anywhere=tsquery_of(looses[i]),
            head=tsquery_of(wholes[i], "ABC"),
            title=tsquery_of(wholes[i], "A"),
            weight=float(rel.params.get(f"w{i}", 0.0)),
            selecting=tsquery_of(selecting[i]) if selecting[i] else None,
        )
        for i in range(len(groups))
    ]


def text_score(terms: Sequence[TermSql], levels: Sequence[int]) -> float:
    """A candidate's text score from the strongest field each word occurs in (0..1)."""
    return sum(t.weight * LEVEL_VALUES[level] for t, level in zip(terms, levels, strict=False))


def listing_facts(doc: dict[str, Any]) -> ListingFacts:
    """A listing's facts from its stored search document."""
    low, high = doc.get("price_min_fen"), doc.get("price_max_fen")
    return ListingFacts(
        id=str(doc["id"]),
        title=doc.get("title") or "",
        field_codes=tuple(doc.get("field_codes") or ()),
        trl=doc.get("trl"),
        trade_modes=tuple(doc.get("trade_modes") or ()),
        price_floor_fen=low if low is not None else high,
        price_ceiling_fen=high if high is not None else low,
        pricing_kind=(doc.get("extra") or {}).get("pricing_kind"),
        region_code=doc.get("region_code"),
        holder_id=doc.get("holder_id"),
        holder_name=doc.get("holder_name"),
    )


def listing_facts_of(listing: Listing, holder_name: str | None = None) -> ListingFacts:
    """A listing's facts from its row."""
    kind = PricingKind(listing.pricing_kind)
    low: int | None
    high: int | None
    if kind is PricingKind.fixed:
        low = high = listing.price_fen
    elif kind is PricingKind.range:
        low, high = listing.min_fen, listing.max_fen
    elif kind is PricingKind.auction:
        low = high = listing.start_price_fen
    else:
        low = high = None
    return ListingFacts(
        id=str(listing.id),
        title=listing.title_zh,
        field_codes=tuple(listing.field_codes or ()),
        trl=listing.trl,
        trade_modes=tuple(listing.trade_modes or ()),
        price_floor_fen=low,
        price_ceiling_fen=high,
        pricing_kind=kind.value,
        region_code=listing.region_code,
        holder_id=str(listing.organization_id),
        holder_name=holder_name,
    )


def demand_facts_of(demand: Demand) -> DemandFacts:
    """A demand's facts from its row."""
    return DemandFacts(
        id=str(demand.id),
        title=demand.title,
        description=demand.description or "",
        field_codes=tuple(demand.field_codes or ()),
        budget_min_fen=demand.budget_min_fen,
        budget_max_fen=demand.budget_max_fen,
        trade_modes=tuple(demand.trade_modes or ()),
        min_trl=demand.min_trl,
        region_code=demand.region_code,
        organization_id=str(demand.organization_id),
    )


def _parents(codes: Sequence[str]) -> list[str]:
    return sorted({c.split(".", 1)[0] for c in codes})


def _scaled(scores: Sequence[float]) -> float:
    """The text score that counts as a full text match: the best candidate's, at least a fifth of a perfect one."""
    return max([0.2, *scores])


class Matcher:
    """Finds and judges matches on the PostgreSQL search tables (whatever engine serves the search routes)."""

    def __init__(
        self, session: AsyncSession, *, analyzer: Analyzer | None = None, cache: TermCache | None = None
    ) -> None:
        self.session = session
        self.repo = MatchingRepository(session)
        self.analyzer = analyzer or get_default_analyzer()
        self.cache = cache

    def _backend(self, index: str) -> PostgresSearchBackend:
        return PostgresSearchBackend(
            self.session,
            settings={index: index_settings(index, self.analyzer)},
            analyzer=self.analyzer,
            cache=self.cache,
        )

    async def _terms(self, index: str, parts: Sequence[tuple[str, float]]) -> tuple[list[TermSql], list[str]]:
        prepared, boosts = match_query(parts, self.analyzer)
        if prepared.is_empty:
            return [], []
        # Typo tolerance is for people typing a search; demands and listings are written with care.
        rel = await self._backend(index).relevance_sql(index, prepared, boosts=boosts, typos=False)
        return term_sql(rel, boosts), [g.text for g in rel.prepared.groups]

    async def listings_for(
        self,
        demand: DemandFacts,
        *,
        index: str = LISTINGS,
        relax: frozenset[Constraint] = frozenset(),
        limit: int = 20,
        exclude_ids: Sequence[str] = (),
        exclude_holder: str | None = None,
    ) -> list[ListingMatch]:
        """Published listings for a demand, best first; relaxed constraints let breaking listings in, flagged."""
        terms, words = await self._terms(index, [(demand.title, TITLE_BOOST), (demand.description, 1.0)])
        candidates = await self.repo.listing_candidates(
            index=index,
            terms=terms,
            exact_fields=list(demand.field_codes),
            parent_fields=_parents(demand.field_codes),
            enforce=ALL_CONSTRAINTS - relax,
            budget_max_fen=demand.budget_max_fen,
            min_trl=demand.min_trl,
            trade_modes=list(demand.trade_modes),
            exclude_ids=exclude_ids,
            exclude_holder=exclude_holder,
            limit=max(CANDIDATES, limit),
        )
        scores = [text_score(terms, c.levels) for c in candidates]
        top = _scaled(scores)
        out: list[ListingMatch] = []
        for c, raw in zip(candidates, scores, strict=True):
            facts = listing_facts(c.doc)
            matched = [w for w, level in zip(words, c.levels, strict=False) if level]
            judgement = judge(demand, facts, text_score=raw / top, matched_terms=matched)
            if set(judgement.violations) - relax:
                continue  # the statement enforces these; a changed document between reads is left out too
            out.append(ListingMatch(listing=facts, judgement=judgement, doc=c.doc))
        out.sort(key=lambda m: (-m.judgement.score, m.listing.id))
        return out[:limit]

    async def text_only(self, demand: DemandFacts, *, index: str = LISTINGS, limit: int = 10) -> list[str]:
        """The baseline: the demand's title and description as one plain search, nothing else."""
        text = f"{demand.title} {demand.description}".strip()[:1000]
        result = await self._backend(index).search(
            index, SearchQuery(text=text, per_page=limit, highlight=False, prefix=False)
        )
        return [h.id for h in result.hits]

    async def demands_for(
        self,
        listing: ListingFacts,
        *,
        keywords: Sequence[str] = (),
        summary: str = "",
        today: date,
        index: str = DEMANDS,
        relax: frozenset[Constraint] = frozenset(),
        limit: int = 20,
    ) -> list[DemandMatch]:
        """Open demands a listing fits, best first (the listing's holder's own demands left out)."""
        parts = [(listing.title, TITLE_BOOST), (" ".join(keywords), KEYWORD_BOOST), (summary, 1.0)]
        terms, words = await self._terms(index, parts)
        rows = await self.repo.demand_candidates(
            index=index,
            terms=terms,
            exact_fields=list(listing.field_codes),
            parent_fields=_parents(listing.field_codes),
            enforce=ALL_CONSTRAINTS - relax,
            price_floor_fen=listing.price_floor_fen,
            trl=listing.trl,
            trade_modes=list(listing.trade_modes),
            exclude_org=_uuid_or_none(listing.holder_id),
            dismissed_for_listing=_uuid_or_none(listing.id),
            today=today,
            limit=max(CANDIDATES, limit),
        )
        scores = [text_score(terms, c.levels) for c, _, _ in rows]
        top = _scaled(scores)
        out: list[DemandMatch] = []
        for (c, demand, holder_name), raw in zip(rows, scores, strict=True):
            matched = [w for w, level in zip(words, c.levels, strict=False) if level]
            judgement = judge(demand_facts_of(demand), listing, text_score=raw / top, matched_terms=matched)
            if set(judgement.violations) - relax:
                continue
            out.append(DemandMatch(demand=demand, holder_name=holder_name, judgement=judgement))
        out.sort(key=lambda m: (-m.judgement.score, str(m.demand.id)))
        return out[:limit]


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None
