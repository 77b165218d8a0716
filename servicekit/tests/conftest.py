"""The probe service (tests/probe) embedded (SQLite, no broker): a whole service's HTTP interface, no servers."""

from __future__ import annotations

import pytest

from servicekit import Runtime, create_app
from servicekit.migrations import upgrade
from tests.probe.service import SERVICE


@pytest.fixture
def probe_runtime(tmp_path, monkeypatch):
    for name in ("PROBE_DATABASE_URL", "BROKER_URL", "BUS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    runtime = Runtime(SERVICE)
    upgrade(runtime)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture
def client(probe_runtime):
    return create_app(SERVICE, probe_runtime).test_client()
