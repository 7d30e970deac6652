"""The operator dashboard as one self-contained HTML page: tables and inline SVG bar charts, no scripts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from marketplace.reports.schemas import CatalogueReport, ContractRegistrations, DealsReport

_COLOURS = ("#2f6fb3", "#e07b39", "#3f9b5a", "#b8433f", "#7a5bb5")
_STYLE = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:0;background:#f4f6f9;color:#222}
header{background:#1f3b5c;color:#fff;padding:14px 24px;display:flex;justify-content:space-between;align-items:center}
header h1{font-size:20px;margin:0} main{padding:16px 24px}
section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px #0002}
h2{font-size:17px;margin:4px 0 12px} .grid{display:flex;flex-wrap:wrap;gap:16px}
table{border-collapse:collapse;font-size:13px;margin:8px 0} th,td{border:1px solid #d5dbe3;padding:4px 8px}
th{background:#eef2f7} td.n{text-align:right;font-variant-numeric:tabular-nums}
.kpi{display:inline-block;margin-right:24px}.kpi b{font-size:22px;display:block}
.notes{font-size:12px;color:#555} form.period{display:inline} .err{color:#b8433f}
"""


def money(fen: int | None) -> str:
    """Fen as yuan with thousands separators (exact, no floats)."""
    if fen is None:
        return "—"
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def bar_chart(title: str, items: Sequence[tuple[str, int]], *, unit: str = "", money_values: bool = False) -> str:
    """A horizontal bar chart as inline SVG."""
    row, label_w, bar_w, top = 24, 170, 300, 28
    height = top + row * max(len(items), 1) + 8
    peak = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" '
        f'width="{label_w + bar_w + 130}" height="{height}" font-size="12">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 14}" fill="#888">本期无数据</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row
        width = round(bar_w * value / peak) if value > 0 else 0
        shown = money(value) if money_values else f"{value:,}"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label[:14])}</text>')
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{width}" height="{row - 7}" '
            f'fill="{_COLOURS[i % len(_COLOURS)]}"><title>{escape(label)}: {shown}{unit}</title></rect>'
        )
        parts.append(f'<text x="{label_w + width + 6}" y="{y + 15}">{shown}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if i >= numeric_from else ''}>{escape('' if c is None else str(c))}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body or '<tr><td>本期无数据</td></tr>'}</tbody></table>"


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>'
        f"<body>{body}</body></html>"
    )


