"""Every query of the notifications domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.accounts.models import Role, User
from marketplace.notifications.models import Notification


class NotificationsRepository:
    """Reads and writes notifications; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def recipients(self, organization_ids: Sequence[uuid.UUID], roles: Sequence[Role]) -> Sequence[User]:
        """The active users of these organisations with one of these roles."""
        if not organization_ids or not roles:
            return []
        stmt = (
            select(User)
            .where(
                col(User.organization_id).in_(list(organization_ids)),
                col(User.role).in_(list(roles)),
                col(User.is_active).is_(True),
            )
            .order_by(col(User.id))
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
        """Insert notifications, skipping ones that exist for the same user, event and kind; the new ids."""
        if not rows:
            return []
        stmt: Any = (
            insert(Notification.__table__)  # type: ignore[attr-defined]
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["user_id", "event_id", "kind"])
            .returning(sa.literal_column("id"))
        )
        return [row[0] for row in (await self.session.execute(stmt)).all()]

    async def list_for_user(
        self, user_id: uuid.UUID, *, unread: bool | None, before: uuid.UUID | None, limit: int
    ) -> Sequence[Notification]:
        """A user's notifications, newest first, limit+1 rows."""
        stmt = select(Notification).where(Notification.user_id == user_id).order_by(col(Notification.id).desc())
        if unread is True:
            stmt = stmt.where(col(Notification.read_at).is_(None))
        elif unread is False:
            stmt = stmt.where(col(Notification.read_at).is_not(None))
        if before is not None:
            stmt = stmt.where(col(Notification.id) < before)
        return (await self.session.execute(stmt.limit(limit + 1))).scalars().all()

    async def count_unread(self, user_id: uuid.UUID) -> int:
        """How many unread notifications a user has."""
        stmt = sa.select(sa.func.count()).where(
            Notification.user_id == user_id,  # type: ignore[arg-type]
            col(Notification.read_at).is_(None),
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def get(self, notification_id: uuid.UUID) -> Notification | None:
        """One notification by id."""
        return await self.session.get(Notification, notification_id)

    async def with_user(self, notification_id: uuid.UUID) -> tuple[Notification, User] | None:
        """A notification and its user."""
        stmt = (
            select(Notification, User)
            .join(User, col(User.id) == col(Notification.user_id))
            .where(Notification.id == notification_id)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def mark_all_read(self, user_id: uuid.UUID, *, now: datetime) -> int:
        """Mark every unread notification of a user read; how many there were."""
        result = await self.session.execute(
            sa.update(Notification)
            .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))  # type: ignore[arg-type]
            .values(read_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def flush(self) -> None:
        """Write pending changes now."""
        await self.session.flush()
