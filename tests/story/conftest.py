"""A Python client generated from api_specs/openapi.json during the run (never committed), and a driver for it.

The story tests talk to the app only through this client, as an integrator would: if the spec and the app
disagree, the generated models fail to build or to parse the answers.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.factories import Actor

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "api_specs" / "openapi.json"
PACKAGE = "marketplace_client"


@pytest.fixture(scope="session")
def generated() -> Iterator[ModuleType]:
    """Generate the client package into a temporary folder with openapi-python-client and import it."""
    tool = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
        "openapi-python-client"
    )
    if tool is None:
        pytest.fail("openapi-python-client is a dev dependency: install the project with [dev]")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="client-") as tmp:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        result = subprocess.run(
            [tool, "generate", "--path", str(SPEC), "--meta", "none", "--output-path", f"{tmp}/{PACKAGE}"],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Warning" not in result.stdout, result.stdout  # every operation and schema was generated
        sys.path.insert(0, tmp)
        try:
            package = importlib.import_module(PACKAGE)
            yield package
        finally:
            sys.path.remove(tmp)
            for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
                del sys.modules[name]


@dataclass
class Api:
    """Calls operations of the generated client as one actor or another, and insists on the status."""

    package: ModuleType
    transport: httpx.AsyncBaseTransport

    def client(self, actor: Actor | None) -> Any:
        """The generated client authenticated as the actor (anonymous for None)."""
        args = {"base_url": "http://testserver", "httpx_args": {"transport": self.transport}}
        if actor is None:
            return self.package.Client(**args)
        return self.package.AuthenticatedClient(token=actor.key, **args)

    def model(self, name: str, data: dict[str, Any]) -> Any:
        """A request model of the generated client built from plain data."""
        return getattr(importlib.import_module(f"{PACKAGE}.models"), name).from_dict(data)

    async def call(self, operation: str, actor: Actor | None, *, expect: int = 200, **kwargs: Any) -> Any:
        """Run `tag.operation_id` (e.g. "listings.create_listing"); return the whole response."""
        module = importlib.import_module(f"{PACKAGE}.api.{operation}")
        response = await module.asyncio_detailed(client=self.client(actor), **kwargs)
        assert response.status_code == expect, (operation, response.status_code, response.content[:2000])
        return response

    async def parsed(self, operation: str, actor: Actor | None, *, expect: int = 200, **kwargs: Any) -> Any:
        """Run an operation and return its parsed answer as plain data (through the generated model)."""
        response = await self.call(operation, actor, expect=expect, **kwargs)
        parsed = response.parsed
        if parsed is None:  # operations that answer JSON or CSV are typed Any: read the JSON ourselves
            return json.loads(response.content)
        return parsed.to_dict() if hasattr(parsed, "to_dict") else parsed


@pytest.fixture
def api(generated: ModuleType, client: httpx.AsyncClient, app: Litestar) -> Api:
    """The generated client on the app, each request in the test's transaction (the `client` fixture set it up)."""
    return Api(package=generated, transport=httpx.ASGITransport(app=app))
