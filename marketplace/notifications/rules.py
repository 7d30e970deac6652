"""Which events notify whom: a table of rules, one per (event type, notification kind); domains append theirs.

A domain that emits, say, `offer.received` adds in its own tasks module:

    register_rule(NotificationRule(
        event_type="offer.received",
        kind=NotificationKind.offer_received,
        title=lambda e: "收到新的报价",
        body=lambda e: f"报价金额 {e.payload['amount_fen'] / 100:.2f} 元",
        recipients=lambda e: [uuid.UUID(e.payload["seller_organization_id"])],
    ))
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from marketplace.accounts.models import Role
from marketplace.events.jobs import subscribe
from marketplace.notifications.models import NotificationKind

DISPATCH_KIND = "notifications.dispatch"


@dataclass(frozen=True, slots=True)
class EventView:
    """What a rule sees of an event."""

    id: uuid.UUID
    type: str
    organization_id: uuid.UUID | None
    audience: tuple[uuid.UUID, ...]
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    created_at: datetime


Text = Callable[[EventView], str]


@dataclass(frozen=True, slots=True)
class NotificationRule:
    """Turn events of one type into notifications of one kind for the active users of some organisations."""

    event_type: str
    kind: NotificationKind
    title: Text
    body: Text = field(default=lambda e: "")
    min_role: Role = Role.member
    # The organisations whose users are told; default: the event's audience. Never outside the audience.
    recipients: Callable[[EventView], Iterable[uuid.UUID]] | None = None
    email: bool = False

    def organizations(self, event: EventView) -> list[uuid.UUID]:
        """The organisations to notify: the rule's choice, kept within the event's audience."""
        if self.recipients is None:
            return list(event.audience)
        allowed = set(event.audience)
        return [org for org in dict.fromkeys(self.recipients(event)) if org in allowed]


_RULES: list[NotificationRule] = []


def register_rule(rule: NotificationRule) -> None:
    """Add a rule, and have the worker hand its event type to the notifications job."""
    if rule not in _RULES:
        _RULES.append(rule)
    subscribe(rule.event_type, DISPATCH_KIND)


def rules_for(event_type: str) -> list[NotificationRule]:
    """The rules that apply to an event type."""
    return [r for r in _RULES if r.event_type == event_type]


def _rejection(e: EventView) -> str:
    note = e.payload.get("note")
    return f"原因：{note}。请按说明修改资料后联系平台重新审核。" if note else "请联系平台了解原因。"


def _disabled(e: EventView) -> str:
    return f"{e.payload.get('url', '')}：{e.payload.get('detail', '')}。修复后在 Webhook 设置中重新启用。"


for _rule in (
    NotificationRule(
        event_type="organization.verified",
        kind=NotificationKind.organization_verified,
        title=lambda e: "机构认证已通过",
        body=lambda e: "贵机构已通过平台认证，现在可以发布科技成果和技术需求。",
        email=True,
    ),
    NotificationRule(
        event_type="organization.rejected",
        kind=NotificationKind.organization_rejected,
        title=lambda e: "机构认证未通过",
        body=_rejection,
        email=True,
    ),
    NotificationRule(
        event_type="webhook_endpoint.disabled",
        kind=NotificationKind.webhook_endpoint_disabled,
        title=lambda e: "Webhook 端点已停用",
        body=_disabled,
        min_role=Role.admin,
        email=True,
    ),
):
    register_rule(_rule)
