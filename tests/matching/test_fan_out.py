"""New-listing fan-out: match.found for each fitting saved search and open demand, once per pair, in one statement."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import marketplace.notifications.tasks  # noqa: F401  (the dispatch job's handler)
from marketplace.events.models import OutboxEvent
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.matching.models import MatchNotifiedPair, SavedSearch
from marketplace.matching.repository import MatchingRepository
from marketplace.matching.service import MatchingService, every_word_tsquery
from marketplace.notifications.models import Notification, NotificationKind
from marketplace.notifications.rules import DISPATCH_KIND
from tests.catalogue import API, listing_payload
from tests.matching.conftest import KINDS, World, fixed, run_worker

LISTING: dict[str, Any] = {
    "title_zh": "硫化物固态电池电解质量产工艺",
    "keywords": ["固态电池", "电解质"],
    "summary": "一种高离子电导率的硫化物固态电解质及其量产方法。",
    "field_codes": ["5.2"],
    "trl": 7,
    "trade_modes": ["transfer", "exclusive_licence"],
    "pricing": fixed(30_000_000),
    "region_code": "440300",
}


async def found_events(session: AsyncSession, listing_id: str) -> list[OutboxEvent]:
    rows = await session.execute(
        sa.select(OutboxEvent)
        .where(OutboxEvent.type == "match.found", OutboxEvent.subject_id == listing_id)  # type: ignore[arg-type]
        .order_by(OutboxEvent.created_at)  # type: ignore[arg-type]
    )
    return list(rows.scalars().all())


async def save(world: World, by: Any, **body: Any) -> str:
    response = await world.client.post(f"{API}/saved-searches", json={"name": "s", **body}, headers=by.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_published_listing_is_announced_to_what_it_fits_once(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    fits_search = await save(world, world.enterprise, q="固態電池", field_codes=["5"], trl_min=6)
    await save(world, world.enterprise, q="固态电池", trl_min=8)  # too mature a wish
    await save(world, world.agency, q="废水")
    await save(world, world.agency, q="电解质", price_max_fen=10_000_000)  # too cheap a wish
    await save(world, world.agency, q="电解质", trade_modes=["technical_service"])
    muted = await save(world, world.enterprise, q="固态电池", notify=False)
    fits_demand = await world.demand(
        by=world.other_enterprise,
        title="寻求固态电池电解质技术",
        field_codes=["5.2"],
        budget_max_fen=50_000_000,
        trade_modes=["transfer"],
        min_trl=6,
    )
    await world.demand(title="寻求固态电池电解质技术", field_codes=["5.2"], budget_max_fen=10_000_000)  # too poor
    await world.demand(title="寻求固态电池电解质技术", field_codes=["7.2"])  # another field
    await world.demand(title="寻求固态电池电解质技术", field_codes=["5.2"], trade_modes=["co_development"])
    await run_worker(sessionmaker)

    listing_id = await world.listing(**LISTING)
    await Worker(sessionmaker, WorkerConfig(kinds=KINDS | {DISPATCH_KIND})).run_until_idle()
    events = await found_events(session, listing_id)
    by_org = {e.organization_id: e.payload for e in events}
    assert set(by_org) == {world.enterprise.organization.id, world.other_enterprise.organization.id}
    assert by_org[world.enterprise.organization.id]["saved_search_ids"] == [fits_search]
    assert by_org[world.enterprise.organization.id]["demand_ids"] == []
    assert by_org[world.other_enterprise.organization.id]["demand_ids"] == [fits_demand]
    assert muted not in str(events)
    assert all(e.audience == [e.organization_id] for e in events)
    notes = await session.execute(
        sa.select(Notification).where(
            Notification.kind == NotificationKind.new_match,  # type: ignore[arg-type]
            Notification.subject_id == listing_id,  # type: ignore[arg-type]
        )
    )
    told = {n.organization_id for n in notes.scalars().all()}
    assert told == set(by_org)
    # The holder learns how many organisations' saved searches the listing fits, never which.
    seen = await world.client.get(f"{API}/listings/{listing_id}/matching-demands", headers=world.institute.headers)
    assert seen.status_code == 200 and seen.json()["saved_search_organizations"] == 1
    assert fits_search not in seen.text

    # Later events about the same listing announce nothing again.
    again = await MatchingService(session).fan_out(uuid.UUID(listing_id))
    assert again.pairs == 0
    assert len(await found_events(session, listing_id)) == 2
    # A saved search made afterwards gets its own announcement on the next event, and only it.
    late = await save(world, world.agency, q="固态电池")
    await session.flush()
    third = await MatchingService(session).fan_out(uuid.UUID(listing_id))
    assert (third.organizations, third.pairs) == (1, 1)
    events = await found_events(session, listing_id)
    assert len(events) == 3 and events[-1].payload["saved_search_ids"] == [late]
    pairs = await session.execute(
        sa.select(sa.func.count())
        .select_from(MatchNotifiedPair)
        .where(
            MatchNotifiedPair.listing_id == uuid.UUID(listing_id)  # type: ignore[arg-type]
        )
    )
    assert pairs.scalar_one() == 3


async def test_unpublished_listings_and_the_holders_own_searches_are_not_announced(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    await save(world, world.enterprise, q="固态电池")
    own = SavedSearch(organization_id=world.institute.organization.id, name="own", query="固态电池")
    session.add(own)
    await session.flush()
    await MatchingRepository(session).set_match_query(own.id, every_word_tsquery("固态电池"))
    draft = await world.client.post(
        f"{API}/listings",
        json=listing_payload(**LISTING),
        headers=world.institute.headers,
    )
    assert draft.status_code == 201
    await run_worker(sessionmaker)
    assert await found_events(session, draft.json()["id"]) == []
    published = await world.listing(**LISTING)
    await run_worker(sessionmaker)
    events = await found_events(session, published)
    assert [e.organization_id for e in events] == [world.enterprise.organization.id]


async def test_fan_out_is_one_statement_however_many_searches(
    world: World, session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    listing_id = await world.listing(**LISTING)
    await run_worker(sessionmaker)
    tsq = every_word_tsquery("固态电池")
    counts = []
    for n in (5, 400):
        org = world.enterprise.organization.id if n == 5 else world.other_enterprise.organization.id
        await session.execute(
            sa.text(
                "INSERT INTO saved_searches (id, organization_id, name, query, field_codes, trade_modes, ip_types,"
                " match_query, notify, created_at, updated_at)"
                " SELECT gen_random_uuid(), :org, 'bulk', '固态电池', '{}', '{}', '{}', CAST(:q AS tsquery), true,"
                " now(), now() FROM generate_series(1, :n)"
            ),
            {"org": org, "q": tsq, "n": n},
        )
        statements: list[str] = []
        sync_engine = (await session.connection()).sync_engine

        def count(*args: Any, into: list[str] = statements) -> None:
            into.append(str(args[2]))

        event.listen(sync_engine, "before_cursor_execute", count)
        try:
            result = await MatchingService(session).fan_out(uuid.UUID(listing_id))
            await session.flush()
        finally:
            event.remove(sync_engine, "before_cursor_execute", count)
        assert result.pairs == n
        counts.append(sum(1 for s in statements if "saved_searches" in s))
    assert counts == [1, 1]
