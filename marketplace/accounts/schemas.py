"""Request and response shapes of the accounts domain."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, EmailStr, Field, StringConstraints

from marketplace.accounts.models import ApiKeyScope, OrganizationKind, Role, VerificationStatus
from marketplace.kit.credit_code import CreditCodeError, validate_credit_code
from marketplace.kit.pagination import Page
from marketplace.kit.schemas import InputSchema, OutputSchema


def _credit_code(value: str) -> str:
    try:
        return validate_credit_code(value)
    except CreditCodeError as exc:
        raise ValueError(f"not a valid unified social credit code: {exc}") from exc


CreditCode = Annotated[str, StringConstraints(min_length=18, max_length=18), AfterValidator(_credit_code)]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{5}$")]
NameZh = Annotated[str, StringConstraints(min_length=2, max_length=200)]
NameEn = Annotated[str, StringConstraints(min_length=1, max_length=300)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# No whitespace of either regex dialect: Python's \s (which has \x1c-\x1f and \x85) or JSON Schema's
# (ECMAScript: which has \ufeff), so the spec and the validator accept exactly the same strings.
Website = Annotated[str, StringConstraints(pattern=r"^https?://[^\s\x1c-\x1f\x85\ufeff]{3,290}$", max_length=300)]
Description = Annotated[str, StringConstraints(max_length=4000)]


class OrganizationRegister(InputSchema):
    """Sign up an organisation with its first user (the owner), who gets the first API key."""

    kind: OrganizationKind = Field(description="institute, enterprise or broker_agency (platform is not self-serve).")
    name_zh: NameZh = Field(examples=["清华大学"])
    name_en: NameEn | None = Field(default=None, examples=["Tsinghua University"])
    credit_code: CreditCode = Field(examples=["12100000400000624D"], description="18 characters, GB 32100-2015.")
    region_code: RegionCode | None = Field(default=None, examples=["110108"])
    website: Website | None = None
    description: Description | None = None
    owner_email: EmailStr = Field(examples=["tto@example.edu.cn"])
    owner_name: DisplayName = Field(examples=["张老师"])


class OrganizationUpdate(InputSchema):
    """Fields an organisation's admins may change about it; omitted fields stay as they are."""

    name_zh: NameZh | None = None
    name_en: NameEn | None = None
    credit_code: CreditCode | None = None
    region_code: RegionCode | None = None
    website: Website | None = None
    description: Description | None = None


class VerificationDecision(InputSchema):
    """The platform's decision on an organisation."""

    status: VerificationStatus = Field(description="verified or rejected.")
    note: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="Required when rejecting: what is wrong."
    )


class OrganizationPublic(OutputSchema):
    """What any signed-in party may see of an organisation."""

    id: uuid.UUID
    kind: OrganizationKind
    name_zh: str
    name_en: str | None
    region_code: str | None
    website: str | None
    description: str | None
    verification_status: VerificationStatus
    created_at: datetime


class OrganizationRead(OrganizationPublic):
    """An organisation as its own members and the platform see it."""

    credit_code: str | None
    verification_note: str | None
    verified_at: datetime | None
    updated_at: datetime
    version: int


class UserRead(OutputSchema):
    """A user."""

    id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime


class MemberCreate(InputSchema):
    """Add a user to the caller's organisation; they get an initial API key to hand over."""

    email: EmailStr
    display_name: DisplayName
    role: Role = Role.member


class MemberUpdate(InputSchema):
    """Change a member's role or name."""

    role: Role | None = None
    display_name: DisplayName | None = None


class ApiKeyCreate(InputSchema):
    """A new API key for the caller."""

    name: KeyName = Field(examples=["tech-transfer sync script"])
    scopes: list[ApiKeyScope] = Field(default_factory=lambda: [ApiKeyScope.read, ApiKeyScope.write], min_length=1)
    expires_at: datetime | None = Field(default=None, description="Optional expiry; none: until revoked.")


class ApiKeyRead(OutputSchema):
    """A key as listed: never the secret, only its recognisable prefix."""

    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[ApiKeyScope]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    """A key just created: the secret is shown this once and never again."""

    key: str = Field(description="The secret. Store it now; it cannot be shown again.")


class MemberCreated(OutputSchema):
    """A new member and their initial API key (shown once)."""

    user: UserRead
    api_key: ApiKeyCreated


class Registration(OutputSchema):
    """The result of signing up: the organisation, its owner and the owner's first key (shown once)."""

    organization: OrganizationRead
    user: UserRead
    api_key: ApiKeyCreated


class Me(OutputSchema):
    """The caller: user, organisation and the key in use."""

    user: UserRead
    organization: OrganizationRead
    api_key_id: uuid.UUID
    scopes: list[ApiKeyScope]


OrganizationPage = Page[OrganizationRead]
UserPage = Page[UserRead]
ApiKeyPage = Page[ApiKeyRead]
