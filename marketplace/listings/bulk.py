"""Bulk import/export formats for listings: CSV (UTF-8, optional BOM) and JSON lines.

One row is one listing. Columns (the canonical name first; Chinese headers, simplified or
traditional, are accepted too, e.g. 成果名称 or 成果名稱 for title_zh):

    title_zh                  成果名称, 中文名称, 标题           required
    title_en                  英文名称
    summary                   摘要, 成果简介, 简介
    description               描述, 详细描述, 成果描述
    keywords                  关键词                              list, at most 10
    field_codes               领域, 技术领域, 领域代码             list of SEI 2018 codes, e.g. 1.5
    trl                       成熟度, 技术成熟度                   1-9 (required)
    achievement_type          成果类型                            applied_technology | basic_research | soft_science
    inventors                 完成人, 发明人                      list of names
    trade_modes               交易方式                            list: transfer, exclusive_licence, sole_licence,
                                                                  non_exclusive_licence, equity_investment,
                                                                  co_development, technical_service (required)
    pricing_kind              定价方式, 价格类型                   fixed | range | negotiable | auction (required)
    price_fen                 价格, 固定价格                      fen (integer); fixed pricing
    min_fen / max_fen         最低价 / 最高价                     fen; range pricing
    start_price_fen           起拍价                              fen; auction
    increment_fen             加价幅度                            fen; auction
    reserve_fen               保留价                              fen; auction (optional, >= start)
    deposit_fen               保证金                              fen; auction (optional)
    region_code               地区代码, 行政区划代码, 所在地区      6-digit GB/T 2260 code (required)
    holder_state_funded       国有资金, 是否财政资助               true/false, 是/否, 1/0
    contact_name              联系人
    contact_phone             联系电话, 电话
    contact_email             电子邮箱, 邮箱
    confidential_description  保密内容, 保密描述
    nda_text                  保密协议
    ip_assets                 知识产权                            JSON array of objects with type, number, title,
                                                                  holder, filing_date, grant_date, expiry_date,
                                                                  legal_status (in JSON lines: the array itself)

Lists in CSV cells are separated by ; ； 、 | or a comma (in JSON lines: arrays). Enumerated values
may also be given in Chinese (转让, 独占许可, 面议, 拍卖, 应用技术 ...). Numeric cells may use
full-width digits (１２３), thousands separators and spaces. Unknown columns are an error.
Every row is validated; one bad row means nothing is imported and every problem is reported
with its row number (1 = the first data row), column and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import ValidationError

from marketplace.listings.models import Listing, ListingIPAsset
from marketplace.listings.schemas import AMOUNT_FIELDS, ListingCreate

CSV = "csv"
JSONL = "jsonl"
FORMATS = (CSV, JSONL)
MEDIA_TYPES = {CSV: "text/csv", JSONL: "application/x-ndjson"}
MAX_ROWS = 100_000
MAX_REPORTED_PROBLEMS = 1000

LIST_FIELDS = ("keywords", "field_codes", "inventors", "trade_modes")
INT_FIELDS = ("trl", *AMOUNT_FIELDS)
CODE_FIELDS = ("region_code", "achievement_type", "pricing_kind")
COLUMNS: tuple[str, ...] = (
    "title_zh",
    "title_en",
    "summary",
    "description",
    "keywords",
    "field_codes",
    "trl",
    "achievement_type",
    "inventors",
    "trade_modes",
    "pricing_kind",
    *AMOUNT_FIELDS,
    "region_code",
    "holder_state_funded",
    "contact_name",
    "contact_phone",
    "contact_email",
    "confidential_description",
    "nda_text",
    "ip_assets",
)

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "title_zh": ("成果名称", "中文名称", "标题", "名称", "成果标题"),
    "title_en": ("英文名称", "英文标题"),
    "summary": ("摘要", "成果简介", "简介"),
    "description": ("描述", "详细描述", "成果描述", "成果介绍"),
    "keywords": ("关键词", "关键字"),
    "field_codes": ("领域", "技术领域", "领域代码", "所属领域"),
    "trl": ("成熟度", "技术成熟度", "成熟度等级"),
    "achievement_type": ("成果类型",),
    "inventors": ("完成人", "发明人", "成果完成人"),
    "trade_modes": ("交易方式", "转化方式"),
    "pricing_kind": ("定价方式", "价格类型", "报价方式"),
    "price_fen": ("价格", "固定价格", "价格分", "价格(分)"),
    "min_fen": ("最低价", "最低价格", "最低价(分)"),
    "max_fen": ("最高价", "最高价格", "最高价(分)"),
    "start_price_fen": ("起拍价", "起拍价(分)"),
    "increment_fen": ("加价幅度", "加价幅度(分)"),
    "reserve_fen": ("保留价", "保留价(分)"),
    "deposit_fen": ("保证金", "保证金(分)"),
    "region_code": ("地区代码", "行政区划代码", "所在地区", "地区"),
    "holder_state_funded": ("国有资金", "是否财政资助", "财政资助"),
    "contact_name": ("联系人",),
    "contact_phone": ("联系电话", "电话"),
    "contact_email": ("电子邮箱", "邮箱"),
    "confidential_description": ("保密内容", "保密描述"),
    "nda_text": ("保密协议",),
    "ip_assets": ("知识产权",),
}

_VALUE_ALIASES: dict[str, str] = {
    # trade modes
    "转让": "transfer",
    "技术转让": "transfer",
    "专利转让": "transfer",
    "独占许可": "exclusive_licence",
    "排他许可": "sole_licence",
    "普通许可": "non_exclusive_licence",
    "许可": "non_exclusive_licence",
    "作价投资": "equity_investment",
    "作价入股": "equity_investment",
    "技术开发": "co_development",
    "合作开发": "co_development",
    "技术服务": "technical_service",
    "技术咨询": "technical_service",
    # achievement types
    "应用技术": "applied_technology",
    "应用技术成果": "applied_technology",
    "基础研究": "basic_research",
    "基础理论": "basic_research",
    "软科学": "soft_science",
    # pricing kinds
    "固定价格": "fixed",
    "一口价": "fixed",
    "区间": "range",
    "价格区间": "range",
    "面议": "negotiable",
    "拍卖": "auction",
    "竞价": "auction",
    # spelling variants
    "exclusive_license": "exclusive_licence",
    "sole_license": "sole_licence",
    "non_exclusive_license": "non_exclusive_licence",
}

# Traditional -> simplified for the characters of the headers and values above.
_TRAD_TO_SIMP = str.maketrans(
    {
        "稱": "称",
        "題": "题",
        "簡": "简",
        "詳": "详",
        "細": "细",
        "紹": "绍",
        "關": "关",
        "鍵": "键",
        "詞": "词",
        "領": "领",
        "術": "术",
        "屬": "属",
        "熟": "熟",
        "級": "级",
        "類": "类",
        "發": "发",
        "轉": "转",
        "讓": "让",
        "價": "价",
        "報": "报",
        "證": "证",
        "區": "区",
        "碼": "码",
        "劃": "划",
        "國": "国",
        "資": "资",
        "財": "财",
        "聯": "联",
        "繫": "系",
        "係": "系",
        "絡": "络",
        "電": "电",
        "話": "话",
        "郵": "邮",
        "內": "内",
        "協": "协",
        "議": "议",
        "識": "识",
        "產": "产",
        "權": "权",
        "獨": "独",
        "佔": "占",
        "許": "许",
        "開": "开",
        "務": "务",
        "詢": "询",
        "應": "应",
        "礎": "础",
        "軟": "软",
        "學": "学",
        "間": "间",
        "賣": "卖",
        "競": "竞",
        "專": "专",
        "譯": "译",
        "標": "标",
        "範": "范",
    }
)
_SEPARATORS_RE = re.compile(r"[;；、|,，]")
_NUMBER_NOISE_RE = re.compile(r"[\s,_']")
_TRUE = {"true", "1", "yes", "y", "是", "有", "t"}
_FALSE = {"false", "0", "no", "n", "否", "无", "f", ""}


def _fold(text: str) -> str:
    """Full-width to ASCII, traditional to simplified, no spaces, lower case: the key for lookups."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRAD_TO_SIMP)
    return re.sub(r"[\s_\-]+", "", folded).lower()


