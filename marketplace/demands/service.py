"""The rules of the demands domain: enterprises post demands; they close, get fulfilled, or expire by deadline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.models import OrganizationKind
from marketplace.accounts.principal import Principal
from marketplace.demands import errors
from marketplace.demands.models import Demand, DemandStatus
from marketplace.demands.repository import DemandFilters, DemandsRepository
from marketplace.demands.schemas import DemandCreate, DemandUpdate
from marketplace.events.service import EventRecorder, diff_of
from marketplace.kit.errors import InvalidInput
from marketplace.kit.etag import check_if_match
from marketplace.kit.time import utcnow

# Deadlines are calendar days in China Standard Time (no daylight saving).
DEADLINE_TZ = timezone(timedelta(hours=8), "CST")
_FIELDS = (
    "title",
    "description",
    "field_codes",
    "budget_min_fen",
    "budget_max_fen",
    "trade_modes",
    "min_trl",
    "region_code",
    "deadline",
    "wants_broker_contact",
)
_NOT_NULL = frozenset({"title", "field_codes", "trade_modes", "wants_broker_contact"})


def today_at(now: datetime) -> date:
    """The calendar day in China at this instant."""
    return now.astimezone(DEADLINE_TZ).date()


def effective_status(demand: Demand, today: date) -> DemandStatus:
    """The status a reader sees: an open demand past its deadline is expired, whether or not the worker ran."""
    status = DemandStatus(demand.status)
    if status is DemandStatus.open and demand.deadline is not None and demand.deadline < today:
        return DemandStatus.expired
    return status


async def expire_due_demands(session: AsyncSession, now: datetime) -> int:
    """Mark every open demand past its deadline as expired, with audit and event; return how many."""
    expired = await DemandsRepository(session).expire_due(today=today_at(now), now=now)
    events = EventRecorder(session)
    for demand in expired:
        events.audit(
            actor=None,
            organization_id=demand.organization_id,
            action="demand.expired",
            target_type="demand",
            target_id=demand.id,
            diff={"status": [DemandStatus.open.value, DemandStatus.expired.value]},
        )
        events.emit(
            type="demand.expired",
            organization_id=demand.organization_id,
            subject_type="demand",
            subject_id=demand.id,
            payload={
                "id": demand.id,
                "organization_id": demand.organization_id,
                "status": DemandStatus.expired.value,
                "version": demand.version,
            },
        )
    return len(expired)


def _check_budget(low: int | None, high: int | None) -> None:
    if low is not None and high is not None and low > high:
        raise InvalidInput.field("/budget_max_fen", f"must be at least budget_min_fen ({low})")


def _check_deadline(deadline: date | None, today: date) -> None:
    if deadline is not None and deadline <= today:
        raise InvalidInput.field("/deadline", f"must be after today ({today.isoformat()}, China time)")


class DemandsService:
    """Demands: post, read, change while open, close, fulfil."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = DemandsRepository(session)
        self.events = EventRecorder(session)

    @staticmethod
    def today() -> date:
        """Today in China."""
        return today_at(utcnow())

    async def create(self, principal: Principal, data: DemandCreate) -> Demand:
        """Post a demand for the caller's enterprise."""
        if principal.organization_kind is not OrganizationKind.enterprise:
            raise errors.DemandOwnerKindNotAllowed("only enterprises post demands")
        if not principal.organization_verified:
            raise errors.OrganizationNotVerified("the platform verifies an enterprise before it posts demands")
        _check_budget(data.budget_min_fen, data.budget_max_fen)
        _check_deadline(data.deadline, self.today())
        demand = Demand(
            organization_id=principal.organization_id,
            created_by_user_id=principal.user_id,
            status=DemandStatus.open,
            title=data.title,
            description=data.description,
            field_codes=list(data.field_codes),
            budget_min_fen=data.budget_min_fen,
            budget_max_fen=data.budget_max_fen,
            trade_modes=[m.value for m in data.trade_modes],
            min_trl=data.min_trl,
            region_code=data.region_code,
            deadline=data.deadline,
            wants_broker_contact=data.wants_broker_contact,
        )
        await self.repo.add(demand)
        self._record(principal, demand, "demand.created", {"status": [None, "open"], "title": [None, demand.title]})
        return demand

    async def get(self, principal: Principal | None, demand_id: uuid.UUID) -> Demand:
        """A demand: open ones for anyone, others only for their organisation and the platform."""
        demand = await self.repo.get(demand_id)
        if demand is None or not self._may_see(principal, demand):
            raise errors.DemandNotFound()
        return demand

    def _may_see(self, principal: Principal | None, demand: Demand) -> bool:
        if principal is not None and (principal.is_platform or principal.organization_id == demand.organization_id):
            return True
        return effective_status(demand, self.today()) is DemandStatus.open

    async def browse(self, filters: DemandFilters, *, after: uuid.UUID | None, limit: int) -> Sequence[Demand]:
        """Open demands, newest first."""
        return await self.repo.list_open(filters, today=self.today(), after=after, limit=limit)

    async def list_own(
        self, principal: Principal, *, status: DemandStatus | None, after: uuid.UUID | None, limit: int
    ) -> Sequence[Demand]:
        """The caller's organisation's demands in any state."""
        return await self.repo.list_for_organization(
            principal.organization_id, status=status, today=self.today(), after=after, limit=limit
        )

    async def _owned_open_for_update(self, principal: Principal, demand_id: uuid.UUID, if_match: str | None) -> Demand:
        demand = await self.repo.get_for_update(demand_id)
        if demand is None:
            raise errors.DemandNotFound()
        if demand.organization_id != principal.organization_id:
            if self._may_see(principal, demand):
                raise errors.NotDemandOwner("only the demand's own organisation may change it")
            raise errors.DemandNotFound()
        check_if_match(if_match, current=demand.version)
        status = effective_status(demand, self.today())
        if status is not DemandStatus.open:
            raise errors.DemandNotOpen(f"the demand is {status.value}")
        return demand

    async def update(
        self, principal: Principal, demand_id: uuid.UUID, data: DemandUpdate, *, if_match: str | None
    ) -> Demand:
        """Change an open demand."""
        demand = await self._owned_open_for_update(principal, demand_id, if_match)
        changes = {k: getattr(data, k) for k in data.model_fields_set}
        for name in sorted(set(changes) & _NOT_NULL):
            if changes[name] is None:
                raise InvalidInput.field(f"/{name}", "cannot be null")
        _check_budget(
            changes.get("budget_min_fen", demand.budget_min_fen), changes.get("budget_max_fen", demand.budget_max_fen)
        )
        if "deadline" in changes:
            _check_deadline(changes["deadline"], self.today())
        before = {k: getattr(demand, k) for k in _FIELDS}
        for name, value in changes.items():
            if name == "trade_modes":
                value = [m.value for m in value]
            setattr(demand, name, value)
        diff = diff_of(before, {k: getattr(demand, k) for k in _FIELDS})
        if diff:
            demand.version += 1
            await self.repo.flush()
            self._record(principal, demand, "demand.updated", diff, payload={"fields": sorted(diff)})
        return demand

    async def close(self, principal: Principal, demand_id: uuid.UUID, *, if_match: str | None) -> Demand:
        """The enterprise no longer looks for this."""
        demand = await self._owned_open_for_update(principal, demand_id, if_match)
        demand.status = DemandStatus.closed
        demand.closed_at = utcnow()
        return await self._transitioned(principal, demand, "demand.closed")

    async def fulfil(self, principal: Principal, demand_id: uuid.UUID, *, if_match: str | None) -> Demand:
        """The enterprise found what it needed."""
        demand = await self._owned_open_for_update(principal, demand_id, if_match)
        demand.status = DemandStatus.fulfilled
        demand.fulfilled_at = utcnow()
        return await self._transitioned(principal, demand, "demand.fulfilled")

    async def _transitioned(self, principal: Principal, demand: Demand, event: str) -> Demand:
        demand.version += 1
        await self.repo.flush()
        self._record(principal, demand, event, {"status": [DemandStatus.open.value, demand.status]})
        return demand

    def _record(
        self,
        principal: Principal | None,
        demand: Demand,
        action: str,
        diff: dict[str, Any],
        *,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.events.record_change(
            actor=principal, subject_type="demand", subject=demand, action=action, diff=diff, payload=payload
        )
