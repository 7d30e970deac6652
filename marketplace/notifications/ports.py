"""The e-mail port: notifications that matter outside the app are also mailed, through a sender behind this protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import structlog

log = structlog.get_logger("marketplace.notifications.email")


@dataclass(frozen=True, slots=True)
class EmailMessage:
    """One plain-text e-mail."""

    to: str
    subject: str
    text: str


class EmailSender(Protocol):
    """Sends e-mail; raises on failure so the job retries."""

    async def send(self, message: EmailMessage) -> None:
        """Send one message."""
        ...


class LogEmailSender:
    """The default: writes each message to the log instead of sending it (no mail server configured)."""

    async def send(self, message: EmailMessage) -> None:
        """Log the message."""
        log.info("email (log only)", to=message.to, subject=message.subject, text=message.text)


_sender: EmailSender = LogEmailSender()


def get_email_sender() -> EmailSender:
    """The e-mail sender in use."""
    return _sender


def set_email_sender(sender: EmailSender | None) -> None:
    """Install another sender (SMTP, a provider, a test recorder); None restores the log-only default."""
    global _sender
    _sender = sender or LogEmailSender()
