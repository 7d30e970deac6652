"""What can go wrong when searching."""

from __future__ import annotations

from marketplace.kit.errors import FieldProblem, InvalidInput, ServiceUnavailable


class InvalidSearchParameter(InvalidInput):
    """A query parameter of a search has a value the search cannot use."""

    title = "Invalid search parameter"

    @classmethod
    def of(cls, parameter: str, detail: str) -> InvalidSearchParameter:
        """One problem with one query parameter."""
        return cls(
            f"{parameter}: {detail}", errors=[FieldProblem(detail=detail, parameter=parameter, location="query")]
        )


class SearchEngineUnavailable(ServiceUnavailable):
    """The search engine did not answer; try again shortly."""

    title = "Search engine unavailable"
