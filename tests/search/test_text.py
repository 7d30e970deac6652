"""Search text normalisation: traditional/simplified, width and case folding, segmentation, synonyms."""

from __future__ import annotations

import string
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search import text
from search.text import (
    DEFAULT_SYNONYMS_PATH,
    DEFAULT_USERDICT_PATH,
    MAX_TOKEN_CHARS,
    STOPWORDS,
    SYNONYMS_PATH_ENV,
    AnalyzedQuery,
    Analyzer,
    SynonymTable,
    get_default_analyzer,
    normalize,
    set_default_analyzer,
    tokenize,
)

PUNCTUATION = set(string.punctuation) | set("，。、；：？！“”‘’（）《》【】…—～·")


def userdict_terms() -> list[str]:
    lines = DEFAULT_USERDICT_PATH.read_text(encoding="utf-8").splitlines()
    return [line.split()[0] for line in lines if line.strip() and not line.startswith("#")]


def synonym_lines() -> list[str]:
    lines = DEFAULT_SYNONYMS_PATH.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


# --- traditional -> simplified ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("雷射", "激光"),
        ("軟體", "软件"),
        ("記憶體", "内存"),
        ("資料庫", "数据库"),
        ("網路", "网络"),
        ("晶片", "芯片"),
        ("伺服器", "服务器"),
        ("演算法", "算法"),
        ("奈米", "纳米"),
        ("積體電路", "集成电路"),
        ("人工智慧", "人工智能"),
        ("雲端運算", "云计算"),
        ("鋰離子電池", "锂离子电池"),
        ("臺灣", "台湾"),
        ("隨身碟", "u盘"),
    ],
)
def test_traditional_and_taiwan_vocabulary_become_simplified(traditional: str, simplified: str) -> None:
    assert normalize(traditional) == simplified


@pytest.mark.parametrize(
    "mainland",
    ["程序", "核心技术", "基因序列", "文件", "医学影像", "尼日利亚", "智慧城市", "什么", "著名", "方程式", "电子元件"],
)
def test_simplified_text_is_left_alone(mainland: str) -> None:
    # OpenCC's own tw2sp turns these into 进程, 内核技术, 基因串行, 文档, ... in simplified text.
    assert normalize(mainland) == mainland


def test_plain_t2s_is_the_fallback_without_the_phrase_file(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(text, "TW_PHRASES_PATH", tmp_path / "missing.txt")
    convert = text._build_opencc()
    assert convert("軟體") == "软体"  # characters only: the Taiwan vocabulary needs the phrase file
    assert convert("程序") == "程序"


def test_traditional_substring_false_matches_are_avoided() -> None:
    assert normalize("電子音樂") == "电子音乐"  # plain tw2sp gives 电辅音乐 (子音 -> 辅音)
    assert normalize("尼日利亞") == "尼日利亚"  # plain tw2sp gives 尼日尔利亚


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("本系統的軟體透過網路存取資料庫，記憶體佔用低。", "本系统的软件透过网络存取数据库，内存占用低。"),
        ("這款雷射雷達採用自主研發的晶片。", "这款激光雷达采用自主研发的芯片。"),
        ("鋰離子電池與氮化鎵功率元件的可靠性測試", "锂离子电池与氮化镓功率元件的可靠性测试"),
        ("我們開發了一套人工智慧演算法，在伺服器上執行。", "我们开发了一套人工智能算法，在服务器上运行。"),
        ("奈米材料與碳奈米管的製備方法", "纳米材料与碳纳米管的制备方法"),
        ("無人機搭載高解析度相機與硬碟", "无人机搭载高分辨率相机与硬盘"),
        ("雲端運算與邊緣運算平台", "云计算与边缘计算平台"),
    ],
)
def test_traditional_sentence_tokens_equal_simplified_twin(traditional: str, simplified: str) -> None:
    assert normalize(traditional) == normalize(simplified)
    assert tokenize(traditional) == tokenize(simplified)
    assert tokenize(traditional, for_query=True) == tokenize(simplified, for_query=True)


