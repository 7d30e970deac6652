"""What can go wrong in the accounts domain."""

from __future__ import annotations

from marketplace.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class OrganizationNotFound(NotFound):
    """No such organisation (or not one the caller may see)."""

    title = "Organisation not found"


class CreditCodeTaken(Conflict):
    """Another organisation is registered under this credit code."""

    title = "Credit code already registered"


class EmailTaken(Conflict):
    """A user with this e-mail address exists."""

    title = "E-mail address already in use"


class UserNotFound(NotFound):
    """No such user in the caller's organisation."""

    title = "User not found"


class ApiKeyNotFound(NotFound):
    """No such key among the caller's keys."""

    title = "API key not found"


class LastOwner(Conflict):
    """An organisation must keep at least one active owner."""

    title = "Organisation would have no owner"


class RoleTooHigh(PermissionDenied):
    """Only an owner may grant or take away the owner role."""

    title = "Role above the caller's"


class CreditCodeLocked(Conflict):
    """A verified organisation's credit code can only be changed by the platform."""

    title = "Credit code locked after verification"


class ScopeNotHeld(InvalidInput):
    """A key cannot be given scopes the creating key does not have."""

    title = "Scope not held by the caller"
