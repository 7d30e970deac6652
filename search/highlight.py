"""Highlighted snippets, computed the same way for every engine.

Matching happens on normalised text (simplified, half-width, case-folded), but the snippet shows the
original text: each normalised character is mapped back to the original characters it came from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

from search.model import SearchDocument
from search.prepare import PreparedQuery
from search.text import normalize

__all__ = ["MARK_CLOSE", "MARK_OPEN", "Highlighter", "document_highlights", "query_highlighter"]

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"

_CHUNK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+|\s+|[^\s]")
_WORDISH = re.compile(r"[0-9a-z]")


_Mapped = tuple[str, tuple[int, ...] | None, tuple[int, ...] | None]
"""The normalised text, and where each of its characters starts and ends in the original (None: at the
same offset). A plain tuple of strings and numbers: the garbage collector stops tracking it."""


_MAPS: dict[str, _Mapped] = {}
_MAPS_MAX = 65_536


def _map(text: str) -> _Mapped:
    """`_mapping(text)`, remembered for the texts of the last tens of thousands of hits.

    Entries are plain tuples of strings and numbers, which the garbage collector stops tracking, so a
    full cache costs collections nothing (an lru_cache's linked entries are walked by every one).
    """
    mapped = _MAPS.get(text)
    if mapped is None:
        if len(_MAPS) >= _MAPS_MAX:
            _MAPS.clear()
        mapped = _MAPS[text] = _mapping(text)
    return mapped


def _mapping(text: str) -> _Mapped:
    """Normalise text and remember, for each normalised character, the original span it came from.

    Most texts keep their length (one character for one), which needs no table.
    """
    norm = normalize(text)
    if len(norm) == len(text):
        return (norm, None, None)
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for match in _CHUNK_RE.finditer(text):
        chunk, begin, end = match.group(), match.start(), match.end()
        if chunk.isspace():
            if chars and chars[-1] != " ":
                chars.append(" ")
                starts.append(begin)
                ends.append(end)
            continue
        piece = normalize(chunk)
        if not piece:
            continue
        for i, ch in enumerate(piece):
            if len(piece) == len(chunk):
                s, e = begin + i, begin + i + 1
            else:
                s = begin + (i * len(chunk)) // len(piece)
                e = begin + ((i + 1) * len(chunk) + len(piece) - 1) // len(piece)
            chars.append(ch)
            starts.append(s)
            ends.append(max(e, s + 1))
    while chars and chars[-1] == " ":
        chars.pop()
        starts.pop()
        ends.pop()
    return ("".join(chars), tuple(starts), tuple(ends))


class Highlighter:
    """Marks a query's terms in original text and cuts snippets around the matches."""

    def __init__(self, terms: Iterable[str], prefixes: Iterable[str] = ()) -> None:
        """Terms are normalised tokens; prefixes are tokens that may be the start of a longer word."""
        self.terms = sorted({t for t in terms if t}, key=len, reverse=True)
        self.prefixes = {p for p in prefixes if p}

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted, merged (start, end) spans of the original text that match a term."""
        if not text or not self.terms:
            return []
        norm, starts, ends = _map(text)
        found: list[tuple[int, int]] = []
        for term in self.terms:
            latin = _WORDISH.match(term[0]) is not None
            start = norm.find(term)
            while start != -1:
                end = start + len(term)
                if latin:
                    before_ok = start == 0 or not _WORDISH.match(norm[start - 1])
                    if term in self.prefixes:
                        while end < len(norm) and _WORDISH.match(norm[end]):
                            end += 1
                    after_ok = end == len(norm) or not _WORDISH.match(norm[end])
                    if before_ok and after_ok:
                        found.append((start, end))
                else:
                    found.append((start, end))
                start = norm.find(term, start + 1)
        if not found:
            return []
        found.sort()
        merged: list[list[int]] = []
        for s, e in found:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        if starts is None or ends is None:
            return [(s, e) for s, e in merged]
        return [(starts[s], ends[e - 1]) for s, e in merged]

    def highlight(self, text: str, *, max_chars: int | None = None) -> str | None:
        """HTML-escaped text (or a window of about max_chars around the first match) with marks; None if no match."""
        spans = self.spans(text)
        if not spans:
            return None
        begin, end = 0, len(text)
        if max_chars is not None and len(text) > max_chars:
            first = spans[0][0]
            begin = max(0, min(first - max_chars // 4, len(text) - max_chars))
            end = min(len(text), begin + max_chars)
        out: list[str] = ["…" if begin > 0 else ""]
        cursor = begin
        for s, e in spans:
            if e <= begin or s >= end:
                continue
            s, e = max(s, begin), min(e, end)
            out.append(html.escape(text[cursor:s], quote=False))
            out.append(MARK_OPEN + html.escape(text[s:e], quote=False) + MARK_CLOSE)
            cursor = e
        out.append(html.escape(text[cursor:end], quote=False))
        if end < len(text):
            out.append("…")
        return "".join(out)


def query_highlighter(prepared: PreparedQuery) -> Highlighter:
    """A highlighter for the tokens a prepared query matches (prefix tokens mark whole words).

    Single characters are marked only when the query word itself is one: the parts of a longer
    word (无人 + 机) would otherwise light up every 机 in the text.
    """
    terms: list[str] = []
    for group in prepared.groups:
        single = len(group.alternatives[0].tokens) == 1 and len(group.alternatives[0].tokens[0]) == 1
        terms.extend(t for t in group.tokens if len(t) > 1 or single)
    prefixes = [a.tokens[-1] for g in prepared.groups for a in g.alternatives if a.prefix]
    return Highlighter(terms, prefixes)


def document_highlights(document: SearchDocument, highlighter: Highlighter) -> dict[str, str]:
    """Marked title, English title and summary snippet of a hit (only the fields that match)."""
    out: dict[str, str] = {}
    for name, value, limit in (
        ("title", document.title, None),
        ("title_en", document.title_en or "", None),
        ("summary", document.summary, 160),
    ):
        marked = highlighter.highlight(value, max_chars=limit)
        if marked is not None:
            out[name] = marked
    return out