def render_dashboard(catalogue: CatalogueReport, deals: DealsReport, registrations: ContractRegistrations) -> str:
    """The whole dashboard for one period."""
    p = catalogue.period
    t = deals.totals
    header = (
        "<header><h1>科技成果与知识产权交易平台 · 运营数据看板</h1>"
        f'<div><form class="period" method="get" action="/dashboard">'
        f'<input type="date" name="from" value="{p.from_date.isoformat()}"> 至 '
        f'<input type="date" name="to" value="{p.to_date.isoformat()}"> <button type="submit">查询</button></form> '
        '<form class="period" method="post" action="/dashboard/logout"><button type="submit">退出</button></form>'
        "</div></header>"
    )
    kpis = "".join(
        f'<span class="kpi">{escape(name)}<b>{escape(value)}</b></span>'
        for name, value in (
            ("发布成果", f"{catalogue.listings:,}"),
            ("新增需求", f"{catalogue.demands:,}"),
            ("新建洽谈", f"{t.opened:,}"),
            ("达成交易", f"{t.agreed:,}"),
            ("完成交易", f"{t.completed:,}"),
            ("成交额（元）", money(t.amount_fen)),
            ("技术交易额（元）", money(t.technology_fen)),
            (
                "发布至成交中位天数",
                "—" if deals.median_days_to_agreement is None else f"{deals.median_days_to_agreement}",
            ),
        )
    )
    catalogue_charts = "".join(
        (
            bar_chart("成果发布数 · 按领域", [(c.name_zh, c.listings) for c in catalogue.by_field]),
            bar_chart("需求数 · 按领域", [(c.name_zh, c.demands) for c in catalogue.by_field]),
            bar_chart(
                "成果发布数 · 按省份（前十）",
                sorted(((c.name_zh, c.listings) for c in catalogue.by_region), key=lambda x: -x[1])[:10],
            ),
            bar_chart("成果与需求 · 按月", [(c.code, c.listings + c.demands) for c in catalogue.by_month]),
        )
    )
    deal_charts = "".join(
        (
            bar_chart("成交额 · 按月", [(m.month, m.amount_fen) for m in deals.by_month], unit="元", money_values=True),
            bar_chart(
                "成交额 · 按领域",
                [(v.name_zh, v.amount_fen) for v in deals.value_by_field],
                unit="元",
                money_values=True,
            ),
            bar_chart(
                "成交额 · 按省份",
                [(v.name_zh, v.amount_fen) for v in deals.value_by_region],
                unit="元",
                money_values=True,
            ),
            bar_chart(
                "成交额 · 按交易方式",
                [(v.name_zh, v.amount_fen) for v in deals.value_by_trade_mode],
                unit="元",
                money_values=True,
            ),
        )
    )
    month_table = _table(
        ("月份", "新建洽谈", "达成", "完成", "取消", "签约合同", "成交额（元）", "技术交易额（元）"),
        [
            (
                m.month,
                m.opened,
                m.agreed,
                m.completed,
                m.cancelled,
                m.contracts,
                money(m.amount_fen),
                money(m.technology_fen),
            )
            for m in [*deals.by_month, t]
        ],
    )
    institutes = _table(
        ("高校院所", "统一社会信用代码", "完成交易", "成交额（元）", "技术交易额（元）"),
        [
            (i.name_zh, i.credit_code, i.deals, money(i.amount_fen), money(i.technology_fen))
            for i in deals.top_institutes
        ],
        numeric_from=2,
    )
    s = deals.auction_summary
    auctions = _table(
        ("竞价标的", "结果", "起拍价（元）", "成交价（元）", "出价次数", "溢价率"),
        [
            (
                a.title_zh,
                "成交" if a.final_price_fen is not None else "流拍",
                money(a.start_price_fen),
                money(a.final_price_fen),
                a.bids,
                "—" if a.premium_bps is None else f"{a.premium_bps / 100:.2f}%",
            )
            for a in deals.auctions
        ],
    )
    registrations_table = _table(
        ("合同类型", "项目名称", "卖方", "买方", "成交额（元）", "技术交易额（元）"),
        [
            (
                r.contract_type_zh,
                r.subject_name,
                r.seller_name,
                r.buyer_name,
                money(r.amount_fen),
                money(r.technology_fen),
            )
            for r in registrations.items[:50]
        ],
        numeric_from=4,
    )
    notes = "".join(f"<li>{escape(n)}</li>" for n in [*catalogue.notes, *deals.notes])
    body = (
        header
        + "<main>"
        + f"<section><h2>本期概览（{p.from_date.isoformat()} 至 {p.to_date.isoformat()}，北京时间）</h2>{kpis}</section>"
        + f'<section><h2>成果与需求</h2><div class="grid">{catalogue_charts}</div></section>'
        + f'<section><h2>交易与成交额</h2><div class="grid">{deal_charts}</div>{month_table}</section>'
        + f"<section><h2>高校院所成交排行</h2>{institutes}</section>"
        + f"<section><h2>电子竞价结果</h2><p>结束 {s.ended} 场，成交 {s.sold} 场，流拍 {s.unsold} 场；"
        + f"成交标的起拍价合计 {money(s.start_price_fen)} 元，成交价合计 {money(s.final_price_fen)} 元。</p>"
        + f"{auctions}</section>"
        + f"<section><h2>技术合同认定登记（本期完成 {len(registrations.items)} 份）</h2>{registrations_table}"
        + "<p>完整导出：/api/v1/reports/contract-registrations?format=csv</p></section>"
        + f'<section class="notes"><h2>口径说明</h2><ul>{notes}</ul></section>'
        + "</main>"
    )
    return _page("运营数据看板", body)


def render_login(*, error: str | None = None) -> str:
    """The sign-in form: the key is posted, never put in a URL."""
    message = f'<p class="err">{escape(error)}</p>' if error else ""
    body = (
        "<header><h1>科技成果与知识产权交易平台 · 运营数据看板</h1></header><main><section>"
        "<h2>登录</h2><p>请输入平台运营方用户的 API 密钥。</p>"
        f'{message}<form method="post" action="/dashboard/login" autocomplete="off">'
        '<input type="password" name="key" size="60" required autofocus> <button type="submit">登录</button>'
        "</form></section></main>"
    )
    return _page("登录 · 运营数据看板", body)


def render_problem(title: str, detail: str) -> str:
    """An error page with a way back to the sign-in form."""
    body = (
        f"<header><h1>科技成果与知识产权交易平台 · 运营数据看板</h1></header><main><section><h2>{escape(title)}</h2>"
        f'<p>{escape(detail)}</p><p><a href="/dashboard/login">重新登录</a></p></section></main>'
    )
    return _page(title, body)