def _fold_value(text: str) -> str:
    """Full-width to ASCII, traditional to simplified, trimmed, lower case, words joined by '_'."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRAD_TO_SIMP).strip().lower()
    return re.sub(r"[\s\-]+", "_", folded)


def _build_header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for name in COLUMNS:
        index[_fold(name)] = name
    for name, aliases in _HEADER_ALIASES.items():
        for alias in aliases:
            index[_fold(alias)] = name
    return index


_HEADER_INDEX = _build_header_index()
_VALUE_INDEX = {_fold_value(k): v for k, v in _VALUE_ALIASES.items()}


def canonical_column(header: str) -> str | None:
    """The column a header names (canonical, Chinese or traditional Chinese), or None."""
    return _HEADER_INDEX.get(_fold(header.lstrip("\ufeff")))


def _code(value: str) -> str:
    folded = _fold_value(value)
    return _VALUE_INDEX.get(folded, folded)


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem of one row: row number (1 = first data row; 0 = the header), column, what is wrong."""

    row: int
    field: str
    problem: str
    column: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The shape used in error reports."""
        out: dict[str, Any] = {"row": self.row, "field": self.field, "problem": self.problem}
        if self.column is not None and self.column != self.field:
            out["column"] = self.column
        return out


@dataclass(slots=True)
class RawRow:
    """One row as read: its number, its cells by canonical column, and the headers they came from."""

    number: int
    cells: dict[str, Any]
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ParsedFile:
    """The rows of a file, or the problems that stop it being read at all."""

    rows: list[RawRow]
    problems: list[RowProblem]


def detect_format(*, content_type: str | None, filename: str | None) -> str | None:
    """csv or jsonl from a media type or a file extension; None when neither says."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media in ("text/csv", "application/csv"):
        return CSV
    if media in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines"):
        return JSONL
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return CSV
    if name.endswith((".jsonl", ".ndjson")):
        return JSONL
    return None


