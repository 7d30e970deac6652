"""The rules of the notifications domain: raising notifications from events, reading them, mailing them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import Role
from marketplace.accounts.principal import Principal
from marketplace.events.feed import EventFeedRepository
from marketplace.events.jobs import schedule
from marketplace.events.models import Job
from marketplace.kit.ids import uuid7
from marketplace.kit.time import utcnow
from marketplace.notifications import errors
from marketplace.notifications.models import Notification
from marketplace.notifications.ports import EmailMessage, get_email_sender
from marketplace.notifications.repository import NotificationsRepository
from marketplace.notifications.rules import EventView, rules_for

EMAIL_KIND = "notifications.email"


class NotificationsService:
    """The caller's notifications and their read state."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = NotificationsRepository(session)

    async def list_mine(
        self, principal: Principal, *, unread: bool | None, before: uuid.UUID | None, limit: int
    ) -> tuple[Sequence[Notification], int]:
        """The caller's notifications, newest first (limit+1 rows), and how many are unread."""
        rows = await self.repo.list_for_user(principal.user_id, unread=unread, before=before, limit=limit)
        return rows, await self.repo.count_unread(principal.user_id)

    async def mark_read(self, principal: Principal, notification_id: uuid.UUID) -> Notification:
        """Mark one of the caller's notifications read (idempotent)."""
        row = await self.repo.get(notification_id)
        if row is None or row.user_id != principal.user_id:
            raise errors.NotificationNotFound()
        if row.read_at is None:
            row.read_at = utcnow()
            await self.repo.flush()
        return row

    async def mark_all_read(self, principal: Principal) -> int:
        """Mark all of the caller's notifications read."""
        return await self.repo.mark_all_read(principal.user_id, now=utcnow())


def _roles_from(min_role: Role) -> list[Role]:
    return [r for r in Role if r.rank >= min_role.rank]


async def dispatch(session: AsyncSession, job: Job) -> None:
    """Job handler: raise the notifications an event calls for, once per user (a rerun adds nothing)."""
    event = await EventFeedRepository(session).get(uuid.UUID(job.payload["event_id"]))
    if event is None:
        return
    view = EventView(
        id=event.id,
        type=event.type,
        organization_id=event.organization_id,
        audience=tuple(event.audience),
        subject_type=event.subject_type,
        subject_id=event.subject_id,
        payload=dict(event.payload),
        created_at=event.created_at,
    )
    repo = NotificationsRepository(session)
    for rule in rules_for(event.type):
        users = await repo.recipients(rule.organizations(view), _roles_from(rule.min_role))
        if not users:
            continue
        title, body = rule.title(view)[:200], rule.body(view)[:2000]
        now = utcnow()
        created = await repo.insert_many(
            [
                {
                    "id": uuid7(),
                    "user_id": user.id,
                    "organization_id": user.organization_id,
                    "kind": rule.kind.value,
                    "title": title,
                    "body": body,
                    "subject_type": event.subject_type,
                    "subject_id": event.subject_id,
                    "event_id": event.id,
                    "data": view.payload,
                    "created_at": now,
                }
                for user in users
            ]
        )
        if rule.email:
            for notification_id in created:
                await schedule(
                    session,
                    kind=EMAIL_KIND,
                    payload={"notification_id": str(notification_id)},
                    dedupe_key=f"{EMAIL_KIND}:{notification_id}",
                )


async def send_email(session: AsyncSession, job: Job) -> None:
    """Job handler: mail one notification to its user (after the notification has committed)."""
    repo = NotificationsRepository(session)
    found = await repo.with_user(uuid.UUID(job.payload["notification_id"]))
    if found is None:
        return
    notification, user = found
    if notification.emailed_at is not None or not user.is_active:
        return
    await get_email_sender().send(EmailMessage(to=user.email, subject=notification.title, text=notification.body))
    notification.emailed_at = utcnow()
    await repo.flush()
