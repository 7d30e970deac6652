"""Every query of the accounts domain."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from marketplace.accounts.models import ApiKey, Organization, OrganizationKind, Role, User, VerificationStatus
from marketplace.accounts.principal import Principal

# Built once: this runs on every authenticated request.
_PRINCIPAL_BY_KEY = (
    sa.select(  # type: ignore[call-overload]
        ApiKey.id,
        ApiKey.scopes,
        ApiKey.last_used_at,
        User.id.label("user_id"),  # type: ignore[attr-defined]
        User.role,
        Organization.id.label("organization_id"),  # type: ignore[attr-defined]
        Organization.kind,
        Organization.verification_status,
    )
    .join(User, User.id == ApiKey.user_id)  # type: ignore[arg-type]
    .join(Organization, Organization.id == User.organization_id)  # type: ignore[arg-type]
    .where(
        ApiKey.key_hash == sa.bindparam("key_hash"),
        col(ApiKey.revoked_at).is_(None),
        sa.or_(col(ApiKey.expires_at).is_(None), col(ApiKey.expires_at) > sa.bindparam("now")),
        col(User.is_active).is_(True),
    )
)


_ORGANIZATION_BY_ID = sa.select(*Organization.__table__.c).where(  # type: ignore[attr-defined]
    Organization.__table__.c.id == sa.bindparam("id")  # type: ignore[attr-defined]
)


class AccountsRepository:
    """Reads and writes organisations, users and API keys; flushes, never commits."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: Organization | User | ApiKey) -> None:
        """Stage a new row and flush it so constraint errors surface here."""
        self.session.add(obj)
        await self.session.flush()

    async def principal_for_key(self, key_hash: str, *, now: datetime) -> tuple[Principal, datetime | None] | None:
        """The active caller behind a key hash, and when the key was last used."""
        conn = await self.session.connection()
        row = (await conn.execute(_PRINCIPAL_BY_KEY, {"key_hash": key_hash, "now": now})).first()
        if row is None:
            return None
        principal = Principal.of(
            user_id=row.user_id,
            organization_id=row.organization_id,
            kind=row.kind,
            verification_status=row.verification_status,
            role=row.role,
            scopes=row.scopes,
            api_key_id=row.id,
        )
        return principal, row.last_used_at

    async def touch_key(self, key_id: uuid.UUID, *, now: datetime) -> None:
        """Record that a key was used."""
        await self.session.execute(sa.update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))  # type: ignore[arg-type]

    async def get_organization(self, org_id: uuid.UUID) -> Organization | None:
        """One organisation by id."""
        return await self.session.get(Organization, org_id)

    async def organization_row(self, org_id: uuid.UUID) -> Any:
        """One organisation as a plain row, for read-only answers (no ORM identity-map work)."""
        conn = await self.session.connection()
        return (await conn.execute(_ORGANIZATION_BY_ID, {"id": org_id})).first()

    async def get_organization_for_update(self, org_id: uuid.UUID) -> Organization | None:
        """One organisation by id, locked for the rest of the transaction."""
        stmt = select(Organization).where(Organization.id == org_id).with_for_update()
        return (await self.session.execute(stmt)).scalars().first()

    async def organization_by_credit_code(self, code: str) -> Organization | None:
        """The organisation registered under a credit code."""
        stmt = select(Organization).where(Organization.credit_code == code)
        return (await self.session.execute(stmt)).scalars().first()

    async def platform_organization(self) -> Organization | None:
        """The platform operator's organisation (there is one)."""
        stmt = (
            select(Organization)
            .where(Organization.kind == OrganizationKind.platform)
            .order_by(col(Organization.id))
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalars().first()

    async def list_organizations(
        self,
        *,
        kind: OrganizationKind | None,
        status: VerificationStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Organization]:
        """Organisations in id order, filtered, limit+1 rows for paging."""
        stmt = select(Organization).order_by(col(Organization.id)).limit(limit + 1)
        if kind is not None:
            stmt = stmt.where(Organization.kind == kind)
        if status is not None:
            stmt = stmt.where(Organization.verification_status == status)
        if after is not None:
            stmt = stmt.where(col(Organization.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_user(self, user_id: uuid.UUID) -> User | None:
        """One user by id."""
        return await self.session.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        """The user with this e-mail address (case-insensitive)."""
        stmt = select(User).where(sa.func.lower(User.email) == email.lower())
        return (await self.session.execute(stmt)).scalars().first()

    async def list_members(self, org_id: uuid.UUID, *, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        """An organisation's users in id order, limit+1 rows."""
        stmt = select(User).where(User.organization_id == org_id).order_by(col(User.id)).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(col(User.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def count_active_owners(self, org_id: uuid.UUID) -> int:
        """How many active owners an organisation has (it must keep one)."""
        stmt = sa.select(sa.func.count()).where(
            User.organization_id == org_id,  # type: ignore[arg-type]
            User.role == Role.owner,  # type: ignore[arg-type]
            col(User.is_active).is_(True),
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def list_keys(self, user_id: uuid.UUID, *, after: uuid.UUID | None, limit: int) -> Sequence[ApiKey]:
        """A user's keys, revoked ones included, in id order, limit+1 rows."""
        stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(col(ApiKey.id)).limit(limit + 1)
        if after is not None:
            stmt = stmt.where(col(ApiKey.id) > after)
        return (await self.session.execute(stmt)).scalars().all()

    async def get_key(self, key_id: uuid.UUID) -> ApiKey | None:
        """One key by id."""
        return await self.session.get(ApiKey, key_id)

    async def revoke_user_keys(self, user_id: uuid.UUID, *, now: datetime) -> None:
        """Revoke every live key of a user."""
        await self.session.execute(
            sa.update(ApiKey)
            .where(ApiKey.user_id == user_id, col(ApiKey.revoked_at).is_(None))  # type: ignore[arg-type]
            .values(revoked_at=now)
        )

    async def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """A key by its hash (for demo seeding)."""
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash)
        return (await self.session.execute(stmt)).scalars().first()
