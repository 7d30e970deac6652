"""What can go wrong in the reports domain."""

from __future__ import annotations

from marketplace.kit.errors import FieldProblem, InvalidInput


class InvalidReportParameter(InvalidInput):
    """A report's query parameter is malformed or out of range."""

    title = "Invalid report parameter"

    @classmethod
    def query(cls, name: str, detail: str) -> InvalidReportParameter:
        """One problem with one named query parameter."""
        return cls(f"{name}: {detail}", errors=[FieldProblem(detail=detail, parameter=name, location="query")])
