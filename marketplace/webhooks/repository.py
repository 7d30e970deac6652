"""Every query of the webhooks domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhooksRepository:
    """Reads and writes endpoints, deliveries and attempts; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: WebhookEndpoint | WebhookDelivery | WebhookAttempt) -> None:
        """Stage a row and flush it."""
        self.session.add(obj)
        await self.session.flush()

    def stage(self, obj: WebhookEndpoint | WebhookDelivery | WebhookAttempt) -> None:
        """Stage a row; it is written by the next flush (batched with others)."""
        self.session.add(obj)

    async def flush(self) -> None:
        """Write pending changes now."""
        await self.session.flush()

    # endpoints

    async def get_endpoint(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        """One endpoint by id, freshly read."""
        stmt = (
            select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id).execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def get_endpoint_for_update(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        """One endpoint, locked for the rest of the transaction and re-read."""
        stmt = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def generations_for_share(self, endpoint_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, int]]:
        """Endpoints' dispatch generations, share-locked (in id order) so a delivery run cannot end past them unseen."""
        if not endpoint_ids:
            return []
        stmt = (
            sa.select(WebhookEndpoint.id, WebhookEndpoint.dispatch_generation)  # type: ignore[call-overload]
            .where(col(WebhookEndpoint.id).in_(list(endpoint_ids)))
            .order_by(col(WebhookEndpoint.id))
            .with_for_update(read=True)
        )
        return [(row[0], int(row[1])) for row in (await self.session.execute(stmt)).all()]

    async def try_lock_run(self, endpoint_id: uuid.UUID) -> bool:
        """Take the endpoint's delivery-run lock for this transaction; False when another run holds it."""
        stmt = sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtextextended(f"webhooks.run:{endpoint_id}", 0)))
        return bool((await self.session.execute(stmt)).scalar_one())

    async def list_endpoints(
        self, organization_id: uuid.UUID, *, after: uuid.UUID | None, limit: int
    ) -> Sequence[WebhookEndpoint]:
        """An organisation's endpoints in id order, limit+1 rows."""
        stmt = (
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organization_id == organization_id)
            .order_by(col(WebhookEndpoint.id))
            .limit(limit + 1)
        )
        if after is not None:
            stmt = stmt.where(col(WebhookEndpoint.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_endpoints(self, organization_id: uuid.UUID) -> int:
        """How many endpoints an organisation has."""
        stmt = sa.select(sa.func.count()).where(WebhookEndpoint.organization_id == organization_id)  # type: ignore[arg-type]
        return int((await self.session.execute(stmt)).scalar_one())

    async def enabled_endpoints_of(self, organization_ids: Sequence[uuid.UUID]) -> Sequence[WebhookEndpoint]:
        """The enabled endpoints of these organisations, in id order."""
        stmt = (
            select(WebhookEndpoint)
            .where(col(WebhookEndpoint.organization_id).in_(list(organization_ids)), col(WebhookEndpoint.enabled))
            .order_by(col(WebhookEndpoint.id))
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def lock_deliveries(self, endpoint_id: uuid.UUID) -> None:
        """Lock every delivery of an endpoint (waits for a delivery run that holds some to end)."""
        stmt = sa.select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id).with_for_update()  # type: ignore[call-overload]
        await self.session.execute(stmt)

    async def delete_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Remove an endpoint with its deliveries and attempts."""
        await self.session.delete(endpoint)
        await self.session.flush()

    # deliveries

    async def insert_deliveries(self, rows: Sequence[dict[str, Any]]) -> list[uuid.UUID]:
        """Insert deliveries, skipping (endpoint, event) pairs that exist; the endpoints that got a new one."""
        if not rows:
            return []
        stmt: Any = (
            insert(WebhookDelivery.__table__)  # type: ignore[attr-defined]
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(sa.literal_column("endpoint_id"))
        )
        return [row[0] for row in (await self.session.execute(stmt)).all()]

    async def pending_in_order(self, endpoint_id: uuid.UUID, *, limit: int) -> Sequence[WebhookDelivery]:
        """An endpoint's pending deliveries, lowest event seq first."""
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.pending)
            .order_by(col(WebhookDelivery.event_seq))
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().all()

    async def get_delivery(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """One delivery of an endpoint."""
        stmt = select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def get_delivery_for_update(self, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> WebhookDelivery | None:
        """One delivery of an endpoint, locked and re-read."""
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def list_deliveries(
        self,
        endpoint_id: uuid.UUID,
        *,
        status: DeliveryStatus | None,
        event_type: str | None,
        before_seq: int | None,
        limit: int,
    ) -> Sequence[WebhookDelivery]:
        """An endpoint's deliveries, newest event first, limit+1 rows."""
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(col(WebhookDelivery.event_seq).desc())
            .limit(limit + 1)
        )
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        if event_type is not None:
            stmt = stmt.where(WebhookDelivery.event_type == event_type)
        if before_seq is not None:
            stmt = stmt.where(col(WebhookDelivery.event_seq) < before_seq)
        return (await self.session.execute(stmt)).scalars().all()

    async def attempts_of(
        self, delivery_ids: Sequence[uuid.UUID], *, per_delivery: int = 50
    ) -> dict[uuid.UUID, list[WebhookAttempt]]:
        """The latest attempts of each delivery, newest first."""
        if not delivery_ids:
            return {}
        ranked = (
            sa.select(
                col(WebhookAttempt.id),
                sa.func.row_number()
                .over(
                    partition_by=col(WebhookAttempt.delivery_id),
                    order_by=(col(WebhookAttempt.attempted_at).desc(), col(WebhookAttempt.id).desc()),
                )
                .label("rank"),
            )
            .where(col(WebhookAttempt.delivery_id).in_(list(delivery_ids)))
            .subquery()
        )
        stmt = (
            select(WebhookAttempt)
            .join(ranked, ranked.c.id == WebhookAttempt.id)  # type: ignore[arg-type]
            .where(ranked.c.rank <= per_delivery)
            .order_by(col(WebhookAttempt.attempted_at).desc(), col(WebhookAttempt.id).desc())
        )
        out: dict[uuid.UUID, list[WebhookAttempt]] = {d: [] for d in delivery_ids}
        for attempt in (await self.session.execute(stmt)).scalars().all():
            out[attempt.delivery_id].append(attempt)
        return out
