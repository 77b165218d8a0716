"""The gateway on a migrated database of its own, and access tokens for any role."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.app import create_gateway
from gateway.config import load_settings
from gateway.guard import EXTENSION as GUARD
from gateway.service import SERVICE
from gateway.tokens import issue_access_token
from servicekit.config import Settings, load_bus_settings
from servicekit.identity import Identity
from servicekit.migrations import upgrade
from servicekit.service import Runtime
from tests.support.wsgi_server import Server

from . import serving
from .upstream import Blackhole, service_app

ADMIN_PASSWORD = "correct horse battery"


class GuardClock:
    """The guard's clock, moved only by the test: login delays cannot run out, nor a fixed window of the
    login or rate limits turn, while a slow runner is still sending the requests."""

    def __init__(self):
        self.now = time.time()

    def time(self) -> float:
        return self.now


@pytest.fixture
def guard_clock(monkeypatch) -> GuardClock:
    clock = GuardClock()
    monkeypatch.setattr("gateway.guard.time", clock)
    return clock


def migrated_runtime(var_dir: Path, database_url: str | None = None) -> Runtime:
    """The gateway's runtime on its own database (SQLite under `var_dir` unless a URL is given)."""
    settings = Settings(
        service="gateway",
        var_dir=var_dir,
        database_url=database_url or f"sqlite:///{var_dir / 'gateway.db'}",
        migrate_on_start=False,
        log_level="INFO",
        bus=load_bus_settings(var_dir),
    )
    runtime = Runtime(SERVICE, settings)
    upgrade(runtime)
    return runtime


def gateway_app(runtime: Runtime, env: dict | None = None, **urls: str) -> serving.RunningGateway:
    """A gateway serving on a port of its own; `urls` are service=base URLs (unnamed services point at a
    closed port). A test's gateways stop when it ends (`_stop_the_tests_gateways`)."""
    env = (
        {f"{service.upper()}_URLS": url for service, url in urls.items()}
        | {"GATEWAY_UPSTREAM_TIMEOUT": "0.5"}
        | (env or {})
    )
    return serving.RunningGateway(create_gateway(load_settings(env), runtime=runtime))


def bearer(app, role: str, subject: str = "tester", *, now: float | None = None, lifetime: int = 900, **scope) -> dict:
    """An Authorization header with an access token the gateway signed for this identity."""
    token = issue_access_token(
        Identity(subject=subject, role=role, **scope),
        app.extensions[GUARD].keys.access_token,
        now=int(time.time() if now is None else now),
        lifetime=lifetime,
    )
    return {"Authorization": f"Bearer {token}"}


def authorized_client(app, role: str = "federation_admin", **scope):
    """A test client that sends a bearer token for `role` with every request."""
    client = app.test_client()
    client.default_headers.update(bearer(app, role, **scope))
    return client


@pytest.fixture(autouse=True)
def _stop_the_tests_gateways():
    before = set(serving.running())
    yield
    for gateway in set(serving.running()) - before:
        gateway.stop()


@pytest.fixture(scope="module")
def sqlite_runtime(tmp_path_factory):
    runtime = migrated_runtime(tmp_path_factory.mktemp("gateway-var"))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def sqlite_service(sqlite_runtime):
    """A stand-in service that verifies identities with the key of the gateway on `sqlite_runtime`."""
    server = Server(service_app(sqlite_runtime.settings.var_dir))
    yield server
    server.stop()


@pytest.fixture
def blackhole():
    """An instance that accepts connections and never answers."""
    hole = Blackhole()
    yield hole
    hole.stop()


# ---------------------------------------------------------------- a gateway on PostgreSQL before a stand-in service


@pytest.fixture
def var_dir(tmp_path, monkeypatch):
    # No key configured: gateway and service share the one made under var/, as in the embedded run.
    monkeypatch.delenv("IDENTITY_SIGNING_KEY", raising=False)
    monkeypatch.delenv("GATEWAY_SECRET_KEY", raising=False)
    return tmp_path / "var"


@pytest.fixture
def service(var_dir):
    server = Server(service_app(var_dir))
    yield server
    server.stop()


@pytest.fixture
def runtime(var_dir, make_database):
    runtime = migrated_runtime(var_dir, make_database("gateway"))
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def make_gateway(runtime, service):
    def make(**env):
        env = {"GATEWAY_BOOTSTRAP_ADMIN": "admin", "GATEWAY_BOOTSTRAP_PASSWORD": ADMIN_PASSWORD} | env
        return gateway_app(
            runtime, env, **{name: service.url for name in ("quota", "enrollment", "finance", "evaluation")}
        )

    return make


@pytest.fixture
def gateway(make_gateway):
    return make_gateway().test_client()


def login(client, username="admin", password=ADMIN_PASSWORD, headers=None):
    return client.post("/auth/token", json={"username": username, "password": password}, headers=headers)


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def admin_token(client) -> str:
    response = login(client)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


def make_user(client, username, role, password="a long password 1", **scope):
    response = client.post(
        "/auth/users",
        json={"username": username, "password": password, "role": role, **scope},
        headers=auth(admin_token(client)),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()