# --- width, case, whitespace, control characters ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ＡＢＣ１２３", "abc123"),
        ("Ｈｅｌｌｏ，　ＷＯＲＬＤ！", "hello, world!"),
        ("效率提升１２．５％", "效率提升12.5%"),
        ("（实施例１）：５Ｇ基站", "(实施例1):5g基站"),
        ("GaN ＭＯＳＦＥＴ", "gan mosfet"),
        ("Straße ÄÖÜ", "strasse äöü"),
        ("  多个\t\n空白　　折叠  ", "多个 空白 折叠"),
        ("H₂O 与 CO₂", "h2o 与 co2"),
        ("10² 与 10⁻⁶", "10^2 与 10^-6"),
        ("ﬁber ㎡", "fiber m2"),
        ("⼈工智能", "人工智能"),  # Kangxi radical folded by NFKC
    ],
)
def test_width_case_and_whitespace_folding(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_fullwidth_tokens_equal_halfwidth() -> None:
    assert tokenize("ＡＢＣ１２３") == ["abc123"]
    assert tokenize("５Ｇ基站", for_query=True) == tokenize("5G基站", for_query=True) == ["5g", "基站"]


def test_control_and_invisible_characters_are_dropped() -> None:
    assert normalize("a\x00b\x07c\x1bd") == "a b c d"
    assert normalize("锂\u200b电\u200d池\ufeff") == "锂电池"
    assert normalize("soft\u00adware") == "software"
    assert normalize("x\ud800y") == "xy"  # a lone surrogate cannot even be encoded
    assert normalize("雷\ufe00射") == "激光"


# --- segmentation -----------------------------------------------------------------------------


def test_latin_and_numbers_stay_whole() -> None:
    assert tokenize("5G基站", for_query=True) == ["5g", "基站"]
    assert set(tokenize("5G基站")) >= {"5g", "基站"}
    query = tokenize("锂离子电池GaN功率器件", for_query=True)
    assert "gan" in query
    assert "锂离子电池" in query
    assert "3.5" in tokenize("效率提升3.5倍", for_query=True)
    assert "3.5" in tokenize("效率提升3.5倍")
    assert tokenize("PM2.5 v1.2.3 C++ C#", for_query=True) == ["pm2.5", "v1.2.3", "c++", "c#"]


def test_hyphenated_compounds_stay_meaningful() -> None:
    document = tokenize("CRISPR-Cas9基因编辑")
    assert {"crispr-cas9", "crispr", "cas9", "基因编辑"} <= set(document)
    assert "-" not in document
    # Queries use the parts, so CRISPR-Cas9, CRISPR/Cas9 and "CRISPR Cas9" all meet the document.
    for query in ("CRISPR-Cas9", "CRISPR/Cas9", "crispr cas9"):
        assert tokenize(query, for_query=True) == ["crispr", "cas9"]
        assert set(tokenize(query, for_query=True)) <= set(document)


def test_documents_get_search_style_subwords() -> None:
    tokens = tokenize("中华人民共和国")
    assert {"中华", "华人", "人民", "共和", "共和国", "中华人民共和国"} <= set(tokens)
    assert tokenize("中华人民共和国", for_query=True) == ["中华人民共和国"]


def test_short_queries_hit_long_words() -> None:
    document = set(tokenize("钙钛矿太阳能电池的光电转换效率"))
    for query in ("钙钛矿", "太阳能电池", "太阳能", "电池", "光电", "转换效率", "钛"):
        assert set(tokenize(query, for_query=True)) <= document, query


def test_single_character_tokens_are_kept() -> None:
    assert tokenize("锂", for_query=True) == ["锂"]
    assert tokenize("锂") == ["锂"]
    assert "锂" in tokenize("高镍锂离子电池")
    without = Analyzer(index_unigrams=False)
    assert "锂" not in without.analyze_document("锂离子电池")
    assert without.analyze_document("锂离子电池")[-1] == "锂离子电池"


def test_whitespace_and_punctuation_never_become_tokens() -> None:
    sample = "本发明（专利号：ZL 2023 1 0123456.7）——一种“锂电池”！？ 《方法》、[装置]; a, b. c…"
    for for_query in (False, True):
        tokens = tokenize(sample, for_query=for_query)
        assert tokens
        assert all(t and t.strip() == t and " " not in t for t in tokens)
        assert not any(all(ch in PUNCTUATION for ch in t) for t in tokens)


def test_user_dictionary_has_domain_terms_kept_whole() -> None:
    terms = userdict_terms()
    assert len(terms) >= 100
    for term in ("锂离子电池", "钙钛矿", "固态电池", "无人机", "碳化硅", "氮化镓", "量子点", "基因编辑"):
        assert term in terms
    for term in ("大语言模型", "区块链", "边缘计算", "机器视觉", "激光雷达", "燃料电池"):
        assert tokenize(term, for_query=True) == [term]
    split = [t for t in terms if tokenize(t, for_query=True) != [normalize(t)]]
    assert split == []


def test_user_dictionary_can_be_replaced(tmp_path) -> None:
    custom = tmp_path / "userdict.txt"
    custom.write_text("# test\n柔性钙钛矿叠层\n", encoding="utf-8")
    analyzer = Analyzer(userdict=custom)
    assert analyzer.tokenize("柔性钙钛矿叠层", for_query=True) == ["柔性钙钛矿叠层"]
    assert Analyzer(userdict=()).tokenize("大语言模型", for_query=True) != ["大语言模型"]


def test_overlong_tokens_are_capped() -> None:
    tokens = tokenize("x" * 5000)
    assert tokens == ["x" * MAX_TOKEN_CHARS]


# --- stopwords --------------------------------------------------------------------------------


def test_stopwords_are_exposed_not_dropped_by_tokenize() -> None:
    assert {"的", "了", "和", "与", "及", "等", "一种", "基于"} <= STOPWORDS
    assert "的" in tokenize("锂电池的安全性", for_query=True)
    analyzer = Analyzer(drop_stopwords=True)
    assert "的" not in analyzer.analyze_document("锂电池的安全性")
    assert analyzer.is_stopword("基于")


# --- synonyms ---------------------------------------------------------------------------------


def alternatives_of(term: str) -> list[str]:
    groups = get_default_analyzer().synonyms.expand(tokenize(term, for_query=True))
    assert len(groups) == 1, groups
    return groups[0]


def test_synonym_file_is_big_enough() -> None:
    lines = synonym_lines()
    assert len(lines) >= 60
    assert all(len(line.split(",")) >= 2 for line in lines)
    assert len(get_default_analyzer().synonyms) == len(lines)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("锂离子电池", "锂电池"),
        ("无人机", "uav"),
        ("无人机", "drone"),
        ("人工智能", "ai"),
        ("人工智能", "artificial intelligence"),
        ("芯片", "集成电路"),
        ("芯片", "ic"),
        ("激光", "镭射"),
        ("新能源汽车", "电动汽车"),
        ("新能源汽车", "ev"),
        ("光伏", "太阳能电池"),
        ("光伏", "pv"),
    ],
)
def test_synonyms_expand_both_ways(one: str, other: str) -> None:
    assert other in alternatives_of(one)
    assert one in alternatives_of(other)


