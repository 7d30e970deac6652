"""create_app(settings) -> Litestar: plugins, routers, middleware and error handlers."""

from __future__ import annotations

import gc
from datetime import timedelta
from typing import Any

import structlog
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from sqlalchemy.exc import DBAPIError

from marketplace import accounts, events
from marketplace.accounts import controllers as accounts_controllers
from marketplace.config import Settings, get_settings
from marketplace.db.engine import make_engine, make_sessionmaker
from marketplace.db.migrate import current_revisions_async, known_revisions, schema_state, script_heads
from marketplace.deals import controllers as deals_controllers
from marketplace.demands import controllers as demands_controllers
from marketplace.events import controllers as events_controllers
from marketplace.kit.errors import AppError
from marketplace.kit.logging import configure_logging
from marketplace.kit.problems import (
    app_error_handler,
    database_unavailable_handler,
    http_error_handler,
    internal_error_handler,
    validation_error_handler,
)
from marketplace.listings import controllers as listings_controllers
from marketplace.matching import controllers as matching_controllers
from marketplace.notifications import controllers as notifications_controllers
from marketplace.payments import controllers as payments_controllers
from marketplace.payments import ports as payments_ports
from marketplace.reference import controllers as reference_controllers
from marketplace.reports import controllers as reports_controllers
from marketplace.reports.pages import dashboard_router
from marketplace.search_api import controllers as search_controllers
from marketplace.web.deps import DEPENDENCIES
from marketplace.web.middleware import (
    AuthenticationMiddleware,
    IdempotencyMiddleware,
    RequestContextMiddleware,
    UnitOfWorkMiddleware,
)
from marketplace.web.openapi import ClosedInputSchemaPlugin
from marketplace.web.policy import authorize
from marketplace.web.ratelimit import RateLimitMiddleware
from marketplace.web.security import QueryStringLimitMiddleware, security_headers
from marketplace.web.system import health, ready
from marketplace.webhooks import controllers as webhooks_controllers
from marketplace.webhooks.catalog import openapi_webhooks
from search.engine import get_search_engine

API_PREFIX = "/api/v1"
log = structlog.get_logger("marketplace.app")
API_VERSION = "1.0.0"


class MetricsController(PrometheusController):
    """Prometheus metrics at /metrics (kept out of the API spec)."""

    include_in_schema = False


class PendingMigrations(RuntimeError):
    """The database schema is behind the code; run `marketplace db upgrade`."""


def api_router(settings: Settings) -> Router:
    """Every domain's controllers under /api/v1, behind the one authorisation guard."""
    return Router(
        path=API_PREFIX,
        route_handlers=[
            *accounts_controllers.CONTROLLERS,
            *events_controllers.CONTROLLERS,
            *listings_controllers.CONTROLLERS,
            *demands_controllers.CONTROLLERS,
            *reference_controllers.CONTROLLERS,
            *search_controllers.CONTROLLERS,
            *webhooks_controllers.CONTROLLERS,
            *notifications_controllers.CONTROLLERS,
            *deals_controllers.CONTROLLERS,
            *reports_controllers.CONTROLLERS,
            *payments_controllers.CONTROLLERS,
            *matching_controllers.CONTROLLERS,
        ],
        guards=[authorize],
        dependencies=DEPENDENCIES,
        middleware=[
            UnitOfWorkMiddleware(),
            AuthenticationMiddleware(),
            IdempotencyMiddleware(
                max_body_bytes=settings.max_body_bytes, ttl=timedelta(hours=settings.idempotency_ttl_hours)
            ),
        ],
    )


def create_app(settings: Settings | None = None, *, check_migrations: bool = True) -> Litestar:
    """Build the application; the engine is created at start-up and disposed at shutdown."""
    settings = settings or get_settings()
    payments_ports.install()  # the deal flow posts money to the ledger
    configure_logging(level=settings.log_level, json=settings.log_json)
    prometheus = PrometheusConfig(
        app_name="marketplace", prefix="marketplace", group_path=True, exclude=["/metrics", "/health"]
    )

    async def on_startup(app: Litestar) -> None:
        engine = make_engine(settings)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        # Safe methods read without BEGIN/COMMIT: under READ COMMITTED a transaction adds no
        # consistency across statements, and it costs two round trips per request.
        app.state.autocommit_sessionmaker = make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))
        if settings.async_read_url:
            app.state.read_engine = make_engine(settings, url=settings.async_read_url)
            app.state.read_sessionmaker = make_sessionmaker(
                app.state.read_engine.execution_options(isolation_level="AUTOCOMMIT")
            )
        app.state.expected_heads = script_heads(settings.database_url or "")
        app.state.known_revisions = known_revisions(settings.database_url or "")
        if check_migrations:
            async with engine.connect() as conn:
                applied = await current_revisions_async(conn)
            state = schema_state(applied, heads=app.state.expected_heads, known=app.state.known_revisions)
            if state == "ahead":
                log.warning("database schema is newer than this code (rolling deploy?)", applied=sorted(applied))
            if state == "behind":
                raise PendingMigrations(
                    f"database is at {sorted(applied) or 'an empty schema'}, code expects "
                    f"{sorted(app.state.expected_heads)}: run `marketplace db upgrade`"
                )

        get_search_engine().warm(engine)
        # Modules, settings and the app live as long as the process: keep full garbage collections
        # (≈100 ms each with the app loaded) from walking them again and again.
        gc.freeze()

    async def on_shutdown(app: Litestar) -> None:
        await get_search_engine().aclose()
        await app.state.engine.dispose()
        if app.state.get("read_engine") is not None:
            await app.state.read_engine.dispose()

    exception_handlers: dict[Any, Any] = {
        AppError: app_error_handler,
        ValidationException: validation_error_handler,
        HTTPException: http_error_handler,
        DBAPIError: database_unavailable_handler,
        ConnectionError: database_unavailable_handler,
        OSError: database_unavailable_handler,  # 503 only when raised by the database driver
        Exception: internal_error_handler,
    }
    limits: list[Any] = [QueryStringLimitMiddleware(settings.max_query_string_bytes)]
    if settings.rate_limit_enabled:
        limits.insert(0, RateLimitMiddleware(settings))
    return Litestar(
        route_handlers=[api_router(settings), dashboard_router(), health, ready, MetricsController],
        middleware=[RequestContextMiddleware(), *limits, prometheus.middleware],
        before_send=[security_headers(settings)],
        exception_handlers=exception_handlers,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=openapi_config(),
        plugins=[ClosedInputSchemaPlugin()],
        cors_config=CORSConfig(allow_origins=settings.cors_origins) if settings.cors_origins else None,
        request_max_body_size=settings.max_body_bytes,
        state=State({"settings": settings}),
        logging_config=None,
        debug=False,
    )


def openapi_config() -> OpenAPIConfig:
    """The OpenAPI document served at /schema and written to api_specs/openapi.json."""
    return OpenAPIConfig(
        title="Technology-results and IP exchange API",
        version=API_VERSION,
        description=(
            "The API of a regional technology-results and IP exchange (科技成果与知识产权交易平台). "
            "Authenticate with `Authorization: Bearer <API key>`. Errors are RFC 9457 problem+json. "
            "Lists are cursor-paged: follow `next_cursor`. POSTs accept `Idempotency-Key`."
        ),
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        use_handler_docstrings=False,
        create_examples=False,
        webhooks=openapi_webhooks(),
    )


__all__ = ["API_PREFIX", "accounts", "create_app", "events"]
