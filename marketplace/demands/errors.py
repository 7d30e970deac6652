"""What can go wrong in the demands domain."""

from __future__ import annotations

from typing import ClassVar

from marketplace.kit.errors import AppError, Conflict, NotFound, PermissionDenied


class DemandNotFound(NotFound):
    """No such demand, or not one the caller may see."""

    title = "Demand not found"


class DemandOwnerKindNotAllowed(PermissionDenied):
    """Only enterprises post demands."""

    title = "Organisation kind cannot post demands"


class NotDemandOwner(PermissionDenied):
    """Only the posting organisation may change a demand."""

    title = "Not the demand's organisation"


class OrganizationNotVerified(PermissionDenied):
    """The platform has not verified the organisation yet."""

    title = "Organisation not verified"


class DemandNotOpen(Conflict):
    """Fulfilled, closed and expired demands cannot change."""

    title = "Demand is not open"


class InvalidFilter(AppError):
    """A query filter names something that does not exist."""

    status_code: ClassVar[int] = 400
    title: ClassVar[str] = "Invalid filter"
