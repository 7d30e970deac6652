"""Builders for test data, through the same models the service uses."""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.keys import display_prefix, generate_key, hash_key
from marketplace.accounts.models import (
    ApiKey,
    ApiKeyScope,
    Organization,
    OrganizationKind,
    Role,
    User,
    VerificationStatus,
)
from marketplace.kit.credit_code import CHARSET, make_credit_code

_counter = itertools.count(1)


def unique_credit_code(kind: OrganizationKind = OrganizationKind.enterprise) -> str:
    """A valid credit code that no other test will draw: 9 random characters of the code's alphabet (31^9)."""
    head = "91" if kind is OrganizationKind.enterprise else "12"
    body = "".join(secrets.choice(CHARSET) for _ in range(9))
    return make_credit_code(f"{head}440300{body}")


@dataclass
class Actor:
    """A user with a live key, ready to call the API."""

    user: User
    organization: Organization
    key: str
    key_id: uuid.UUID

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header for this actor."""
        return {"Authorization": f"Bearer {self.key}"}


class Factory:
    """Creates rows in the test session and flushes them."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def organization(
        self,
        kind: OrganizationKind = OrganizationKind.enterprise,
        *,
        name_zh: str | None = None,
        verified: bool = True,
    ) -> Organization:
        """An organisation (verified unless told otherwise)."""
        org = Organization(
            kind=kind,
            name_zh=name_zh or f"测试机构{next(_counter)}",
            credit_code=unique_credit_code(kind),
            region_code="440300",
            verification_status=VerificationStatus.verified if verified else VerificationStatus.pending,
        )
        self.session.add(org)
        await self.session.flush()
        return org

    async def actor(
        self,
        org: Organization | None = None,
        *,
        role: Role = Role.owner,
        kind: OrganizationKind = OrganizationKind.enterprise,
        scopes: tuple[ApiKeyScope, ...] = (ApiKeyScope.read, ApiKeyScope.write),
    ) -> Actor:
        """A user with a key in org (a new organisation of `kind` when org is None)."""
        org = org or await self.organization(kind)
        user = User(
            organization_id=org.id,
            email=f"user{next(_counter)}-{uuid.uuid4().hex[:8]}@example.com",
            display_name=f"{role.value} user",
            role=role,
        )
        self.session.add(user)
        await self.session.flush()
        secret = generate_key()
        row = ApiKey(
            user_id=user.id,
            name="test",
            prefix=display_prefix(secret),
            key_hash=hash_key(secret),
            scopes=[s.value for s in scopes],
        )
        self.session.add(row)
        await self.session.flush()
        return Actor(user=user, organization=org, key=secret, key_id=row.id)
