"""The worker's payments side: the ledger ports for deal timers, notification rules, provider event jobs."""

from __future__ import annotations

import marketplace.payments.notifications  # noqa: F401  (registers the money notification rules)
from marketplace.payments.ports import install

install()  # deal timers (auto-accepted milestones, lapsed confirmations) post money too
