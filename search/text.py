"""Text normalisation and analysis shared by the search engines and the query layer.

Every text that is indexed or searched goes through the same steps, so that a document and a
query written differently (traditional or simplified characters, Taiwan or mainland vocabulary,
full-width or half-width forms, upper or lower case) meet on the same tokens:

1. ``normalize``: drop control and invisible format characters, fold compatibility forms (NFKC:
   full-width letters, digits, punctuation and spaces become half-width), case-fold, convert
   traditional Chinese to simplified (with Taiwan vocabulary, e.g. 雷射 -> 激光, 軟體 -> 软件)
   and collapse whitespace.
2. Segmentation: runs of Chinese characters are cut into words with a jieba dictionary plus a
   domain user dictionary; Latin words and numbers are kept whole ("5g", "gan", "3.5",
   "crispr-cas9"); whitespace and punctuation never become tokens.
3. Documents get search-engine style tokens (each word, its dictionary sub-words and, by default,
   its single characters), so that short queries hit long words; queries get the precise cut,
   plus synonym alternatives.

The dictionaries load lazily on first use, once per process, behind a lock. The public functions
never raise on odd input (empty strings, very long strings, emoji, control characters, lone
surrogates, query syntax of other languages).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DATA_DIR",
    "DEFAULT_SYNONYMS_PATH",
    "DEFAULT_USERDICT_PATH",
    "MAX_TOKEN_CHARS",
    "STOPWORDS",
    "SYNONYMS_PATH_ENV",
    "USERDICT_PATH_ENV",
    "AnalyzedQuery",
    "Analyzer",
    "SynonymTable",
    "get_default_analyzer",
    "normalize",
    "set_default_analyzer",
    "tokenize",
]

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_SYNONYMS_PATH = DATA_DIR / "synonyms.txt"
DEFAULT_USERDICT_PATH = DATA_DIR / "userdict.txt"
TW_PHRASES_PATH = DATA_DIR / "tw2s_phrases.txt"

SYNONYMS_PATH_ENV = "SEARCH_SYNONYMS_PATH"
USERDICT_PATH_ENV = "SEARCH_USERDICT_PATH"

MAX_TOKEN_CHARS = 64
"""Longer Latin or number tokens are cut to this many characters (documents and queries alike)."""

_MAX_SUBWORD_SOURCE = 16  # longest word whose dictionary sub-words are looked up
_MAX_SUBWORD_CHARS = 8  # longest sub-word looked up
_DOCUMENT_CACHE_SIZE = 100_000  # words whose document tokens are remembered
_SHORT_TEXT_CHARS = 32  # texts this short are cached whole by analyze_document_positions

_STOPWORD_TEXT = """
    的 地 得 了 着 过 和 与 及 或 等 等等 之 其 及其 以及 或者 并 并且 而 且 而且 但 但是 也 都 就 还 又
    在 于 对 对于 关于 将 把 被 由 从 以 为 为了 是 有 该 此 这 那 这些 那些 这种 这个 那个 其中 其他 其它
    所 所述 一种 一个 一些 基于 通过 用于 具有 包括 包含 进行 相关 以便 从而 使 使得 可 可以 能 能够
    即 若 如 如果 因此 所以 因为 由于 至 到 向 给 个 吗 呢 吧 啊
    a an the of and or nor for to in on at by from with without into onto over under about
    is are was were be been being as than then that this these those which who whom whose
    via per based using use used its their there here not no
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORD_TEXT.split())
"""Function words callers may drop from tokens; tokenization itself keeps them."""

# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

# C0/C1 controls (tab, newline, vertical tab, form feed and carriage return excepted) act as
# separators; they become spaces.
_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
# Invisible format characters, variation selectors, tags and lone surrogates are removed.
_INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\ud800-\udfff"
    "\U0001bca0-\U0001bca3\U000e0000-\U000e0fff]"
)
# NFKC would turn 10² into 102; a superscript run right after a digit becomes ^2 instead.
_SUPERSCRIPT_AFTER_DIGIT_RE = re.compile(r"(?<=\d)[⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻]+")

# Hyphens, figure and en dashes and the minus sign all become "-" (li‐ion, 10⁻⁶ -> li-ion, 10^-6).
_DASH_RE = re.compile("[\u2010-\u2013\u2212]")

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_HAN_CHAR_RE = re.compile(f"[{_HAN}]")
_HAN_RUN_RE = re.compile(f"[{_HAN}]+")


