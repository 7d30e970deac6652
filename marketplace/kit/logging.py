"""Structured logs: JSON lines (or console lines) with the request id bound by middleware."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

# Secrets by shape (API keys `mkt_…`, webhook secrets `whsec_…`, bearer credentials) and by field name.
_SECRET_VALUE_RE = re.compile(r"\b(mkt_|whsec_)[A-Za-z0-9_\-+/=]{6,}|(?i:\b(bearer|basic)\s+)[A-Za-z0-9_\-+/=.~]{6,}")
_SECRET_NAME_RE = re.compile(r"authorization|cookie|secret|password|passwd|api[_-]?key|token|credential", re.I)
REDACTED = "[redacted]"


def _scrub(value: str) -> str:
    return _SECRET_VALUE_RE.sub(lambda m: (m.group(1) or m.group(2) + " ") + REDACTED, value)


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Blank fields named like secrets and any key- or secret-shaped text (tracebacks included)."""
    for name, value in list(event_dict.items()):
        if _SECRET_NAME_RE.search(name) and not name.endswith(("_id", "_prefix", "_count")):
            event_dict[name] = REDACTED
        elif isinstance(value, str):
            event_dict[name] = _scrub(value)
        elif isinstance(value, dict | list | tuple):
            event_dict[name] = _scrub(repr(value)) if _SECRET_VALUE_RE.search(repr(value)) else value
    return event_dict


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    """Route stdlib and structlog records through one renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "sqlalchemy.engine", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
