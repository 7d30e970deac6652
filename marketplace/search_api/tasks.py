"""The worker's search jobs: every listing.* / demand.* event brings that document in step with the database.

A job re-reads the listing or demand and indexes it if it is public (published / open) or removes it
otherwise, so events may arrive twice or out of order. Ranking statistics are recounted at most
once per STATS_INTERVAL per index, after a change.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.events.jobs import job_handler, schedule, subscribe
from marketplace.events.models import Job
from marketplace.kit.time import utcnow
from marketplace.search_api.service import IndexSync
from search.engine import get_search_engine
from search.settings import DEMANDS, INDEXES, LISTINGS

LISTING_KIND = "search.index_listing"
DEMAND_KIND = "search.index_demand"
ORGANIZATION_KIND = "search.index_organization"
STATS_KIND = "search.refresh_statistics"
STATS_INTERVAL = timedelta(minutes=10)

subscribe("listing.*", LISTING_KIND)
subscribe("demand.*", DEMAND_KIND)
subscribe("organization.*", ORGANIZATION_KIND)


def _subject(job: Job) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(job.payload.get("subject_id")))
    except ValueError:
        return None


async def _schedule_statistics(session: AsyncSession, index: str) -> None:
    """Recount the index's statistics at the end of the current interval (once, however many changes)."""
    now = utcnow()
    step = int(STATS_INTERVAL.total_seconds())
    bucket = int(now.timestamp()) // step + 1
    await schedule(
        session,
        kind=STATS_KIND,
        payload={"index": index},
        run_at=datetime.fromtimestamp(bucket * step, UTC),
        dedupe_key=f"{STATS_KIND}:{index}:{bucket}",
        max_attempts=3,
    )


@job_handler(LISTING_KIND)
async def index_listing(session: AsyncSession, job: Job) -> None:
    """Index or remove the listing the event is about."""
    listing_id = _subject(job)
    if listing_id is not None:
        await IndexSync(session).listing(listing_id)
        await _schedule_statistics(session, LISTINGS)


@job_handler(DEMAND_KIND)
async def index_demand(session: AsyncSession, job: Job) -> None:
    """Index or remove the demand the event is about."""
    demand_id = _subject(job)
    if demand_id is not None:
        await IndexSync(session).demand(demand_id)
        await _schedule_statistics(session, DEMANDS)


@job_handler(ORGANIZATION_KIND)
async def index_organization(session: AsyncSession, job: Job) -> None:
    """Re-index an organisation's public listings and demands (their documents carry its name)."""
    organization_id = _subject(job)
    if organization_id is not None:
        await IndexSync(session).organization(organization_id)


@job_handler(STATS_KIND)
async def refresh_statistics(session: AsyncSession, job: Job) -> None:
    """Recount term frequencies of one index (a no-op on engines that keep their own)."""
    index = str(job.payload.get("index"))
    if index in INDEXES:
        await get_search_engine().backend(session).refresh_statistics(index)