class _ChineseConverter:
    """Traditional -> simplified converter (OpenCC), built once on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._convert: Callable[[str], str] | None = None

    def convert(self, text: str) -> str:
        """Convert to simplified Chinese, repeating until the text no longer changes."""
        convert = self._convert or self._load()
        try:
            out = convert(text)
            for _ in range(3):
                if out == text:
                    break
                text, out = out, convert(out)
        except Exception:  # the converter is native code: never let it break a search
            log.exception("traditional->simplified conversion failed; text left unconverted")
            return text
        return out

    def _load(self) -> Callable[[str], str]:
        with self._lock:
            if self._convert is None:
                started = time.perf_counter()
                self._convert = _build_opencc()
                log.debug("opencc converter loaded in %.3fs", time.perf_counter() - started)
            return self._convert


def _build_opencc() -> Callable[[str], str]:
    """OpenCC's tw2sp chain with a curated Taiwan phrase dictionary; plain t2s as a fallback.

    OpenCC's own TWPhrasesRev also rewrites words that mainland text spells the same way
    (程序 -> 进程, 核心 -> 内核, 序列 -> 串行, 文件 -> 文档): search/data/tw2s_phrases.txt keeps
    only Taiwan entries that cannot damage simplified text.
    """
    import opencc

    base = opencc.OpenCC("t2s")
    share = Path(base.config).parent
    needed = ["CJK_Compatibility_Ideographs", "TSPhrases", "TSCharactersExt", "TSCharacters"]
    if not TW_PHRASES_PATH.is_file() or not all((share / f"{n}.ocd2").is_file() for n in needed):
        log.warning("OpenCC Taiwan phrase data not found; using plain t2s conversion")
        return base.convert

    def ocd2(name: str, **extra: Any) -> dict[str, Any]:
        return {"type": "ocd2", "file": str(share / f"{name}.ocd2"), **extra}

    config = {
        "name": "Traditional Chinese (Taiwan) to Simplified Chinese (mainland phrases), curated",
        "normalization": [{"dict": ocd2("CJK_Compatibility_Ideographs")}],
        "segmentation": {"type": "mmseg", "dict": ocd2("TSPhrases")},
        "conversion_chain": [
            {"dict": {"type": "text", "file": str(TW_PHRASES_PATH)}},
            {
                "dict": {
                    "type": "group",
                    "match_policy": "short_circuit",
                    "dicts": [
                        ocd2("TSPhrases"),
                        ocd2("TSCharactersExt", may_output_tofu=True),
                        ocd2("TSCharacters"),
                    ],
                }
            },
        ],
    }
    try:
        with tempfile.TemporaryDirectory(prefix="search-opencc-") as tmp:
            path = Path(tmp) / "tw2sp_curated.json"
            path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
            converter = opencc.OpenCC(str(path))
        return converter.convert
    except Exception:
        log.warning("curated OpenCC config failed to load; using plain t2s conversion", exc_info=True)
        return base.convert


_CONVERTER = _ChineseConverter()


def _as_text(text: object) -> str:
    """Coerce anything a caller passes into a str (None -> "")."""
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("utf-8", errors="replace")
    return str(text)


# Full-width ASCII and the ideographic space, exactly as NFKC maps them.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_FULLWIDTH_RE = re.compile("[\uff01-\uff5e\u3000]+")


def _fold_fullwidth(match: re.Match[str]) -> str:
    return match.group().translate(_FULLWIDTH)


def _superscript(match: re.Match[str]) -> str:
    return "^" + unicodedata.normalize("NFKC", match.group())


def _fold(text: str) -> str:
    """NFKC and case folding, repeated until stable (casefold can un-compose NFKC output)."""
    # Full-width forms are the common case: fold them run by run, far cheaper than a full NFKC.
    text = _FULLWIDTH_RE.sub(_fold_fullwidth, text)
    for _ in range(3):
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        folded = text.casefold()
        if folded == text or unicodedata.is_normalized("NFKC", folded):
            return folded
        text = folded
    return unicodedata.normalize("NFKC", text)


def normalize(text: str) -> str:
    """Fold text to its search form: simplified Chinese, half-width, case-folded, single-spaced."""
    text = _as_text(text)
    if not text:
        return ""
    if text.isascii():
        text = _CONTROL_RE.sub(" ", text)
        return " ".join(text.casefold().split())
    text = _CONTROL_RE.sub(" ", text)
    text = _INVISIBLE_RE.sub("", text)
    text = _SUPERSCRIPT_AFTER_DIGIT_RE.sub(_superscript, text)
    text = _DASH_RE.sub("-", _fold(text))
    if _HAN_CHAR_RE.search(text):
        converted = _CONVERTER.convert(text)
        if converted != text:
            text = _fold(converted)  # a converted phrase may bring its own letters (隨身碟 -> U盘)
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Segmentation
# ---------------------------------------------------------------------------------------------

_ALNUM = rf"[^\W_{_HAN}]"
_TOKEN_RE = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<word>{_ALNUM}+(?:[-._&]{_ALNUM}+)*(?:\+\+(?!\+)|#(?!\w))?)")
# Where a compound such as crispr-cas9 or node.js splits into parts; a dot between digits
# (3.5, pm2.5, v1.2.3) does not split.
_PART_SPLIT_RE = re.compile(r"[-_&]|(?<!\d)\.|\.(?!\d)")


def _word_tokens(word: str, *, for_query: bool) -> list[str]:
    """Tokens of one Latin/number compound: its parts, and for documents the whole as well."""
    word = word[:MAX_TOKEN_CHARS]
    parts = [p for p in _PART_SPLIT_RE.split(word) if p]
    if len(parts) <= 1:
        return [word]
    return parts if for_query else [*parts, word]


def _read_userdict(path: Path) -> list[tuple[str, int | None, str | None]]:
    """Entries (word, frequency, tag) of a jieba-format user dictionary."""
    entries: list[tuple[str, int | None, str | None]] = []
    for raw in path.read_text(encoding="utf-8-sig").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        word = normalize(fields[0]).replace(" ", "")
        if _HAN_RUN_RE.fullmatch(word) is None:
            continue  # only runs of Chinese characters reach the segmenter
        freq = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        tag = fields[-1] if len(fields) > 1 and not fields[-1].isdigit() else None
        entries.append((word, freq, tag))
    return entries


# ---------------------------------------------------------------------------------------------
# Synonyms
# ---------------------------------------------------------------------------------------------


class SynonymTable:
    """Groups of interchangeable terms; the first term of a group is its canonical form."""

    def __init__(
        self,
        groups: Iterable[Iterable[str]] = (),
        *,
        tokenizer: Callable[[str], list[str]] | None = None,
    ) -> None:
        """Build from groups of terms (normalised here); tokenizer cuts terms like queries."""
        cleaned: list[tuple[str, ...]] = []
        for group in groups:
            terms: list[str] = []
            for term in group:
                norm = normalize(term)
                if norm and norm not in terms:
                    terms.append(norm)
            if len(terms) >= 2:
                cleaned.append(tuple(terms))
        self.groups: tuple[tuple[str, ...], ...] = tuple(cleaned)
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self._index: dict[tuple[str, ...], list[int]] | None = None
        self._forms: dict[tuple[str, ...], str] = {}
        self._longest = 1

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        tokenizer: Callable[[str], list[str]] | None = None,
    ) -> SynonymTable:
        """Read a synonyms file (default: $SEARCH_SYNONYMS_PATH, else search/data/synonyms.txt)."""
        if path is None:
            path = os.environ.get(SYNONYMS_PATH_ENV) or DEFAULT_SYNONYMS_PATH
        groups = []
        for raw in Path(path).read_text(encoding="utf-8-sig").splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            groups.append(normalize(line).split(","))
        return cls(groups, tokenizer=tokenizer)

    def with_tokenizer(self, tokenizer: Callable[[str], list[str]]) -> SynonymTable:
        """The same groups, matched with another tokenizer (e.g. an analyzer with its own dictionary)."""
        table = SynonymTable(tokenizer=tokenizer)
        table.groups = self.groups
        return table

    @property
    def has_tokenizer(self) -> bool:
        """Whether a tokenizer was given (otherwise the default analyzer's query cut is used)."""
        return self._tokenizer is not None

    def __len__(self) -> int:
        """Number of groups."""
        return len(self.groups)

    def _key(self, term: str) -> tuple[str, ...]:
        tokenizer = self._tokenizer or (lambda text: tokenize(text, for_query=True))
        return tuple(tokenizer(term))

    def _lookup(self) -> dict[tuple[str, ...], list[int]]:
        if self._index is not None:
            return self._index
        with self._lock:
            if self._index is None:
                index: dict[tuple[str, ...], list[int]] = {}
                for gid, group in enumerate(self.groups):
                    for term in group:
                        key = self._key(term)
                        if not key:
                            continue
                        self._forms.setdefault(key, term)
                        gids = index.setdefault(key, [])
                        if gid not in gids:
                            gids.append(gid)
                        self._longest = max(self._longest, len(key))
                self._index = index
        return self._index

    def expand(self, tokens: Sequence[str]) -> list[list[str]]:
        """Alternatives per token position, longest synonym match first; multi-token matches merge."""
        index = self._lookup()
        norm = [t for t in (normalize(tok) for tok in tokens) if t]
        out: list[list[str]] = []
        i = 0
        while i < len(norm):
            for size in range(min(self._longest, len(norm) - i), 0, -1):
                key = tuple(norm[i : i + size])
                gids = index.get(key)
                if gids:
                    alternatives = [self._forms[key]]
                    for gid in gids:
                        alternatives.extend(t for t in self.groups[gid] if t not in alternatives)
                    out.append(alternatives)
                    i += size
                    break
            else:
                out.append([norm[i]])
                i += 1
        return out

    def canonical(self, term: str) -> str:
        """The canonical form of term's group, or the normalised term itself."""
        index = self._lookup()
        gids = index.get(self._key(term))
        return self.groups[gids[0]][0] if gids else normalize(term)


# ---------------------------------------------------------------------------------------------
# Analyzer
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnalyzedQuery:
    """A query ready for the engines: normalised text, tokens, and synonym alternatives."""

    text: str
    """The normalised query text."""
    tokens: tuple[str, ...]
    """Precise-mode tokens, stopwords included, in order."""
    terms: tuple[str, ...]
    """Distinct tokens without stopwords (all distinct tokens when every token is a stopword)."""
    alternatives: tuple[tuple[str, ...], ...]
    """Per position: the matched term first, then its synonyms (stopword-only positions left out)."""

    @property
    def is_empty(self) -> bool:
        """Whether the query has nothing to search for."""
        return not self.tokens


class Analyzer:
    """Segmentation, stopwords and synonyms configured together; dictionaries load lazily."""

    def __init__(
        self,
        *,
        synonyms: SynonymTable | str | os.PathLike[str] | None = None,
        userdict: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None = None,
        stopwords: Iterable[str] | None = None,
        drop_stopwords: bool = False,
        index_unigrams: bool = True,
        hmm: bool = True,
    ) -> None:
        """Configure; None picks the defaults (env var or search/data); pass () for no user dict."""
        if userdict is None:
            env = os.environ.get(USERDICT_PATH_ENV)
            userdict = env if env else DEFAULT_USERDICT_PATH
        if isinstance(userdict, str | os.PathLike):
            userdict = [userdict]
        self.userdict_paths: tuple[Path, ...] = tuple(Path(p) for p in userdict)
        self._synonyms_source = synonyms
        self.stopwords: frozenset[str] = STOPWORDS if stopwords is None else frozenset(normalize(w) for w in stopwords)
        self.drop_stopwords = drop_stopwords
        self.index_unigrams = index_unigrams
        self.hmm = hmm
        self._lock = threading.RLock()
        self._jieba: Any = None
        self._synonyms: SynonymTable | None = None
        self._document_cache: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
        self._short_cache: dict[str, tuple[tuple[str, int], ...]] = {}
        self.load_seconds: float | None = None

    # -- loading -------------------------------------------------------------------------------

    def _segmenter(self) -> Any:
        if self._jieba is not None:
            return self._jieba
        with self._lock:
            if self._jieba is None:
                import rjieba

                started = time.perf_counter()
                _CONVERTER.convert("載入")  # load the converter too, inside the measured warm-up
                jieba = rjieba.Jieba()
                for path in self.userdict_paths:
                    for word, freq, tag in _read_userdict(path):
                        jieba.add_word(word, freq, tag)
                self._jieba = jieba
                self.load_seconds = time.perf_counter() - started
                log.info("search analyzer dictionaries loaded in %.3fs", self.load_seconds)
        return self._jieba

    @property
    def synonyms(self) -> SynonymTable:
        """The synonym table, matched with this analyzer's query tokens."""
        if self._synonyms is not None:
            return self._synonyms
        with self._lock:
            if self._synonyms is None:
                source = self._synonyms_source
                table = source if isinstance(source, SynonymTable) else SynonymTable.load(source)
                if not table.has_tokenizer:
                    table = table.with_tokenizer(lambda text: self.tokenize(text, for_query=True))
                self._synonyms = table
        return self._synonyms

    def warm_up(self) -> float:
        """Load every dictionary now (e.g. at start-up); return the seconds it took."""
        started = time.perf_counter()
        self._segmenter()
        self.synonyms.expand(["预热"])
        return time.perf_counter() - started

    # -- analysis ------------------------------------------------------------------------------

    def normalize(self, text: str) -> str:
        """Same as the module-level normalize."""
        return normalize(text)

    def tokenize(self, text: str, *, for_query: bool = False) -> list[str]:
        """Normalise then segment: precise words for queries, search-style tokens for documents."""
        return self._segment(normalize(text), for_query=for_query)

    def _segment(self, text: str, *, for_query: bool) -> list[str]:
        pieces = _TOKEN_RE.findall(text) if text else []
        if not pieces:
            return []
        jieba = self._segmenter()
        han_runs = [han for han, _ in pieces if han]
        # One call for all Chinese runs of the text; "\n" comes back as the separator token.
        cut = iter(jieba.cut("\n".join(han_runs), self.hmm) if han_runs else ())
        out: list[str] = []
        for han, word in pieces:
            if not han:
                out.extend(_word_tokens(word, for_query=for_query))
                continue
            for token in cut:
                if token == "\n":
                    break
                if len(token) > MAX_TOKEN_CHARS:
                    token = token[:MAX_TOKEN_CHARS]
                if for_query:
                    out.append(token)
                else:
                    out.extend(self._document_tokens(jieba, token))
        return out

    def _document_tokens(self, jieba: Any, word: str) -> tuple[str, ...]:
        """A word's dictionary sub-words, its characters (if enabled), then the word itself."""
        return self._document_entry(jieba, word)[0]

    def _document_entry(self, jieba: Any, word: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """A word's document tokens and where each starts inside the word."""
        cached = self._document_cache.get(word)
        if cached is not None:
            return cached
        tokens: list[str] = []
        offsets: list[int] = []
        size = len(word)
        if 2 < size <= _MAX_SUBWORD_SOURCE:
            for n in range(2, min(size - 1, _MAX_SUBWORD_CHARS) + 1):
                for i in range(size - n + 1):
                    gram = word[i : i + n]
                    if jieba.has_word(gram):
                        tokens.append(gram)
                        offsets.append(i)
        if self.index_unigrams and size > 1:
            tokens.extend(word)
            offsets.extend(range(size))
        tokens.append(word)
        offsets.append(0)
        result = (tuple(tokens), tuple(offsets))
        if len(self._document_cache) >= _DOCUMENT_CACHE_SIZE:
            self._document_cache.clear()
        self._document_cache[word] = result
        return result

    def analyze_document_positions(self, text: str) -> list[tuple[str, int]]:
        """The tokens of analyze_document, each with the offset in normalize(text) where it starts.

        Short texts (keywords, holder names, which recur from document to document) are analysed once.
        """
        if len(text) > _SHORT_TEXT_CHARS:
            return self._analyze_document_positions(text)
        cached = self._short_cache.get(text)
        if cached is None:
            cached = tuple(self._analyze_document_positions(text))
            if len(self._short_cache) >= _DOCUMENT_CACHE_SIZE:
                self._short_cache.clear()
            self._short_cache[text] = cached
        return list(cached)

    def _analyze_document_positions(self, text: str) -> list[tuple[str, int]]:
        norm = normalize(text)
        matches = list(_TOKEN_RE.finditer(norm)) if norm else []
        if not matches:
            return []
        jieba = self._segmenter()
        han_runs = [m.group("han") for m in matches if m.group("han")]
        cut = iter(jieba.cut("\n".join(han_runs), self.hmm) if han_runs else ())
        out: list[tuple[str, int]] = []
        for match in matches:
            start = match.start()
            if not match.group("han"):
                word = match.group("word")[:MAX_TOKEN_CHARS]
                parts = [p for p in _PART_SPLIT_RE.split(word) if p]
                if len(parts) > 1:
                    cursor = 0
                    for part in parts:
                        at = word.find(part, cursor)
                        out.append((part, start + at))
                        cursor = at + len(part)
                out.append((word, start))
                continue
            offset = start
            for token in cut:
                if token == "\n":
                    break
                word = token[:MAX_TOKEN_CHARS]
                tokens, relative = self._document_entry(jieba, word)
                out.extend((t, offset + r) for t, r in zip(tokens, relative, strict=True))
                offset += len(token)
        if self.drop_stopwords:
            out = [(t, o) for t, o in out if t not in self.stopwords]
        return out

    def decompose(self, word: str) -> tuple[str, ...]:
        """Shorter dictionary words that cover a Chinese word (empty if there are none).

        A query word the document side segmented differently (锂离子电池 cut as 锂离子 + 电池) still
        meets the document through these parts. Of the possible cuts the one with the fewest single
        characters wins, then the one with fewer parts, then the one with the longer last part
        (Chinese compounds end in their head word: 锂 + 电池 rather than 锂电 + 池).
        """
        norm = normalize(word)
        if _HAN_RUN_RE.fullmatch(norm) is None or len(norm) < 3 or len(norm) > _MAX_SUBWORD_SOURCE:
            return ()
        jieba = self._segmenter()
        size = len(norm)
        # best[i]: the best cut of norm[i:] as (single characters, parts, -last part length, cut)
        best: list[tuple[int, int, int, tuple[str, ...]] | None] = [None] * (size + 1)
        best[size] = (0, 0, 0, ())
        for i in range(size - 1, -1, -1):
            for n in range(1, min(size - i, _MAX_SUBWORD_CHARS) + 1):
                piece = norm[i : i + n]
                if n == size or (n > 1 and not jieba.has_word(piece)):
                    continue
                rest = best[i + n]
                if rest is None:
                    continue
                singles, count, last, cut = rest
                candidate = (singles + (n == 1), count + 1, last if cut else -n, (piece, *cut))
                current = best[i]
                if current is None or candidate[:3] < current[:3]:
                    best[i] = candidate
        found = best[0]
        if found is None or found[0] == found[1]:
            return ()
        return found[3]

    def analyze_document(self, text: str) -> list[str]:
        """Index tokens of a document (search-style segmentation)."""
        tokens = self.tokenize(text)
        if self.drop_stopwords:
            tokens = [t for t in tokens if t not in self.stopwords]
        return tokens

    def analyze_query(self, text: str) -> AnalyzedQuery:
        """Normalise and segment a query precisely, and expand it with synonyms."""
        norm = normalize(text)
        tokens = tuple(self._segment(norm, for_query=True))
        distinct = tuple(dict.fromkeys(tokens))
        terms = tuple(t for t in distinct if t not in self.stopwords) or distinct
        groups = [g for g in self.synonyms.expand(tokens) if not (len(g) == 1 and g[0] in self.stopwords)]
        if not groups and tokens:
            groups = [[t] for t in distinct]
        alternatives = tuple(dict.fromkeys(tuple(g) for g in groups))
        return AnalyzedQuery(text=norm, tokens=tokens, terms=terms, alternatives=alternatives)

    def is_stopword(self, token: str) -> bool:
        """Whether token is one of this analyzer's stopwords."""
        return token in self.stopwords


_default_lock = threading.Lock()
_default_analyzer: Analyzer | None = None


def get_default_analyzer() -> Analyzer:
    """The process-wide analyzer with the default data files, created on first use."""
    global _default_analyzer
    analyzer = _default_analyzer
    if analyzer is None:
        with _default_lock:
            if _default_analyzer is None:
                _default_analyzer = Analyzer()
            analyzer = _default_analyzer
    return analyzer


def set_default_analyzer(analyzer: Analyzer | None) -> None:
    """Replace the process-wide analyzer (None: rebuild from the defaults on next use)."""
    global _default_analyzer
    with _default_lock:
        _default_analyzer = analyzer


def tokenize(text: str, *, for_query: bool = False) -> list[str]:
    """Normalise then segment text with the default analyzer."""
    return get_default_analyzer().tokenize(text, for_query=for_query)
