"""Which deal events notify whom (the notifications domain's rule table, deal rows)."""

from __future__ import annotations

import uuid
from datetime import datetime

from marketplace.kit.workdays import CHINA_TZ
from marketplace.notifications.models import NotificationKind
from marketplace.notifications.rules import EventView, NotificationRule, register_rule


def _yuan(e: EventView, key: str = "price_fen") -> str:
    fen = e.payload.get(key)
    return f"{int(fen) / 100:,.2f} 元" if isinstance(fen, int) else ""


def _china_time(value: object) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "")
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _other_side_of_offer(e: EventView) -> list[uuid.UUID]:
    # The seller's organisation is the event's organisation; the buyer side is the rest of the audience.
    seller = e.organization_id
    if e.payload.get("side") == "buyer":
        return [seller] if seller else []
    return [org for org in e.audience if org != seller]


for _rule in (
    NotificationRule(
        event_type="deal.make_offer",
        kind=NotificationKind.offer_received,
        title=lambda e: "收到新的报价",
        body=lambda e: f"报价金额 {_yuan(e)}，请在有效期内答复。",
        recipients=_other_side_of_offer,
    ),
    NotificationRule(
        event_type="deal.file_objection",
        kind=NotificationKind.notice_objection,
        title=lambda e: "公示期间收到异议",
        body=lambda e: "平台将审查异议；审查结束前不能签订合同。",
    ),
    NotificationRule(
        event_type="deal.deliver_milestone",
        kind=NotificationKind.milestone_due,
        title=lambda e: "里程碑已交付，待验收",
        body=lambda e: "请在验收期内确认验收或提出争议；逾期将自动验收。",
        recipients=lambda e: [org for org in e.audience if org != e.organization_id],
    ),
    NotificationRule(
        event_type="auction.outbid",
        kind=NotificationKind.outbid,
        title=lambda e: "您的出价已被超过",
        body=lambda e: f"当前最高价 {_yuan(e, 'high_bid_fen')}，最低加价后 {_yuan(e, 'next_minimum_bid_fen')}。",
    ),
    NotificationRule(
        event_type="auction.closing_soon",
        kind=NotificationKind.auction_closing_soon,
        title=lambda e: "竞价即将结束",
        body=lambda e: f"结束时间 {_china_time(e.payload.get('ends_at'))}（北京时间）；临近结束时出价将顺延结束时间。",
        recipients=lambda e: [org for org in e.audience if org != e.organization_id],
    ),
    NotificationRule(
        event_type="deal.milestone_due",
        kind=NotificationKind.milestone_due,
        title=lambda e: f"里程碑即将到期：{e.payload.get('title', '')}",
        body=lambda e: f"到期日 {e.payload.get('due_date', '')}，金额 {_yuan(e, 'amount_fen')}；请按计划交付或付款。",
    ),
):
    register_rule(_rule)
