"""HTTP routes of the accounts domain: thin, one service call each."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from marketplace.accounts.models import ApiKey, OrganizationKind, VerificationStatus
from marketplace.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRead,
    Me,
    MemberCreate,
    MemberCreated,
    MemberUpdate,
    OrganizationPage,
    OrganizationPublic,
    OrganizationRead,
    OrganizationRegister,
    OrganizationUpdate,
    Registration,
    UserPage,
    UserRead,
    VerificationDecision,
)
from marketplace.accounts.service import AccountsService, IssuedKey
from marketplace.kit.pagination import CursorParam, LimitParam, decode_id_cursor, page_by_id
from marketplace.web import policy
from marketplace.web.deps import Caller, DbSession
from marketplace.web.openapi import errors_for


def _created_key(issued: IssuedKey) -> ApiKeyCreated:
    return ApiKeyCreated(**ApiKeyRead.model_validate(issued.row).model_dump(), key=issued.secret)


def _key_read(key: ApiKey) -> ApiKeyRead:
    return ApiKeyRead.model_validate(key)


class RegistrationController(Controller):
    """Self-service sign-up."""

    path = "/organizations"
    tags = ["accounts"]  # noqa: RUF012

    @post(
        "/",
        operation_id="registerOrganization",
        summary="Register an organisation with its owner",
        description="Creates the organisation (pending verification), its owner user and the owner's first "
        "API key, which is shown only in this response.",
        status_code=HTTP_201_CREATED,
        opt=policy.PUBLIC.opt(),
        responses=errors_for(409, 422),
    )
    async def register(self, session: DbSession, data: JSONBody[OrganizationRegister]) -> Registration:
        """Register."""
        org, user, issued = await AccountsService(session).register(data)
        return Registration(
            organization=OrganizationRead.model_validate(org),
            user=UserRead.model_validate(user),
            api_key=_created_key(issued),
        )


class OrganizationController(Controller):
    """The caller's organisation and other organisations' public profiles."""

    path = "/organizations"
    tags = ["accounts"]  # noqa: RUF012

    @get(
        "/me",
        operation_id="getMyOrganization",
        summary="Get the caller's organisation",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def get_mine(self, session: DbSession, principal: Caller) -> OrganizationRead:
        """Own organisation, with private fields."""
        return OrganizationRead.model_validate(await AccountsService(session).own_organization(principal))

    @patch(
        "/me",
        operation_id="updateMyOrganization",
        summary="Update the caller's organisation",
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def update_mine(
        self, session: DbSession, principal: Caller, data: JSONBody[OrganizationUpdate]
    ) -> OrganizationRead:
        """Change profile fields."""
        org = await AccountsService(session).update_organization(principal, data)
        return OrganizationRead.model_validate(org)

    @get(
        "/{org_id:uuid}",
        operation_id="getOrganization",
        summary="Get an organisation's public profile",
        opt=policy.SIGNED_IN.opt(read_replica=True),
        responses=errors_for(401, 404),
    )
    async def get_one(self, session: DbSession, principal: Caller, org_id: FromPath[uuid.UUID]) -> OrganizationPublic:
        """Public profile of any organisation."""
        org = await AccountsService(session).get_visible_organization(principal, org_id)
        return OrganizationPublic.model_validate(org)

    @get(
        "/me/members",
        operation_id="listMyMembers",
        summary="List the caller's organisation's users",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def list_members(
        self,
        session: DbSession,
        principal: Caller,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> UserPage:
        """Members, paged."""
        rows = await AccountsService(session).list_members(principal, after=decode_id_cursor(cursor), limit=limit)
        items, next_cursor = page_by_id(rows, limit=limit)
        return UserPage(items=[UserRead.model_validate(u) for u in items], next_cursor=next_cursor)

    @post(
        "/me/members",
        operation_id="addMember",
        summary="Add a user to the caller's organisation",
        description="The new user's initial API key is in the response, shown once; hand it over securely.",
        status_code=HTTP_201_CREATED,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 409, 422),
    )
    async def add_member(self, session: DbSession, principal: Caller, data: JSONBody[MemberCreate]) -> MemberCreated:
        """Add a member."""
        user, issued = await AccountsService(session).add_member(principal, data)
        return MemberCreated(user=UserRead.model_validate(user), api_key=_created_key(issued))

    @patch(
        "/me/members/{user_id:uuid}",
        operation_id="updateMember",
        summary="Change a member's role or name",
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404, 409, 422),
    )
    async def update_member(
        self, session: DbSession, principal: Caller, user_id: FromPath[uuid.UUID], data: JSONBody[MemberUpdate]
    ) -> UserRead:
        """Update a member."""
        return UserRead.model_validate(await AccountsService(session).update_member(principal, user_id, data))

    @delete(
        "/me/members/{user_id:uuid}",
        operation_id="deactivateMember",
        summary="Deactivate a member and revoke their keys",
        status_code=200,
        opt=policy.ADMIN.opt(),
        responses=errors_for(401, 403, 404, 409),
    )
    async def deactivate_member(self, session: DbSession, principal: Caller, user_id: FromPath[uuid.UUID]) -> UserRead:
        """Deactivate a member."""
        return UserRead.model_validate(await AccountsService(session).deactivate_member(principal, user_id))


class MeController(Controller):
    """The caller and their API keys."""

    path = "/users/me"
    tags = ["accounts"]  # noqa: RUF012

    @get("/", operation_id="getMe", summary="Who am I", opt=policy.SIGNED_IN.opt(), responses=errors_for(401))
    async def me(self, session: DbSession, principal: Caller) -> Me:
        """The caller's user, organisation and key scopes."""
        user, org = await AccountsService(session).me(principal)
        return Me(
            user=UserRead.model_validate(user),
            organization=OrganizationRead.model_validate(org),
            api_key_id=principal.api_key_id,
            scopes=sorted(principal.scopes),
        )

    @get(
        "/api-keys",
        operation_id="listMyApiKeys",
        summary="List the caller's API keys",
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401),
    )
    async def list_keys(
        self, session: DbSession, principal: Caller, limit: LimitParam = 20, cursor: CursorParam = None
    ) -> ApiKeyPage:
        """Keys, never their secrets."""
        rows = await AccountsService(session).list_keys(principal, after=decode_id_cursor(cursor), limit=limit)
        items, next_cursor = page_by_id(rows, limit=limit)
        return ApiKeyPage(items=[_key_read(k) for k in items], next_cursor=next_cursor)

    @post(
        "/api-keys",
        operation_id="createApiKey",
        summary="Create an API key for the caller",
        description="The secret is in this response only. Scopes cannot exceed the calling key's.",
        status_code=HTTP_201_CREATED,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403, 422),
    )
    async def create_key(self, session: DbSession, principal: Caller, data: JSONBody[ApiKeyCreate]) -> ApiKeyCreated:
        """New key."""
        return _created_key(await AccountsService(session).create_key(principal, data))

    @delete(
        "/api-keys/{key_id:uuid}",
        operation_id="revokeApiKey",
        summary="Revoke one of the caller's API keys",
        status_code=200,
        opt=policy.SIGNED_IN.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def revoke_key(self, session: DbSession, principal: Caller, key_id: FromPath[uuid.UUID]) -> ApiKeyRead:
        """Revoke a key."""
        return _key_read(await AccountsService(session).revoke_key(principal, key_id))


class PlatformOrganizationController(Controller):
    """The operator's view of all organisations."""

    path = "/platform/organizations"
    tags = ["platform"]  # noqa: RUF012

    @get(
        "/",
        operation_id="platformListOrganizations",
        summary="List organisations (platform)",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(401, 403),
    )
    async def list_all(
        self,
        session: DbSession,
        kind: Annotated[OrganizationKind | None, QueryParameter(name="kind")] = None,
        status: Annotated[VerificationStatus | None, QueryParameter(name="verification_status")] = None,
        limit: LimitParam = 20,
        cursor: CursorParam = None,
    ) -> OrganizationPage:
        """All organisations, filtered."""
        rows = await AccountsService(session).list_organizations(
            kind=kind, status=status, after=decode_id_cursor(cursor), limit=limit
        )
        items, next_cursor = page_by_id(rows, limit=limit)
        return OrganizationPage(items=[OrganizationRead.model_validate(o) for o in items], next_cursor=next_cursor)

    @get(
        "/{org_id:uuid}",
        operation_id="platformGetOrganization",
        summary="Get any organisation in full (platform)",
        opt=policy.PLATFORM.opt(),
        responses=errors_for(401, 403, 404),
    )
    async def get_full(self, session: DbSession, principal: Caller, org_id: FromPath[uuid.UUID]) -> OrganizationRead:
        """Full record."""
        return OrganizationRead.model_validate(
            await AccountsService(session).get_visible_organization(principal, org_id)
        )

    @post(
        "/{org_id:uuid}/verification",
        operation_id="platformDecideVerification",
        summary="Verify or reject an organisation (platform)",
        status_code=200,
        opt=policy.PLATFORM_ADMIN.opt(),
        responses=errors_for(401, 403, 404, 422),
    )
    async def decide(
        self, session: DbSession, principal: Caller, org_id: FromPath[uuid.UUID], data: JSONBody[VerificationDecision]
    ) -> OrganizationRead:
        """Set the verification status."""
        org = await AccountsService(session).decide_verification(principal, org_id, data)
        return OrganizationRead.model_validate(org)


CONTROLLERS = [
    RegistrationController,
    OrganizationController,
    MeController,
    PlatformOrganizationController,
]
