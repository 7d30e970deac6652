"""What can go wrong in the payments domain."""

from __future__ import annotations

from marketplace.kit.errors import Conflict, FieldProblem, InvalidInput, NotFound

__all__ = ["FieldProblem", "InvalidInput"]


class ScheduleNotFound(NotFound):
    """No fee schedule of that version."""

    title = "Fee schedule not found"


class InvalidSchedule(InvalidInput):
    """The schedule's bands, minimums or cap do not make a valid schedule."""

    title = "Invalid fee schedule"


class UnknownReference(InvalidInput):
    """No payable carries the reference code the transfer quoted."""

    title = "Unknown payment reference"


class ProviderRecordConflict(Conflict):
    """The provider's id was recorded before with other details."""

    title = "Provider record conflicts with an earlier one"


class InsufficientBalance(Conflict):
    """The account does not hold that much (balances never go negative)."""

    title = "Insufficient balance"


class OrganizationNotFound(NotFound):
    """No such organisation."""

    title = "Organisation not found"


class ProviderNotConfigured(Conflict):
    """The payment provider asked for is not configured."""

    title = "Payment provider not configured"


class InvalidWebhook(InvalidInput):
    """The provider webhook's signature or body did not verify."""

    status_code = 400
    title = "Invalid provider webhook"


class PayableNotFound(NotFound):
    """No such payable, or not the caller's."""

    title = "Payable not found"


class NothingToPay(Conflict):
    """The payable is paid, or no longer due."""

    title = "Nothing to pay"
