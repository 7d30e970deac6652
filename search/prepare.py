"""From raw text to what engines index and match: field tokens of documents, term groups of queries.

Both engines use these, so Chinese segmentation, traditional/simplified folding and synonyms are the
same whichever engine runs; an engine only decides how to store and match the tokens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from search.model import MAX_QUERY_TERMS, SearchDocument
from search.text import Analyzer, get_default_analyzer

__all__ = [
    "BODY_LEVEL",
    "FIELD_WEIGHTS",
    "KIND_FACTORS",
    "LEVELS",
    "PHRASE_BONUS",
    "Alternative",
    "DocumentTokens",
    "PreparedQuery",
    "QueryGroup",
    "document_tokens",
    "ends_in_word",
    "osa_distance",
    "prepare_query",
    "typo_budget",
]

FieldName = Literal["title", "keywords", "holder", "summary", "description"]

FIELD_WEIGHTS: dict[str, str] = {
    "title": "A",
    "keywords": "B",
    "holder": "C",
    "summary": "C",
    "description": "D",
}
"""PostgreSQL weight class of each searchable field (A is the strongest)."""

# Ranking of the PostgreSQL engine (search/postgres.py writes it as SQL, search/memory.py as arrays).
LEVELS = (("A", 1.0), ("AB", 0.7), ("ABC", 0.45))
"""Score of a word found in the title; at best in the keywords; at best in the holder or summary."""
BODY_LEVEL = 0.2
"""Score of a word found only in the description (or beyond the start of the summary)."""
KIND_FACTORS = {"s": 1.0, "l": 0.7, "p": 0.3}
"""Factor by kind of match: exact or synonym; parts, typo or prefix; one part of a compound word."""
PHRASE_BONUS = 0.6
"""Bonus of a title containing the whole query (multi-word queries)."""

_LATIN_WORD_RE = re.compile(r"[a-z]+")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")


@dataclass(frozen=True, slots=True)
class DocumentTokens:
    """A document's tokens: per ranked field with offsets in its normalised text; the description's plain."""

    fields: dict[str, list[tuple[str, int]]]
    """title, keywords, holder and summary: (token, offset) in order."""
    description: list[str]
    title_norm: str

    def tokens(self, name: str) -> list[str]:
        """The tokens of one field, in order."""
        if name == "description":
            return self.description
        return [t for t, _ in self.fields.get(name, [])]


def document_tokens(doc: SearchDocument, analyzer: Analyzer | None = None) -> DocumentTokens:
    """Analyse every searchable field of a document (search-style tokens with offsets).

    Multi-valued fields (keywords) and the two titles are laid out with a gap between values, so that
    offsets never make two values look adjacent.
    """
    analyzer = analyzer or get_default_analyzer()

    def joined(values: list[str]) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        base = 0
        for value in values:
            tokens = analyzer.analyze_document_positions(value)
            out.extend((t, base + o) for t, o in tokens)
            base += len(value) + 8
        return out

    titles = [t for t in (doc.title, doc.title_en or "") if t]
    fields: dict[str, list[tuple[str, int]]] = {
        "title": joined(titles),
        "keywords": joined(list(doc.keywords)),
        "holder": joined([doc.holder_name] if doc.holder_name else []),
        "summary": analyzer.analyze_document_positions(doc.summary),
    }
    title_norm = " ".join(analyzer.normalize(t) for t in titles)
    description = analyzer.analyze_document(doc.description) if doc.description else []
    return DocumentTokens(fields=fields, description=description, title_norm=title_norm)


AlternativeKind = Literal["exact", "synonym", "parts", "partial", "typo"]


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way a query word can be present in a document: all of `tokens` (AND)."""

    tokens: tuple[str, ...]
    kind: AlternativeKind
    prefix: bool = False
    """The last token may be the start of a longer indexed token."""

    @property
    def strong(self) -> bool:
        """Exact words and synonyms rank above looser matches (word parts, typos, prefixes)."""
        return self.kind in ("exact", "synonym") and not self.prefix

    @property
    def partial(self) -> bool:
        """Only one part of a compound word: the document is about something near, not the thing."""
        return self.kind == "partial"


