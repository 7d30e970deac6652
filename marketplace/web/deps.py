"""Dependencies every domain's controllers use: the request session and the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from sqlalchemy.ext.asyncio import AsyncSession

from marketplace.accounts.principal import Principal
from marketplace.kit.errors import NotAuthenticated
from marketplace.web.middleware import data_session_of


async def provide_session(request: Request[Any, Any, Any]) -> AsyncSession:
    """The request's session (committed or rolled back by the unit-of-work middleware; a replica's if marked)."""
    return data_session_of(request.scope)


async def provide_principal(request: Request[Any, Any, Any], session: NamedDependency[AsyncSession]) -> Principal:
    """The authenticated caller (routes whose policy allows anonymous callers must not ask for it)."""
    # `session` is not used: depending on it puts the two providers in sequence, which spares Litestar a
    # task group per request for resolving them side by side.
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthenticated()
    return principal


async def provide_optional_principal(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller if signed in, else None."""
    principal = request.scope.get("user")
    return principal if isinstance(principal, Principal) else None


DEPENDENCIES = {
    "session": Provide(provide_session),
    "principal": Provide(provide_principal),
    "maybe_principal": Provide(provide_optional_principal),
}

# Name-based injection markers, so handlers say plainly which parameters are dependencies.
DbSession = NamedDependency[AsyncSession]
Caller = NamedDependency[Principal]
MaybeCaller = NamedDependency[Principal | None]