def test_multi_token_synonyms_merge_positions() -> None:
    synonyms = get_default_analyzer().synonyms
    groups = synonyms.expand(["artificial", "intelligence", "芯片", "测试"])
    assert groups[0][0] == "artificial intelligence"
    assert "人工智能" in groups[0]
    assert groups[1][0] == "芯片" and "chip" in groups[1]
    assert groups[2] == ["测试"]
    assert synonyms.expand([]) == []
    assert synonyms.expand(["UAV"])[0][:2] == ["uav", "无人机"]  # tokens are normalised first


def test_canonical() -> None:
    synonyms = get_default_analyzer().synonyms
    assert synonyms.canonical("UAV") == "无人机"
    assert synonyms.canonical("Artificial Intelligence") == "人工智能"
    assert synonyms.canonical("鋰電池") == "锂离子电池"
    assert synonyms.canonical("锂离子电池") == "锂离子电池"
    assert synonyms.canonical("Unknown Thing") == "unknown thing"


def test_synonyms_load_from_another_path(tmp_path, monkeypatch) -> None:
    path = tmp_path / "synonyms.txt"
    path.write_text("# comment\n\n钙钛矿，Perovskite，ＰＶＫ\n氫能,hydrogen energy\nlonely\n", encoding="utf-8")
    table = SynonymTable.load(path)
    assert table.groups == (("钙钛矿", "perovskite", "pvk"), ("氢能", "hydrogen energy"))
    analyzer = Analyzer(synonyms=table)
    assert analyzer.analyze_query("PVK").alternatives == (("pvk", "钙钛矿", "perovskite"),)
    assert analyzer.analyze_query("无人机").alternatives == (("无人机",),)
    assert Analyzer(synonyms=path).synonyms.canonical("Hydrogen Energy") == "氢能"
    monkeypatch.setenv(SYNONYMS_PATH_ENV, str(path))
    assert len(SynonymTable.load()) == 2


# --- analyzer ---------------------------------------------------------------------------------


def test_analyze_query() -> None:
    query = get_default_analyzer().analyze_query("基于ＡＩ的無人機雷射雷達")
    assert isinstance(query, AnalyzedQuery)
    assert query.text == "基于ai的无人机激光雷达"
    assert query.tokens == ("基于", "ai", "的", "无人机", "激光雷达")
    assert query.terms == ("ai", "无人机", "激光雷达")
    assert [g[0] for g in query.alternatives] == ["ai", "无人机", "激光雷达"]
    assert "人工智能" in query.alternatives[0]
    assert "uav" in query.alternatives[1]
    assert "lidar" in query.alternatives[2]
    assert not query.is_empty


def test_query_of_only_stopwords_still_searches() -> None:
    query = get_default_analyzer().analyze_query("的")
    assert query.terms == ("的",)
    assert query.alternatives == (("的",),)


