"""The gateway on a migrated database of its own, and access tokens for any role."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.app import create_app
from gateway.config import load_settings
from gateway.guard import EXTENSION as GUARD
from gateway.service import SERVICE
from gateway.tokens import issue_access_token
from servicekit.config import Settings, load_bus_settings
from servicekit.identity import Identity
from servicekit.migrations import upgrade
from servicekit.service import Runtime


def migrated_runtime(var_dir: Path, database_url: str | None = None) -> Runtime:
    """The gateway's runtime on its own database (SQLite under `var_dir` unless a URL is given)."""
    settings = Settings(service="gateway", var_dir=var_dir,
                        database_url=database_url or f"sqlite:///{var_dir / 'gateway.db'}",
                        migrate_on_start=False, log_level="INFO", bus=load_bus_settings(var_dir))
    runtime = Runtime(SERVICE, settings)
    upgrade(runtime)
    return runtime


def gateway_app(runtime: Runtime, env: dict | None = None, **urls: str):
    """A gateway app; `urls` are service=base URLs (unnamed services point at a closed port)."""
    env = {f"{service.upper()}_URLS": url for service, url in urls.items()} | {
        "GATEWAY_UPSTREAM_TIMEOUT": "0.5"} | (env or {})
    return create_app(load_settings(env), runtime=runtime)


def bearer(app, role: str, subject: str = "tester", *, now: float | None = None, lifetime: int = 900,
           **scope) -> dict:
    """An Authorization header with an access token the gateway signed for this identity."""
    token = issue_access_token(Identity(subject=subject, role=role, **scope),
                               app.extensions[GUARD].keys.access_token,
                               now=int(time.time() if now is None else now), lifetime=lifetime)
    return {"Authorization": f"Bearer {token}"}


def authorized_client(app, role: str = "federation_admin", **scope):
    """A test client that sends a bearer token for `role` with every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(app, role, **scope)["Authorization"]
    return client


@pytest.fixture(scope="module")
def sqlite_runtime(tmp_path_factory):
    runtime = migrated_runtime(tmp_path_factory.mktemp("gateway-var"))
    yield runtime
    runtime.engine.dispose()
