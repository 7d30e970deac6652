"""The worker's matching jobs: new-match fan-out on listing events, demand match profiles on demand events.

Both re-read the listing or demand, so events may arrive twice or out of order; the fan-out announces
each (listing, demand or saved search) pair once, whatever happens later.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

import marketplace.matching.catalog
import marketplace.matching.notifications  # noqa: F401  (registers the notification rules)
from marketplace.events.jobs import job_handler, subscribe
from marketplace.events.models import Job
from marketplace.matching.service import MatchingService
from marketplace.search_api.service import IndexSync
from search.config import SearchSettings
from search.engine import SearchEngine, get_search_engine

FAN_OUT_KIND = "matching.fan_out"
PROFILE_KIND = "matching.demand_profile"

subscribe("listing.*", FAN_OUT_KIND)
subscribe("demand.*", PROFILE_KIND)

_POSTGRES = SearchEngine(SearchSettings(meilisearch_url=None))


def _subject(job: Job) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(job.payload.get("subject_id")))
    except ValueError:
        return None


@job_handler(FAN_OUT_KIND)
async def fan_out(session: AsyncSession, job: Job) -> None:
    """Announce the listing to the saved searches and open demands it newly fits."""
    listing_id = _subject(job)
    if listing_id is None:
        return
    if get_search_engine().name != "postgres":
        # Matching ranks on the PostgreSQL search tables; with another engine serving search they are kept here.
        await IndexSync(session, engine=_POSTGRES).listing(listing_id)
    await MatchingService(session).fan_out(listing_id)


@job_handler(PROFILE_KIND)
async def demand_profile(session: AsyncSession, job: Job) -> None:
    """Keep the demand's match profile (and, with another search engine, its PostgreSQL document) in step."""
    demand_id = _subject(job)
    if demand_id is None:
        return
    if get_search_engine().name != "postgres":
        await IndexSync(session, engine=_POSTGRES).demand(demand_id)
    await MatchingService(session).refresh_profile(demand_id)
