"""Optimistic concurrency for versioned catalogue objects: ETag out, If-Match in."""

from __future__ import annotations

import re
from typing import Annotated

from litestar.params import HeaderParameter

from marketplace.kit.errors import FieldProblem, PreconditionFailed, PreconditionRequired

_TAG_RE = re.compile(r'^(?:W/)?"?(\d{1,18})"?$')

IfMatchHeader = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        max_length=200,
        description='The ETag from your last read, e.g. W/"3". Required; a stale one gets 412.',
    ),
]


def etag(version: int) -> str:
    """The ETag header value for a version (weak: the body differs by who reads it)."""
    return f'W/"{version}"'


def versions_in(if_match: str) -> set[int]:
    """The versions named by an If-Match value (a comma-separated list of tags)."""
    found: set[int] = set()
    for part in if_match.split(","):
        match = _TAG_RE.match(part.strip())
        if match is None:
            raise PreconditionRequired(
                'If-Match must carry the ETag you read, e.g. W/"3"',
                errors=[
                    FieldProblem(detail="not an ETag this service issued", parameter="If-Match", location="header")
                ],
            )
        found.add(int(match.group(1)))
    return found


def check_if_match(if_match: str | None, *, current: int) -> None:
    """Raise 428 when If-Match is missing (or '*'), 412 when it names another version."""
    if if_match is None or not if_match.strip() or if_match.strip() == "*":
        raise PreconditionRequired(
            'send If-Match with the ETag of the version you read (e.g. W/"3")',
            errors=[FieldProblem(detail="required", parameter="If-Match", location="header")],
        )
    if current not in versions_in(if_match):
        raise PreconditionFailed(
            f"the object changed since you read it; it is now at version {current}",
            headers={"ETag": etag(current)},
            extra={"current_version": current},
        )
