"""The worker's deal timers: one job kind per deadline of the process, each firing its system transition."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

import marketplace.deals.notifications  # noqa: F401  (registers the deal notification rules)
from marketplace.deals.process import DEADLINES, Deadline
from marketplace.deals.service import CLOSING_SOON_KIND, MILESTONE_DUE_KIND, DealsService
from marketplace.events.jobs import JobHandler, job_handler
from marketplace.events.models import Job


def deadline_handler(deadline: Deadline) -> JobHandler:
    """The job handler of one deadline: fire its transition if due, move it if its time moved, else nothing."""

    async def run(session: AsyncSession, job: Job) -> None:
        # Runs in the job's transaction: the transition's writes commit with the job's completion, once.
        await DealsService(session).run_deadline(deadline.name, job.payload)

    run.__name__ = f"run_{deadline.name}"
    return run


@job_handler(CLOSING_SOON_KIND)
async def remind_closing_soon(session: AsyncSession, job: Job) -> None:
    """An auction ends soon: tell its bidders (once per auction; nothing when it closed or was cancelled)."""
    await DealsService(session).remind_closing_soon(uuid.UUID(job.payload["auction_id"]))


@job_handler(MILESTONE_DUE_KIND)
async def remind_milestone_due(session: AsyncSession, job: Job) -> None:
    """A milestone falls due soon: tell both parties (nothing when it was delivered or the deal moved on)."""
    await DealsService(session).remind_milestone_due(
        uuid.UUID(job.payload["deal_id"]), uuid.UUID(job.payload["milestone_id"])
    )


HANDLERS = {d.kind: job_handler(d.kind)(deadline_handler(d)) for d in DEADLINES}
HANDLERS[CLOSING_SOON_KIND] = remind_closing_soon
HANDLERS[MILESTONE_DUE_KIND] = remind_milestone_due
KINDS = frozenset(HANDLERS)
