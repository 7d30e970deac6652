"""The worker's notification jobs: raise notifications from events (the rules subscribe them), mail the ones that say so."""

from __future__ import annotations

from marketplace.events.jobs import job_handler
from marketplace.notifications.rules import DISPATCH_KIND
from marketplace.notifications.service import EMAIL_KIND, dispatch, send_email

job_handler(DISPATCH_KIND)(dispatch)
job_handler(EMAIL_KIND)(send_email)