@dataclass(frozen=True, slots=True)
class QueryGroup:
    """One word (or multi-word synonym) of a query, with every alternative that satisfies it."""

    text: str
    alternatives: tuple[Alternative, ...]
    fuzzy: tuple[str, ...] = ()
    """Latin words of this group long enough for typo tolerance."""

    def with_alternatives(self, extra: tuple[Alternative, ...]) -> QueryGroup:
        """The same group with more alternatives (e.g. typo corrections found by an engine)."""
        known = {(a.tokens, a.prefix) for a in self.alternatives}
        added = tuple(a for a in extra if (a.tokens, a.prefix) not in known)
        return QueryGroup(self.text, self.alternatives + added, self.fuzzy)

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every distinct token any alternative mentions."""
        return tuple(dict.fromkeys(t for a in self.alternatives for t in a.tokens))


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A query ready to match: normalised text, its precise words, and one group per word."""

    text: str
    words: tuple[str, ...]
    groups: tuple[QueryGroup, ...]

    @property
    def is_empty(self) -> bool:
        """Whether there is nothing to match (browse)."""
        return not self.groups

    @property
    def compact(self) -> str:
        """The normalised text without spaces (for whole-phrase bonuses)."""
        return self.text.replace(" ", "")


def typo_budget(word: str, *, min_one: int = 5, min_two: int = 9) -> int:
    """How many typos a Latin word may contain and still match (0, 1 or 2)."""
    if _LATIN_WORD_RE.fullmatch(word) is None:
        return 0
    if len(word) >= min_two:
        return 2
    if len(word) >= min_one:
        return 1
    return 0


def osa_distance(a: str, b: str, limit: int = 2) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment); limit+1 once above limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def _prefix_ok(token: str) -> bool:
    """Whether a token is long enough to be completed as a prefix without matching half the index."""
    if _HAN_RE.fullmatch(token):
        return len(token) >= 2
    return len(token) >= 3 and not token.isdigit()


def ends_in_word(raw: str) -> bool:
    """Whether the user is still typing a word (the text does not end with a space or punctuation)."""
    raw = raw.rstrip("\u200b\ufeff")
    if not raw:
        return False
    category = unicodedata.category(raw[-1])
    return category[0] in ("L", "N")


def prepare_query(
    text: str,
    analyzer: Analyzer | None = None,
    *,
    prefix: bool = True,
    max_terms: int = MAX_QUERY_TERMS,
    typo_min_one: int = 5,
    typo_min_two: int = 9,
) -> PreparedQuery:
    """Normalise, segment and expand a query into term groups (at most max_terms of them)."""
    analyzer = analyzer or get_default_analyzer()
    analyzed = analyzer.analyze_query(text)
    groups: list[QueryGroup] = []
    for alternatives in analyzed.alternatives[:max_terms]:
        alts: list[Alternative] = []
        seen: set[tuple[str, ...]] = set()
        for i, term in enumerate(alternatives):
            tokens = tuple(analyzer.tokenize(term, for_query=True))
            if not tokens or tokens in seen:
                continue
            seen.add(tokens)
            alts.append(Alternative(tokens, "exact" if i == 0 else "synonym"))
        partials: list[str] = []
        for alt in list(alts):
            pieces: tuple[str, ...] = alt.tokens
            if len(alt.tokens) == 1:
                parts = analyzer.decompose(alt.tokens[0])
                if parts and parts not in seen:
                    seen.add(parts)
                    alts.append(Alternative(parts, "parts"))
                pieces = parts
            if alt.kind == "exact":  # a synonym's parts (能量 + 存储 of 储能) would match too widely
                partials.extend(
                    p for p in pieces if len(p) > 1 and _HAN_RE.fullmatch(p) and p not in analyzer.stopwords
                )
        for part in dict.fromkeys(partials):
            if (part,) not in seen:
                seen.add((part,))
                alts.append(Alternative((part,), "partial"))
        if not alts:
            continue
        first = alts[0].tokens
        fuzzy = tuple(t for t in first if typo_budget(t, min_one=typo_min_one, min_two=typo_min_two))
        groups.append(QueryGroup(text=alternatives[0], alternatives=tuple(alts), fuzzy=fuzzy))
    if prefix and groups and ends_in_word(text):
        last = groups[-1]
        exact = last.alternatives[0]
        if len(exact.tokens) == 1 and _prefix_ok(exact.tokens[0]):
            groups[-1] = last.with_alternatives((Alternative(exact.tokens, exact.kind, prefix=True),))
    return PreparedQuery(text=analyzed.text, words=analyzed.tokens, groups=tuple(groups))
