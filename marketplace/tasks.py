"""Import every domain's job handlers and outbox subscriptions, so the worker knows them all."""

from __future__ import annotations

import importlib
import pkgutil

import marketplace


def load_all() -> list[str]:
    """Import `marketplace.<domain>.tasks` for every domain that has one; return their names."""
    loaded = []
    for module in pkgutil.iter_modules(marketplace.__path__):
        if not module.ispkg:
            continue
        name = f"marketplace.{module.name}.tasks"
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        loaded.append(name)
    return loaded
