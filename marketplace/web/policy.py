"""Who may call a route: one declared policy per route, checked in one guard for every domain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from marketplace.accounts.models import Role
from marketplace.accounts.principal import Principal
from marketplace.kit.errors import NotAuthenticated, PermissionDenied

POLICY_KEY = "policy"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Policy:
    """A route's access rule: sign-in, minimum role, platform only; writes also need the write scope."""

    name: str
    authenticated: bool = True
    min_role: Role = Role.viewer
    platform_only: bool = False

    def check(self, principal: Principal | None, method: str) -> None:
        """Raise 401/403 unless the caller satisfies this policy."""
        if not self.authenticated:
            return
        if principal is None:
            raise NotAuthenticated("send an API key as 'Authorization: Bearer <key>'", headers=_CHALLENGE)
        if self.platform_only and not principal.is_platform:
            raise PermissionDenied("only the platform operator may do this")
        if not principal.at_least(self.min_role):
            raise PermissionDenied(f"needs the {self.min_role.value} role or higher")
        if method not in SAFE_METHODS and not principal.can_write:
            raise PermissionDenied("this API key has read scope only")

    def opt(self, *, read_replica: bool = False) -> dict[str, Any]:
        """The route options that declare this policy (and, for safe reads, that a replica may serve them)."""
        return {POLICY_KEY: self, "read_replica": read_replica}


_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="marketplace"'}

PUBLIC = Policy("public", authenticated=False)
SIGNED_IN = Policy("signed_in")
MEMBER = Policy("member", min_role=Role.member)
ADMIN = Policy("admin", min_role=Role.admin)
PLATFORM = Policy("platform", platform_only=True)
PLATFORM_MEMBER = Policy("platform_member", platform_only=True, min_role=Role.member)
PLATFORM_ADMIN = Policy("platform_admin", platform_only=True, min_role=Role.admin)


def policy_of(handler: BaseRouteHandler) -> Policy | None:
    """The policy a route declared, if any."""
    value = handler.opt.get(POLICY_KEY)
    return value if isinstance(value, Policy) else None


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The one guard: every API route must declare a policy, and the caller must satisfy it."""
    if connection.scope["method"] == "OPTIONS":  # type: ignore[typeddict-item]
        return  # Litestar's automatic OPTIONS answers carry no data
    policy = policy_of(handler)
    if policy is None:  # fail closed: a route nobody thought about is nobody's
        raise PermissionDenied("this route declares no access policy")
    policy.check(connection.scope.get("user"), connection.scope["method"])  # type: ignore[typeddict-item]
