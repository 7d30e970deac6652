"""The worker's payments side: the ledger ports for deal timers, notification rules, Stripe jobs."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

import marketplace.payments.notifications  # noqa: F401  (registers the money notification rules)
from marketplace.events.jobs import job_handler
from marketplace.events.models import Job
from marketplace.payments.ports import install
from marketplace.payments.service import STRIPE_EVENT_JOB, STRIPE_PAYOUT_JOB, PaymentsService

install()  # deal timers (auto-accepted milestones, lapsed confirmations) post money too


@job_handler(STRIPE_EVENT_JOB)
async def process_stripe_event(session: AsyncSession, job: Job) -> None:
    """Apply a stored Stripe event; the posting and the event's processed mark commit with the job, once."""
    await PaymentsService(session).process_stripe_event(uuid.UUID(job.payload["event_row_id"]))


@job_handler(STRIPE_PAYOUT_JOB)
async def send_stripe_payout(session: AsyncSession, job: Job) -> None:
    """Make a recorded Stripe payout (refund or Connect transfer), idempotent by the payout's id."""
    await PaymentsService(session).send_stripe_payout(uuid.UUID(job.payload["payout_id"]))


KINDS = frozenset({STRIPE_EVENT_JOB, STRIPE_PAYOUT_JOB})
