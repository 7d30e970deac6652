"""The rules of the accounts domain: registration, membership, keys and verification."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts import errors
from marketplace.accounts.cache import principal_cache
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
from marketplace.accounts.principal import Principal
from marketplace.accounts.repository import AccountsRepository
from marketplace.accounts.schemas import (
    ApiKeyCreate,
    MemberCreate,
    MemberUpdate,
    OrganizationRegister,
    OrganizationUpdate,
    VerificationDecision,
)
from marketplace.config import get_settings
from marketplace.events.service import EventRecorder, diff_of
from marketplace.kit.errors import FieldProblem, InvalidInput
from marketplace.kit.time import utcnow

# A read-only organisation: the table row, with the model's attributes.
OrganizationView = Any

_ORG_FIELDS = ("name_zh", "name_en", "credit_code", "region_code", "website", "description")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key row and its secret, which exists only in this object and the response."""

    row: ApiKey
    secret: str


class AccountsService:
    """Registration, organisation profile, members, API keys, verification."""

    def __init__(self, session: AsyncSession) -> None:
        self.repo = AccountsRepository(session)
        self.events = EventRecorder(session)

    async def authenticate(self, secret: str) -> Principal | None:
        """The caller behind a secret key, touching its last-used time at most once a minute."""
        now = utcnow()
        key_hash = hash_key(secret)
        cache = principal_cache()
        found = cache.get(key_hash)
        if found is None:
            found = await self.repo.principal_for_key(key_hash, now=now)
            if found is None:
                return None
            cache.put(key_hash, *found)
        principal, last_used = found
        if last_used is None or (now - last_used).total_seconds() >= get_settings().api_key_touch_seconds:
            await self.repo.touch_key(principal.api_key_id, now=now)
            cache.put(key_hash, principal, now)
        return principal

    async def register(self, data: OrganizationRegister) -> tuple[Organization, User, IssuedKey]:
        """Create an organisation with its owner and the owner's first key."""
        if data.kind is OrganizationKind.platform:
            raise InvalidInput.field("/kind", "the platform organisation cannot be registered through the API")
        if await self.repo.organization_by_credit_code(data.credit_code):
            raise errors.CreditCodeTaken(
                "an organisation with this credit code is already registered",
                errors=[FieldProblem(detail="already registered", pointer="/credit_code")],
            )
        await self._ensure_email_free(data.owner_email, pointer="/owner_email")
        org = Organization(
            kind=data.kind,
            name_zh=data.name_zh,
            name_en=data.name_en,
            credit_code=data.credit_code,
            region_code=data.region_code,
            website=data.website,
            description=data.description,
        )
        await self.repo.add(org)
        user = User(organization_id=org.id, email=data.owner_email, display_name=data.owner_name, role=Role.owner)
        await self.repo.add(user)
        issued = await self._issue_key(user, name="initial key", scopes=[ApiKeyScope.read, ApiKeyScope.write])
        self.events.audit(
            actor=None,
            organization_id=org.id,
            action="organization.registered",
            target_type="organization",
            target_id=org.id,
            diff={"kind": org.kind, "name_zh": org.name_zh, "owner": str(user.id)},
        )
        self.events.emit(
            type="organization.registered",
            organization_id=org.id,
            subject_type="organization",
            subject_id=org.id,
            payload={"id": org.id, "kind": org.kind, "name_zh": org.name_zh},
        )
        return org, user, issued

    async def get_visible_organization(self, principal: Principal, org_id: uuid.UUID) -> OrganizationView:
        """Any organisation's public profile (rejected ones only to themselves and the platform)."""
        org = await self.repo.organization_row(org_id)
        if org is None:
            raise errors.OrganizationNotFound()
        hidden = org.verification_status is VerificationStatus.rejected
        if hidden and not principal.is_platform and org.id != principal.organization_id:
            raise errors.OrganizationNotFound()
        return org

    async def own_organization(self, principal: Principal) -> Organization:
        """The caller's own organisation."""
        org = await self.repo.get_organization(principal.organization_id)
        if org is None:  # the key lookup joined it a moment ago; only a concurrent delete gets here
            raise errors.OrganizationNotFound()
        return org

    async def update_organization(self, principal: Principal, data: OrganizationUpdate) -> Organization:
        """Change the caller's organisation profile."""
        org = await self.repo.get_organization_for_update(principal.organization_id)
        if org is None:
            raise errors.OrganizationNotFound()
        changes = data.model_dump(exclude_unset=True)
        for required in ("name_zh",):
            if required in changes and changes[required] is None:
                raise InvalidInput.field(f"/{required}", "cannot be null")
        if "credit_code" in changes and changes["credit_code"] != org.credit_code:
            if org.verification_status is VerificationStatus.verified:
                raise errors.CreditCodeLocked(
                    "a verified organisation's credit code is changed only by the platform",
                    errors=[FieldProblem(detail="locked after verification", pointer="/credit_code")],
                )
            other = await self.repo.organization_by_credit_code(changes["credit_code"])
            if other is not None and other.id != org.id:
                raise errors.CreditCodeTaken(errors=[FieldProblem(detail="already registered", pointer="/credit_code")])
        before = {k: getattr(org, k) for k in _ORG_FIELDS}
        for key, value in changes.items():
            setattr(org, key, value)
        await self.repo.session.flush()
        diff = diff_of(before, {k: getattr(org, k) for k in _ORG_FIELDS})
        if diff:
            org.version += 1
            self._audit_org(principal, org, "organization.updated", diff)
            self.events.emit(
                type="organization.updated",
                organization_id=org.id,
                subject_type="organization",
                subject_id=org.id,
                payload={"id": org.id, "changed": sorted(diff), "version": org.version},
            )
        return org

    async def decide_verification(
        self, principal: Principal, org_id: uuid.UUID, decision: VerificationDecision
    ) -> Organization:
        """The platform verifies or rejects an organisation."""
        if decision.status is VerificationStatus.pending:
            raise InvalidInput.field("/status", "a decision is verified or rejected")
        if decision.status is VerificationStatus.rejected and not decision.note:
            raise InvalidInput.field("/note", "say why the organisation is rejected")
        org = await self.repo.get_organization_for_update(org_id)
        if org is None:
            raise errors.OrganizationNotFound()
        before = {"verification_status": org.verification_status, "verification_note": org.verification_note}
        org.verification_status = decision.status
        org.verification_note = decision.note
        org.verified_at = utcnow() if decision.status is VerificationStatus.verified else None
        org.version += 1
        principal_cache().forget(organization_id=org.id)
        await self.repo.session.flush()
        after = {"verification_status": org.verification_status, "verification_note": org.verification_note}
        self._audit_org(principal, org, f"organization.{decision.status.value}", diff_of(before, after))
        self.events.emit(
            type=f"organization.{decision.status.value}",
            organization_id=org.id,
            subject_type="organization",
            subject_id=org.id,
            payload={
                "id": org.id,
                "verification_status": org.verification_status,
                "note": org.verification_note,
            },
        )
        return org

    async def list_organizations(
        self,
        *,
        kind: OrganizationKind | None,
        status: VerificationStatus | None,
        after: uuid.UUID | None,
        limit: int,
    ) -> Sequence[Organization]:
        """The platform's list of organisations."""
        return await self.repo.list_organizations(kind=kind, status=status, after=after, limit=limit)

    async def me(self, principal: Principal) -> tuple[User, Organization]:
        """The caller's user and organisation."""
        user = await self.repo.get_user(principal.user_id)
        if user is None:
            raise errors.UserNotFound()
        return user, await self.own_organization(principal)

    async def list_members(self, principal: Principal, *, after: uuid.UUID | None, limit: int) -> Sequence[User]:
        """The users of the caller's organisation."""
        return await self.repo.list_members(principal.organization_id, after=after, limit=limit)

    async def add_member(self, principal: Principal, data: MemberCreate) -> tuple[User, IssuedKey]:
        """Add a user to the caller's organisation, with an initial key for them."""
        self._check_can_grant(principal, data.role)
        await self._ensure_email_free(data.email, pointer="/email")
        user = User(
            organization_id=principal.organization_id,
            email=data.email,
            display_name=data.display_name,
            role=data.role,
        )
        await self.repo.add(user)
        issued = await self._issue_key(user, name="initial key", scopes=[ApiKeyScope.read, ApiKeyScope.write])
        self._audit_user(
            principal, user, "user.created", {"role": [None, user.role.value], "email": [None, user.email]}
        )
        return user, issued

    async def update_member(self, principal: Principal, user_id: uuid.UUID, data: MemberUpdate) -> User:
        """Change a member's role or name."""
        user = await self._member(principal, user_id)
        changes = data.model_dump(exclude_unset=True, exclude_none=True)
        if "role" in changes:
            new_role = Role(changes["role"])
            self._check_can_grant(principal, new_role)
            self._check_can_grant(principal, user.role)
            if user.role is Role.owner and new_role is not Role.owner:
                await self._ensure_other_owner(user)
        before = {"role": user.role, "display_name": user.display_name}
        for key, value in changes.items():
            setattr(user, key, value)
        principal_cache().forget(user_id=user.id)
        await self.repo.session.flush()
        diff = diff_of(before, {"role": user.role, "display_name": user.display_name})
        if diff:
            self._audit_user(principal, user, "user.updated", diff)
        return user

    async def deactivate_member(self, principal: Principal, user_id: uuid.UUID) -> User:
        """Deactivate a member and revoke their keys."""
        user = await self._member(principal, user_id)
        self._check_can_grant(principal, user.role)
        if not user.is_active:
            return user
        if user.role is Role.owner:
            await self._ensure_other_owner(user)
        user.is_active = False
        await self.repo.revoke_user_keys(user.id, now=utcnow())
        principal_cache().forget(user_id=user.id)
        await self.repo.session.flush()
        self._audit_user(principal, user, "user.deactivated", {"is_active": [True, False]})
        return user

    async def list_keys(self, principal: Principal, *, after: uuid.UUID | None, limit: int) -> Sequence[ApiKey]:
        """The caller's own keys."""
        return await self.repo.list_keys(principal.user_id, after=after, limit=limit)

    async def create_key(self, principal: Principal, data: ApiKeyCreate) -> IssuedKey:
        """A new key for the caller, with at most the scopes of the key in use."""
        missing = {s for s in data.scopes if s not in principal.scopes}
        if missing:
            raise errors.ScopeNotHeld(
                "a key cannot grant scopes the calling key does not have",
                errors=[FieldProblem(detail=f"not held: {', '.join(sorted(missing))}", pointer="/scopes")],
            )
        if data.expires_at is not None and data.expires_at.tzinfo is None:
            raise InvalidInput.field("/expires_at", "give a timezone (e.g. Z or +08:00)")
        if data.expires_at is not None and data.expires_at <= utcnow():
            raise InvalidInput.field("/expires_at", "must be in the future")
        user = await self.repo.get_user(principal.user_id)
        if user is None:
            raise errors.UserNotFound()
        issued = await self._issue_key(user, name=data.name, scopes=list(dict.fromkeys(data.scopes)))
        issued.row.expires_at = data.expires_at
        self.events.audit(
            actor=principal,
            organization_id=principal.organization_id,
            action="api_key.created",
            target_type="api_key",
            target_id=issued.row.id,
            diff={"name": [None, data.name], "scopes": [None, [s.value for s in data.scopes]]},
        )
        return issued

    async def revoke_key(self, principal: Principal, key_id: uuid.UUID) -> ApiKey:
        """Revoke one of the caller's keys (idempotent)."""
        key = await self.repo.get_key(key_id)
        if key is None or key.user_id != principal.user_id:
            raise errors.ApiKeyNotFound()
        if key.revoked_at is None:
            key.revoked_at = utcnow()
            principal_cache().forget(key_id=key.id)
            await self.repo.session.flush()
            self.events.audit(
                actor=principal,
                organization_id=principal.organization_id,
                action="api_key.revoked",
                target_type="api_key",
                target_id=key.id,
                diff={"revoked_at": [None, key.revoked_at.isoformat()]},
            )
        return key

    async def _issue_key(
        self, user: User, *, name: str, scopes: list[ApiKeyScope], secret: str | None = None
    ) -> IssuedKey:
        secret = secret or generate_key()
        row = ApiKey(
            user_id=user.id,
            name=name,
            prefix=display_prefix(secret),
            key_hash=hash_key(secret),
            scopes=[s.value for s in scopes],
        )
        await self.repo.add(row)
        return IssuedKey(row=row, secret=secret)

    async def _member(self, principal: Principal, user_id: uuid.UUID) -> User:
        user = await self.repo.get_user(user_id)
        if user is None or user.organization_id != principal.organization_id:
            raise errors.UserNotFound()
        return user

    async def _ensure_email_free(self, email: str, *, pointer: str) -> None:
        if await self.repo.user_by_email(email):
            raise errors.EmailTaken(errors=[FieldProblem(detail="already in use", pointer=pointer)])

    async def _ensure_other_owner(self, user: User) -> None:
        if await self.repo.count_active_owners(user.organization_id) <= 1:
            raise errors.LastOwner("appoint another owner first")

    @staticmethod
    def _check_can_grant(principal: Principal, role: Role) -> None:
        if role is Role.owner and principal.role is not Role.owner:
            raise errors.RoleTooHigh("only an owner may grant, change or remove the owner role")

    def _audit_org(self, principal: Principal, org: Organization, action: str, diff: dict[str, object]) -> None:
        self.events.audit(
            actor=principal,
            organization_id=org.id,
            action=action,
            target_type="organization",
            target_id=org.id,
            diff=diff,
        )

    def _audit_user(self, principal: Principal, user: User, action: str, diff: dict[str, object]) -> None:
        self.events.audit(
            actor=principal,
            organization_id=user.organization_id,
            action=action,
            target_type="user",
            target_id=user.id,
            diff=diff,
        )
