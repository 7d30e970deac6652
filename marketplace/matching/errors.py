"""What can go wrong in the matching domain."""

from __future__ import annotations

from marketplace.kit.errors import Conflict, NotFound, PermissionDenied


class DemandNotFound(NotFound):
    """No such demand, or not one the caller may see the matches of."""

    title = "Demand not found"


class ListingNotFound(NotFound):
    """No such listing, or not one the caller holds."""

    title = "Listing not found"


class SavedSearchNotFound(NotFound):
    """No such saved search in the caller's organisation."""

    title = "Saved search not found"


class BrokerClientNotFound(NotFound):
    """No such broker-client relation on the caller's side."""

    title = "Broker client not found"


class SavedSearchesNotAllowed(PermissionDenied):
    """Saved searches are kept by enterprises and broker agencies."""

    title = "Organisation kind cannot keep saved searches"


class NotABrokerAgency(PermissionDenied):
    """The broker pipeline and introductions are for broker agencies."""

    title = "Not a broker agency"


class NotAnEnterprise(PermissionDenied):
    """Only enterprises give feedback on recommendations and name their brokers."""

    title = "Not an enterprise"


class TooManySavedSearches(Conflict):
    """An organisation keeps a bounded number of saved searches."""

    title = "Too many saved searches"


class BrokerClientExists(Conflict):
    """The enterprise has named this agency already."""

    title = "Broker agency already named"