def _decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets saved on Chinese Windows default to GB 18030 (a superset of GBK/GB2312).
        return content.decode("gb18030")


def parse(content: bytes, fmt: str) -> ParsedFile:
    """Read a CSV or JSON-lines file into raw rows keyed by canonical column."""
    try:
        text = _decode(content)
    except UnicodeDecodeError:
        return ParsedFile([], [RowProblem(0, "file", "not UTF-8 or GB 18030 text")])
    if fmt == CSV:
        return _parse_csv(text)
    return _parse_jsonl(text)


def _map_headers(headers: Sequence[str]) -> tuple[dict[str, str], list[RowProblem]]:
    """Header label -> canonical column, with problems for unknown and repeated columns."""
    mapping: dict[str, str] = {}
    seen: dict[str, str] = {}
    problems: list[RowProblem] = []
    for label in headers:
        if label is None or not str(label).strip():
            continue
        label = str(label).strip().lstrip("\ufeff")
        name = canonical_column(label)
        if name is None:
            problems.append(RowProblem(0, label, "unknown column (see the documented columns)", label))
            continue
        if name in seen:
            problems.append(RowProblem(0, name, f"given twice (as {seen[name]!r} and {label!r})", label))
            continue
        seen[name] = label
        mapping[label] = name
    if "title_zh" not in seen:
        problems.append(RowProblem(0, "title_zh", "the file has no title_zh (成果名称) column"))
    return mapping, problems


