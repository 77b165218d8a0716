"""The probe service on the real servers: in-process api, worker processes, operator CLI."""
from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from servicekit import Runtime, create_app
from servicekit.migrations import upgrade
from tests.probe.service import SERVICE

from .processes import REPO, Process, python_module, wait_for


class ProbeStack:
    def __init__(self, env: dict, tmp_path: Path):
        self.env, self.tmp_path = env, tmp_path
        self.runtime = Runtime(SERVICE)
        upgrade(self.runtime)
        self.cli("migrate")  # the operator's way: also declares the queues
        self.client = create_app(SERVICE, self.runtime).test_client()
        self.bus = self.runtime.settings.bus
        self._processes: list[Process] = []
        self._numbers = itertools.count(1)

    def worker(self, **extra_env) -> Process:
        number = next(self._numbers)
        process = Process(python_module("tests.probe", "worker"), {**self.env, **extra_env},
                          self.tmp_path / f"worker-{number}.log")
        self._processes.append(process)
        return process

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        import os
        return subprocess.run(python_module("tests.probe", *args), cwd=REPO, env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=60)

    def note(self, key: str, **behaviour) -> list[str]:
        response = self.client.post("/notes", json={"key": key, **behaviour})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.get_json()["event_ids"]

    def tally(self, key: str) -> dict:
        return self.client.get(f"/tallies/{key}").get_json()

    def wait_count(self, key: str, count: int, timeout: float = 20.0) -> dict:
        wait_for(lambda: self.tally(key)["count"] >= count, timeout, message=f"{count} handlings of {key}")
        return self.tally(key)

    def tap(self, routing_key: str) -> Queue:
        """A queue of the test's own on the events exchange, to see exactly what was published."""
        queue = Queue(f"{self.bus.namespace}tap.{routing_key}", Exchange(self.bus.exchange, "topic", durable=True),
                      routing_key=routing_key, durable=False, auto_delete=False)
        with self.connection() as connection:
            queue(connection.default_channel).declare()
        return queue

    def drain(self, queue: Queue) -> list:
        with self.connection() as connection:
            bound = queue(connection.default_channel)
            messages = []
            while (message := bound.get(no_ack=True)) is not None:
                messages.append(message)
            return messages

    def connection(self) -> Connection:
        return Connection(self.bus.url, transport_options=self.bus.transport_options)

    def close(self) -> None:
        for process in self._processes:
            process.stop()
        self.runtime.engine.dispose()


@pytest.fixture
def probe_env(servers, vhost, make_database, bus_namespace, tmp_path, monkeypatch) -> dict:
    env = {
        "PROBE_DATABASE_URL": make_database("probe"),
        "BROKER_URL": servers.amqp_url(vhost),
        "BUS_NAMESPACE": bus_namespace,
        "BUS_RETRY_DELAYS_MS": "200,400",
        "RELAY_POLL_SECONDS": "0.05",
        "VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "INFO",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def probe(probe_env, tmp_path):
    stack = ProbeStack(probe_env, tmp_path)
    yield stack
    stack.close()
