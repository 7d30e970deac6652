"""Which money events notify whom (the notifications domain's rule table, money rows)."""

from __future__ import annotations

from marketplace.notifications.models import NotificationKind
from marketplace.notifications.rules import EventView, NotificationRule, register_rule


def _yuan(e: EventView, key: str) -> str:
    fen = e.payload.get(key)
    return f"{int(fen) / 100:,.2f} 元" if isinstance(fen, int) else ""


def _body(e: EventView) -> str:
    text = f"收到款项 {_yuan(e, 'amount_fen')}（付款参考号 {e.payload.get('reference', '')}）。"
    if e.payload.get("remaining_fen"):
        text += f"尚欠 {_yuan(e, 'remaining_fen')}。"
    if e.payload.get("excess_fen"):
        text += f"多付 {_yuan(e, 'excess_fen')} 已计入可用余额。"
    return text


register_rule(
    NotificationRule(
        event_type="payment.received",
        kind=NotificationKind.payment_received,
        title=lambda e: "款项已到账",
        body=_body,
    )
)