def _parse_csv(text: str) -> ParsedFile:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        headers = next(reader)
    except StopIteration:
        return ParsedFile([], [RowProblem(0, "file", "the file is empty")])
    except csv.Error as exc:
        return ParsedFile([], [RowProblem(0, "file", f"not valid CSV: {exc}")])
    mapping, problems = _map_headers(headers)
    if problems:
        return ParsedFile([], problems)
    labels = [str(h).strip().lstrip("\ufeff") if h is not None else "" for h in headers]
    rows: list[RawRow] = []
    number = 0
    try:
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # blank lines (often at the end of spreadsheet exports)
            number += 1
            if number > MAX_ROWS:
                return ParsedFile([], [RowProblem(number, "file", f"at most {MAX_ROWS} rows per import")])
            if len(record) > len(labels):
                problems.append(RowProblem(number, "row", f"{len(record)} cells but {len(labels)} columns"))
                continue
            cells: dict[str, Any] = {}
            row_labels: dict[str, str] = {}
            for label, cell in zip(labels, record, strict=False):
                name = mapping.get(label)
                if name is not None:
                    cells[name] = cell
                    row_labels[name] = label
            rows.append(RawRow(number, cells, row_labels))
    except csv.Error as exc:
        problems.append(RowProblem(number + 1, "row", f"not valid CSV: {exc}"))
    return ParsedFile(rows, problems)


def _parse_jsonl(text: str) -> ParsedFile:
    rows: list[RawRow] = []
    problems: list[RowProblem] = []
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        if number > MAX_ROWS:
            return ParsedFile([], [RowProblem(number, "file", f"at most {MAX_ROWS} rows per import")])
        try:
            obj = json.loads(line)
        except ValueError as exc:
            problems.append(RowProblem(number, "row", f"not valid JSON: {exc.args[0] if exc.args else exc}"))
            continue
        if not isinstance(obj, dict):
            problems.append(RowProblem(number, "row", "each line must be a JSON object"))
            continue
        cells: dict[str, Any] = {}
        labels: dict[str, str] = {}
        for key, value in obj.items():
            name = canonical_column(str(key))
            if name is None:
                problems.append(RowProblem(number, str(key), "unknown column (see the documented columns)", str(key)))
                continue
            if name in cells:
                problems.append(RowProblem(number, name, "given twice", str(key)))
                continue
            cells[name] = value
            labels[name] = str(key)
        rows.append(RawRow(number, cells, labels))
    if number == 0:
        problems.append(RowProblem(0, "file", "the file is empty"))
    return ParsedFile(rows, problems)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _as_int(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _NUMBER_NOISE_RE.sub("", unicodedata.normalize("NFKC", str(value)))
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"{value!r} is not a whole number")
    return int(text)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    folded = _fold(str(value))
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError(f"{value!r} is not yes/no (true/false, 是/否, 1/0)")


def _as_list(value: Any, *, codes: bool) -> list[Any]:
    items = value if isinstance(value, list) else _SEPARATORS_RE.split(str(value))
    out = []
    for item in items:
        if _blank(item):
            continue
        text = str(item).strip()
        out.append(_code(text) if codes else text)
    return out


def _as_assets(value: Any) -> Any:
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(str(value))
    except ValueError as exc:
        raise ValueError("must be a JSON array of IP assets") from exc
    if not isinstance(parsed, list):
        raise ValueError("must be a JSON array of IP assets")
    return parsed


def _coerce(name: str, value: Any) -> Any:
    """One cell in the shape ListingCreate expects (folded digits, split lists, mapped Chinese values)."""
    if name in INT_FIELDS:
        return _as_int(value)
    if name == "holder_state_funded":
        return _as_bool(value)
    if name in LIST_FIELDS:
        return _as_list(value, codes=name in ("trade_modes", "field_codes"))
    if name in CODE_FIELDS:
        return unicodedata.normalize("NFKC", str(value)).strip() if name == "region_code" else _code(str(value))
    if name == "ip_assets":
        return _as_assets(value)
    return value if not isinstance(value, str) else value.strip()


def _pointer_field(loc: Sequence[Any]) -> str:
    """The column a pydantic error location belongs to (pricing amounts are their own columns)."""
    if not loc:
        return "row"
    head = str(loc[0])
    if head == "pricing":
        if len(loc) > 1:
            sub = str(loc[1])
            return "pricing_kind" if sub == "kind" else sub
        return "pricing_kind"
    return head


