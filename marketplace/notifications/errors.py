"""What can go wrong in the notifications domain."""

from __future__ import annotations

from marketplace.kit.errors import NotFound


class NotificationNotFound(NotFound):
    """No such notification for the caller."""

    title = "Notification not found"
