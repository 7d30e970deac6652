"""The queries behind Idempotency-Key handling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from marketplace.kit.ids import uuid7
from marketplace.kit.time import utcnow
from marketplace.web.models import IdempotencyRecord


class IdempotencyRepository:
    """Claims keys and stores first answers; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(
        self,
        *,
        principal: str,
        key: str,
        request_hash: str,
        method: str,
        path: str,
        expired_before: datetime,
    ) -> IdempotencyRecord:
        """Insert the key (or take over an expired one); otherwise return the stored record."""
        table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
        values = {
            "id": uuid7(),
            "principal": principal,
            "key": key,
            "request_hash": request_hash,
            "method": method,
            "path": path,
            "status_code": None,
            "response_headers": {},
            "response_body": None,
            "created_at": utcnow(),
        }
        base = insert(table).values(**values)
        stmt = base.on_conflict_do_update(
            constraint="uq_idempotency_records_principal_key",
            set_={k: base.excluded[k] for k in values if k not in ("principal", "key")},
            where=table.c.created_at < expired_before,
        ).returning(table.c.id)
        claimed = (await self.session.execute(stmt)).scalar_one_or_none()
        found = (
            await self.session.execute(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.principal == principal, IdempotencyRecord.key == key)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        assert claimed is None or claimed == found.id
        return found

    async def complete(
        self, record: IdempotencyRecord, *, status_code: int, headers: dict[str, Any], body: bytes
    ) -> None:
        """Store the answer to replay."""
        await self.session.execute(
            sa.update(IdempotencyRecord)
            .where(IdempotencyRecord.id == record.id)  # type: ignore[arg-type]
            .values(status_code=status_code, response_headers=headers, response_body=body)
        )

    async def purge(self, *, older_than: datetime) -> int:
        """Delete expired records."""
        result = await self.session.execute(
            sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < older_than)  # type: ignore[arg-type]
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