def to_listing(raw: RawRow) -> tuple[ListingCreate | None, list[RowProblem]]:
    """Validate one raw row as a listing; the listing, or every problem of the row."""
    problems: list[RowProblem] = []
    data: dict[str, Any] = {}
    pricing: dict[str, Any] = {}
    for name, value in raw.cells.items():
        if _blank(value) and name not in ("holder_state_funded",):
            continue
        try:
            coerced = _coerce(name, value)
        except ValueError as exc:
            problems.append(RowProblem(raw.number, name, str(exc), raw.labels.get(name)))
            continue
        if name == "pricing_kind":
            pricing["kind"] = coerced
        elif name in AMOUNT_FIELDS:
            pricing[name] = coerced
        else:
            data[name] = coerced
    if pricing or "pricing_kind" not in raw.cells:
        data["pricing"] = pricing
    bad_fields = {p.field for p in problems}
    try:
        listing = ListingCreate.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            name = _pointer_field(err["loc"])
            if name in bad_fields:
                continue
            message = str(err["msg"]).removeprefix("Value error, ")
            if err["type"] == "missing" and name == "pricing_kind":
                message = "required"
            detail = message
            if len(err["loc"]) > 1 and name == "ip_assets":
                detail = f"{'/'.join(str(p) for p in err['loc'][1:])}: {message}"
            problems.append(RowProblem(raw.number, name, detail, raw.labels.get(name)))
        return None, problems
    if problems:
        return None, problems
    return listing, []


def _export_value(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


def listing_record(listing: Listing, assets: Iterable[ListingIPAsset]) -> dict[str, Any]:
    """A listing as one export record keyed by canonical column (the shape import reads back)."""
    record: dict[str, Any] = {
        "title_zh": listing.title_zh,
        "title_en": listing.title_en,
        "summary": listing.summary,
        "description": listing.description,
        "keywords": list(listing.keywords),
        "field_codes": list(listing.field_codes),
        "trl": listing.trl,
        "achievement_type": str(listing.achievement_type),
        "inventors": list(listing.inventors),
        "trade_modes": [str(m) for m in listing.trade_modes],
        "pricing_kind": str(listing.pricing_kind),
    }
    for name in AMOUNT_FIELDS:
        record[name] = getattr(listing, name)
    record.update(
        {
            "region_code": listing.region_code,
            "holder_state_funded": listing.holder_state_funded,
            "contact_name": listing.contact_name,
            "contact_phone": listing.contact_phone,
            "contact_email": listing.contact_email,
            "confidential_description": listing.confidential_description,
            "nda_text": listing.nda_text,
            "ip_assets": [
                {
                    "type": str(a.type),
                    "number": a.number,
                    "title": a.title,
                    "holder": a.holder,
                    "filing_date": _export_value(a.filing_date),
                    "grant_date": _export_value(a.grant_date),
                    "expiry_date": _export_value(a.expiry_date),
                    "legal_status": str(a.legal_status),
                }
                for a in assets
            ],
        }
    )
    return record


def _csv_cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "ip_assets":
        return json.dumps(value, ensure_ascii=False, separators=(",", ":")) if value else ""
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write(records: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """Export records as CSV (with a BOM, so spreadsheets read the Chinese right) or JSON lines."""
    out = io.StringIO(newline="")
    if fmt == CSV:
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([_csv_cell(c, record.get(c)) for c in COLUMNS])
    else:
        for record in records:
            compact = {k: v for k, v in record.items() if v is not None and v != []}
            out.write(json.dumps(compact, ensure_ascii=False, separators=(",", ":")) + "\n")
    return out.getvalue()


def problems_of(parsed: ParsedFile, rows: Sequence[tuple[RawRow, list[RowProblem]]]) -> list[RowProblem]:
    """Every problem of a file, in row order."""
    out = list(parsed.problems)
    for _raw, row_problems in rows:
        out.extend(row_problems)
    return sorted(out, key=lambda p: p.row)
