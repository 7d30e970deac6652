"""What can go wrong in the deals domain."""

from __future__ import annotations

from marketplace.kit.errors import Conflict, InvalidInput, NotFound, PermissionDenied


class DealNotFound(NotFound):
    """No such deal, or not one the caller may see."""

    title = "Deal not found"


class AuctionNotFound(NotFound):
    """No such auction."""

    title = "Auction not found"


class NoticeNotFound(NotFound):
    """No such public notice."""

    title = "Public notice not found"


class UnknownTransition(NotFound):
    """The process has no transition of this name for this kind of object."""

    title = "Unknown transition"


class TransitionNotAllowed(PermissionDenied):
    """The caller's part in the deal may not fire this transition."""

    title = "Transition not allowed for the caller"


class OutsideBrokerScope(PermissionDenied):
    """The broker's principal did not delegate this transition."""

    title = "Transition outside the broker's delegated scope"


class TransitionNotAvailable(Conflict):
    """The transition does not start from the current state."""

    title = "Transition not available in the current state"


class TransitionBlocked(Conflict):
    """A guard of the transition does not hold."""

    title = "Transition blocked by a guard"


class DealVersionConflict(Conflict):
    """The deal changed since the caller read it."""

    title = "Deal version is not current"


class DealAlreadyOpen(Conflict):
    """The buyer already has a live deal on this listing."""

    title = "A live deal already exists"


class BidTooLow(Conflict):
    """The bid does not beat the current high bid (or the start price)."""

    title = "Bid too low"


class InvalidBidStep(InvalidInput):
    """The bid is not the high bid plus a whole number of increments."""

    title = "Bid is not a whole number of increments above the high bid"


class InvalidTerms(InvalidInput):
    """Offer or payment-plan terms break a rule the schema cannot express."""

    title = "Invalid terms"


class NotABroker(InvalidInput):
    """The named user is not an active member of a verified broker agency."""

    title = "Not a broker"


class NotAParty(PermissionDenied):
    """Only the deal's parties may do this."""

    title = "Not a party to the deal"
