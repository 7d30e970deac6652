"""The operator dashboard at /dashboard: server-rendered HTML for platform users, signed in by API key."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from litestar import Controller, Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.enums import MediaType, RequestEncodingType
from litestar.params import Body, QueryParameter
from litestar.response import Redirect

from marketplace.accounts.principal import Principal
from marketplace.kit.errors import AppError, NotAuthenticated
from marketplace.kit.time import utcnow
from marketplace.reports import tokens
from marketplace.reports.config import dashboard_settings
from marketplace.reports.dashboard import render_dashboard, render_login, render_problem
from marketplace.reports.service import DashboardAccess, ReportsService, parse_period
from marketplace.web import policy
from marketplace.web.deps import DEPENDENCIES, DbSession
from marketplace.web.middleware import UnitOfWorkMiddleware

COOKIE = "dashboard_session"
LOGIN_PATH = "/dashboard/login"
_NO_STORE = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def _html(text: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        content=text,
        status_code=status,
        media_type=MediaType.HTML,
        headers={**_NO_STORE, "Content-Security-Policy": _CSP, **(headers or {})},
    )


def _cookie(request: Request[Any, Any, Any], value: str, *, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path="/dashboard",
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _caller(request: Request[Any, Any, Any], session: DbSession) -> Principal | None:
    """The caller by Authorization header (a malformed or unknown key is a 401) or else by session cookie."""
    access = DashboardAccess(session)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        principal = await access.by_key(secret.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise NotAuthenticated("this API key is unknown, revoked or expired")
        return principal
    return await access.by_token(dashboard_settings().secret.get_secret_value(), request.cookies.get(COOKIE))


class DashboardController(Controller):
    """The read-only operator dashboard and its sign-in form."""

    path = "/"
    include_in_schema = False

    @get("/", operation_id="dashboard", opt=policy.PLATFORM.opt(), media_type=MediaType.HTML)
    async def show(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        from_: Annotated[str | None, QueryParameter(name="from")] = None,
        to: Annotated[str | None, QueryParameter(name="to")] = None,
    ) -> Response[str]:
        """The dashboard for a platform user; anyone else is sent to sign in (401) or refused (403)."""
        try:
            principal = await _caller(request, session)
            if principal is None and request.headers.get("authorization") is None:
                return Redirect(LOGIN_PATH, status_code=303, headers=_NO_STORE)  # type: ignore[return-value]
            policy.PLATFORM.check(principal, "GET")  # the global guard covers /api/v1 only
            period = parse_period(from_, to)
        except AppError as exc:
            return _html(render_problem(exc.title, exc.detail), status=exc.status_code)
        service = ReportsService(session)
        catalogue = await service.catalogue(period)
        deals = await service.deals(period)
        registrations = await service.registrations(period)
        return _html(render_dashboard(catalogue, deals, registrations))

    @get("/login", operation_id="dashboardLoginForm", opt=policy.PUBLIC.opt(), media_type=MediaType.HTML)
    async def login_form(self) -> Response[str]:
        """The sign-in form."""
        return _html(render_login())

    @post("/login", operation_id="dashboardLogin", opt=policy.PUBLIC.opt(), media_type=MediaType.HTML)
    async def login(
        self,
        request: Request[Any, Any, Any],
        session: DbSession,
        data: Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[str]:
        """Check a platform user's key and start a session in a signed, expiring, HttpOnly cookie."""
        principal = await DashboardAccess(session).by_key(str(data.get("key", "")).strip())
        if principal is None:
            return _html(render_login(error="密钥无效、已吊销或已过期。"), status=401)
        if not principal.is_platform:
            return _html(render_login(error="仅平台运营方用户可以查看看板。"), status=403)
        settings = dashboard_settings()
        ttl = timedelta(minutes=settings.session_minutes)
        token = tokens.issue(
            settings.secret.get_secret_value(),
            api_key_id=principal.api_key_id,
            user_id=principal.user_id,
            now=utcnow(),
            ttl=ttl,
        )
        redirect = Redirect("/dashboard", status_code=303, headers=_NO_STORE)
        redirect.set_cookie(_cookie(request, token, max_age=int(ttl.total_seconds())))
        return redirect  # type: ignore[return-value]

    @post("/logout", operation_id="dashboardLogout", opt=policy.PUBLIC.opt(), media_type=MediaType.HTML)
    async def logout(self, request: Request[Any, Any, Any]) -> Response[str]:
        """End the session (the cookie is cleared)."""
        redirect = Redirect(LOGIN_PATH, status_code=303, headers=_NO_STORE)
        redirect.set_cookie(_cookie(request, "", max_age=0))
        return redirect  # type: ignore[return-value]


def dashboard_router() -> Router:
    """The dashboard's routes, with their own unit of work (they sit outside the /api/v1 router)."""
    return Router(
        path="/dashboard",
        route_handlers=[DashboardController],
        dependencies=DEPENDENCIES,
        middleware=[UnitOfWorkMiddleware()],
        include_in_schema=False,
    )
