"""Which matching events notify whom (the notifications domain's rule table, matching rows)."""

from __future__ import annotations

from marketplace.notifications.models import NotificationKind
from marketplace.notifications.rules import EventView, NotificationRule, register_rule


def _found_body(e: EventView) -> str:
    demands = len(e.payload.get("demand_ids") or [])
    searches = len(e.payload.get("saved_search_ids") or [])
    parts = []
    if demands:
        parts.append(f"{demands} 项技术需求")
    if searches:
        parts.append(f"{searches} 个订阅搜索")
    return f"新成果“{e.payload.get('listing_title', '')}”符合您的" + "和".join(parts or ["需求"]) + "。"


register_rule(
    NotificationRule(
        event_type="match.found",
        kind=NotificationKind.new_match,
        title=lambda e: "发现新的匹配成果",
        body=_found_body,
    )
)
