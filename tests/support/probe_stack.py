"""The probe service on the real servers (see stack.py), with helpers for its notes and tallies."""

from __future__ import annotations

import pytest

from .processes import wait_for
from .stack import ServiceStack


class ProbeStack(ServiceStack):
    def __init__(self, env: dict, tmp_path):
        super().__init__("tests.probe", env, tmp_path)

    def note(self, key: str, **behaviour) -> list[str]:
        response = self.client.post("/notes", json={"key": key, **behaviour})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["event_ids"]

    def tally(self, key: str) -> dict:
        return self.client.get(f"/tallies/{key}").get_json()

    def wait_count(self, key: str, count: int, timeout: float = 60.0) -> dict:
        wait_for(lambda: self.tally(key)["count"] >= count, timeout, message=f"{count} handlings of {key}")
        return self.tally(key)


@pytest.fixture
def probe_env(servers, vhost, make_database, service_env) -> dict:
    return service_env(PROBE_DATABASE_URL=make_database("probe"))


@pytest.fixture
def probe(probe_env, tmp_path):
    stack = ProbeStack(probe_env, tmp_path)
    yield stack
    stack.close()
