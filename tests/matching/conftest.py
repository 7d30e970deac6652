"""Matching test world: an institute with published listings, enterprises with demands, a broker agency."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from marketplace.accounts.models import OrganizationKind, Role
from marketplace.events.worker import Worker, WorkerConfig
from marketplace.matching import tasks as matching_tasks
from marketplace.search_api import tasks as search_tasks
from tests.catalogue import API, create_demand, published_listing
from tests.factories import Actor, Factory

KINDS = frozenset(
    {
        search_tasks.LISTING_KIND,
        search_tasks.DEMAND_KIND,
        search_tasks.ORGANIZATION_KIND,
        matching_tasks.FAN_OUT_KIND,
        matching_tasks.PROFILE_KIND,
    }
)


async def run_worker(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Run the outbox, the search jobs and the matching jobs, as the worker would."""
    return await Worker(sessionmaker, WorkerConfig(kinds=KINDS)).run_until_idle()


def fixed(fen: int) -> dict[str, Any]:
    """A fixed price."""
    return {"kind": "fixed", "price_fen": fen}


@dataclass
class World:
    institute: Actor
    institute_member: Actor
    platform: Actor
    enterprise: Actor
    enterprise_viewer: Actor
    other_enterprise: Actor
    agency: Actor
    other_agency: Actor
    client: httpx.AsyncClient

    async def listing(self, **overrides: Any) -> str:
        """A published listing of the institute; its id."""
        response = await published_listing(self.client, self.institute, self.platform, **overrides)
        return str(response.json()["id"])

    async def demand(self, by: Actor | None = None, **overrides: Any) -> str:
        """An open demand of the enterprise; its id."""
        response = await create_demand(self.client, by or self.enterprise, **overrides)
        return str(response.json()["id"])

    async def matches(self, demand_id: str, by: Actor | None = None, **params: Any) -> httpx.Response:
        """GET a demand's matches."""
        return await self.client.get(
            f"{API}/demands/{demand_id}/matches", params=params, headers=(by or self.enterprise).headers
        )


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
    institute = await factory.actor(kind=OrganizationKind.institute)
    enterprise = await factory.actor(kind=OrganizationKind.enterprise)
    return World(
        institute=institute,
        institute_member=await factory.actor(institute.organization, role=Role.member),
        platform=await factory.actor(kind=OrganizationKind.platform, role=Role.member),
        enterprise=enterprise,
        enterprise_viewer=await factory.actor(enterprise.organization, role=Role.viewer),
        other_enterprise=await factory.actor(kind=OrganizationKind.enterprise),
        agency=await factory.actor(kind=OrganizationKind.broker_agency),
        other_agency=await factory.actor(kind=OrganizationKind.broker_agency),
        client=client,
    )
