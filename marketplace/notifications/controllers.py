"""HTTP routes of the caller's notifications: thin, one service call each."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, QueryParameter

from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, page_by_id
from marketplace.notifications.schemas import NotificationPage, NotificationRead, ReadAllResult
from marketplace.notifications.service import NotificationsService
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import errors_for


class NotificationController(Controller):
    """In-app notifications of the calling user."""

    path = "/notifications"
    tags = ["notifications"]  # noqa: RUF012

    @get(
        "/",
        operation_id="listMyNotifications",
        summary="List the caller's notifications",
        description="Newest first, with the number unread. `unread=true` lists only unread ones.",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def list_mine(
        self,
        session: DbSession,
        principal: Caller,
        unread: Annotated[bool | None, QueryParameter(name="unread")] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> NotificationPage:
        """My notifications."""
        rows, unread_count = await NotificationsService(session).list_mine(
            principal, unread=unread, before=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return NotificationPage(
            items=[NotificationRead.model_validate(n) for n in items],
            next_cursor=next_cursor,
            unread_count=unread_count,
        )

    @post(
        "/{notification_id:uuid}/read",
        operation_id="markNotificationRead",
        summary="Mark a notification read",
        status_code=200,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def mark_read(
        self, session: DbSession, principal: Caller, notification_id: FromPath[uuid.UUID]
    ) -> NotificationRead:
        """Mark one read."""
        return NotificationRead.model_validate(
            await NotificationsService(session).mark_read(principal, notification_id)
        )

    @post(
        "/read-all",
        operation_id="markAllNotificationsRead",
        summary="Mark all of the caller's notifications read",
        status_code=200,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403),
    )
    async def mark_all_read(self, session: DbSession, principal: Caller) -> ReadAllResult:
        """Mark all read."""
        return ReadAllResult(marked=await NotificationsService(session).mark_all_read(principal))


CONTROLLERS = [NotificationController]
