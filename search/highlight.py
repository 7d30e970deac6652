"""Highlighted snippets, computed the same way for every engine.

Matching happens on normalised text (simplified, half-width, case-folded), but the snippet shows the
original text: each normalised character is mapped back to the original characters it came from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from typing import Any

from search.model import SearchDocument
from search.prepare import PreparedQuery
from search.text import normalize

__all__ = ["MARK_CLOSE", "MARK_OPEN", "Highlighter", "document_highlights", "query_highlighter"]

MARK_OPEN = "<mark>"
MARK_CLOSE = "</mark>"

_CHUNK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+|\s+|[^\s]")
_WORD_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")
"""Characters of a Latin word in normalised (case-folded) text."""
_REMEMBERED = 65_536  # entries each cache below keeps (emptied when full)
_MARKED: dict[tuple[object, str, int | None], str | None] = {}
_MISSING = object()


def _remember(cache: dict[Any, Any], key: Any, compute: Callable[[], Any]) -> Any:
    """cache[key], computed on first use; a full cache starts over. Keys and values are plain strings,
    numbers and tuples of them, which the garbage collector stops tracking (an lru_cache's linked
    entries are walked by every full collection)."""
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        if len(cache) >= _REMEMBERED:
            cache.clear()
        value = cache[key] = compute()
    return value


_Mapped = tuple[str, tuple[int, ...] | None, tuple[int, ...] | None]
"""The normalised text, and where each of its characters starts and ends in the original (None: at the
same offset). A plain tuple of strings and numbers: the garbage collector stops tracking it."""


_MAPS: dict[str, _Mapped] = {}


def _map(text: str) -> _Mapped:
    """`_mapping(text)`, remembered for the texts of the last tens of thousands of hits."""
    return _remember(_MAPS, text, lambda: _mapping(text))


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
        # (term, Latin: matches whole words only, prefix: extends to the end of its word)
        self._plan = [(t, t[0] in _WORD_CHARS, t in self.prefixes) for t in self.terms]
        self._key = (tuple(self.terms), tuple(sorted(self.prefixes)))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Sorted, merged (start, end) spans of the original text that match a term."""
        if not text or not self.terms:
            return []
        norm, starts, ends = _map(text)
        found: list[tuple[int, int]] = []
        size = len(norm)
        for term, latin, prefix in self._plan:
            start = norm.find(term)
            while start != -1:
                end = start + len(term)
                if latin:
                    before_ok = start == 0 or norm[start - 1] not in _WORD_CHARS
                    if prefix:
                        while end < size and norm[end] in _WORD_CHARS:
                            end += 1
                    after_ok = end == size or norm[end] not in _WORD_CHARS
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
        """HTML-escaped text (or a window of about max_chars around the first match) with marks; None if no match.

        Remembered for the last tens of thousands of (terms, text) pairs: the same documents come back
        for the same words, page after page.
        """
        if not text or not self.terms:
            return None
        return _remember(_MARKED, (self._key, text, max_chars), lambda: self._highlight(text, max_chars))

    def _highlight(self, text: str, max_chars: int | None) -> str | None:
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