def test_analyze_document_matches_tokenize() -> None:
    sample = "基于深度学习的锂离子电池健康状态估计方法"
    assert get_default_analyzer().analyze_document(sample) == tokenize(sample)


def test_dictionaries_load_lazily_once_across_threads() -> None:
    analyzer = Analyzer()
    assert analyzer.load_seconds is None
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def work() -> None:
        try:
            barrier.wait()
            results.append(analyzer.analyze_document("固态电池与钙钛矿"))
            analyzer.analyze_query("人工智能芯片")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert analyzer.load_seconds is not None and analyzer.load_seconds < 10
    assert analyzer.warm_up() < 1  # already loaded


def test_default_analyzer_can_be_replaced() -> None:
    original = get_default_analyzer()
    custom = Analyzer(userdict=(), synonyms=SynonymTable())
    try:
        set_default_analyzer(custom)
        assert text.get_default_analyzer() is custom
        assert tokenize("大语言模型", for_query=True) != ["大语言模型"]
    finally:
        set_default_analyzer(original)
    assert tokenize("大语言模型", for_query=True) == ["大语言模型"]


# --- robustness -------------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "\x00",
    "\ud83d",
    "😀🚀👨‍👩‍👧‍👦🇨🇳",
    "' OR 1=1 --",
    "'; DROP TABLE results; --",
    'price > 10 AND (tag = "x" OR id IN [1, 2]) AND NOT _geoRadius(1, 2, 3)',
    "title:锂电池 AND status != 'draft' OR year >= 2020",
    "%_\\*?~^:[]{}()<>!&|",
    "\u202e\u200f反转\u2066文本",
    "𠀀𪚥𰀀〇々",
    "한국어 日本語のテキスト Русский ελληνικά العربية हिन्दी",
    "锂" * 10_000,
    ("混合 Mixed ＦＵＬＬ 雷射 😀 3.5% CRISPR-Cas9 " * 300)[:10_000],
]


@pytest.mark.parametrize("sample", NASTY, ids=range(len(NASTY)))
def test_arbitrary_input_never_raises(sample: str) -> None:
    analyzer = get_default_analyzer()
    norm = normalize(sample)
    assert normalize(norm) == norm
    for tokens in (tokenize(sample), tokenize(sample, for_query=True), analyzer.analyze_document(sample)):
        assert all(t and not any(ch.isspace() for ch in t) for t in tokens)
        assert all(len(t) <= MAX_TOKEN_CHARS for t in tokens)
    analyzer.analyze_query(sample)


def test_non_string_input_is_tolerated() -> None:
    assert normalize(None) == ""  # type: ignore[arg-type]
    assert normalize("雷射".encode()) == "激光"  # type: ignore[arg-type]
    assert tokenize(None) == []  # type: ignore[arg-type]


def test_sql_and_filter_syntax_leave_only_words() -> None:
    assert tokenize("' OR 1=1 --", for_query=True) == ["or", "1", "1"]
    assert get_default_analyzer().analyze_query("' OR 1=1 --").terms == ("1",)


# Characters that exercise every branch: Chinese (both scripts), full-width, compatibility forms,
# combining marks, controls, surrogates, emoji, connectors and digits.
TRICKY = st.sampled_from(
    list("雷射軟體記憶體资料库乾隆么著锂电池中华人民共和国程式序列")
    + list("ＡＢＣ１２３，。　")
    + list("ﬁ²₂⁻㎡⼈Ⅳ①ǰİßΣς\u0345\u0307\u0301")
    + ["\x00", "\x1f", "\x85", "\u200b", "\u200d", "\ufeff", "\ufe0f", "\ud800", "\udfff", "😀", "\U000e0041"]
    + list("-._&+#/'\" \t\n")
    + list("aZ09")
)
ANY_TEXT = st.text(alphabet=st.one_of(TRICKY, st.characters(codec=None)), max_size=200)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
def test_property_normalize_idempotent_and_tokenize_total(sample: str) -> None:
    norm = normalize(sample)
    assert normalize(norm) == norm
    assert norm == norm.strip() and "  " not in norm
    document = tokenize(sample)
    query = tokenize(sample, for_query=True)
    assert document == tokenize(norm)
    assert query == tokenize(norm, for_query=True)
    for tokens in (document, query):
        assert all(t and not any(ch.isspace() for ch in t) for t in tokens)
    assert set(query) <= set(document)  # whatever a query asks for, the same text indexed contains
    get_default_analyzer().analyze_query(sample)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=8))
def test_property_synonym_expansion_is_total(tokens: list[str]) -> None:
    groups = get_default_analyzer().synonyms.expand(tokens)
    assert all(group and all(group) for group in groups)
    assert len(groups) <= len(tokens)
