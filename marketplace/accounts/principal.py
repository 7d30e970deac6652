"""Who is calling: the authenticated user, their organisation and what their key allows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from marketplace.accounts.models import ApiKeyScope, OrganizationKind, Role, VerificationStatus


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller behind an API key."""

    user_id: uuid.UUID
    organization_id: uuid.UUID
    organization_kind: OrganizationKind
    organization_verified: bool
    role: Role
    scopes: frozenset[ApiKeyScope]
    api_key_id: uuid.UUID

    @property
    def is_platform(self) -> bool:
        """Whether the caller works for the platform operator."""
        return self.organization_kind is OrganizationKind.platform

    def at_least(self, role: Role) -> bool:
        """Whether the caller's role includes what `role` may do."""
        return self.role.rank >= role.rank

    @property
    def can_write(self) -> bool:
        """Whether the key was issued with the write scope."""
        return ApiKeyScope.write in self.scopes

    @classmethod
    def of(
        cls,
        *,
        user_id: uuid.UUID,
        organization_id: uuid.UUID,
        kind: str,
        verification_status: str,
        role: str,
        scopes: list[str],
        api_key_id: uuid.UUID,
    ) -> Principal:
        """Build from raw column values."""
        return cls(
            user_id=user_id,
            organization_id=organization_id,
            organization_kind=OrganizationKind(kind),
            organization_verified=verification_status == VerificationStatus.verified,
            role=Role(role),
            scopes=frozenset(ApiKeyScope(s) for s in scopes),
            api_key_id=api_key_id,
        )
