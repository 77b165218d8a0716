"""One service on the real servers, for tests: in-process api, worker processes, operator CLI, the bus.

stack = ServiceStack("services.quota", env, tmp_path)
stack.client.post("/campaigns", json=..., headers=stack.as_caller("federation_admin"))
stack.worker()                                  # a real `python -m services.quota worker`
stack.publish("enrollment.requested", {...})    # an event as another service would send it
stack.tap("quota.reserved") / stack.drain(tap)  # what the service published
"""

from __future__ import annotations

import importlib
import itertools
import os
import subprocess
from pathlib import Path

import pytest
from kombu import Connection, Queue

from servicekit import Runtime, create_app
from servicekit.bus.envelope import Envelope
from servicekit.bus.topology import events_exchange
from servicekit.migrations import upgrade
from servicekit.testing import as_caller

from .processes import REPO, Process, log_tail, python_module


class ServiceStack:
    def __init__(self, module: str, env: dict, tmp_path: Path):
        self.module, self.env, self.tmp_path = module, env, tmp_path
        self.service = importlib.import_module(f"{module}.service").SERVICE
        self.runtime = Runtime(self.service)
        upgrade(self.runtime)
        result = self.cli("migrate")  # the operator's way: also declares the queues
        assert result.returncode == 0, result.stderr
        self.app = create_app(self.service, self.runtime)
        self.client = self.app.test_client()
        self.bus = self.runtime.settings.bus
        self._processes: list[Process] = []
        self._numbers = itertools.count(1)

    def as_caller(self, role: str, subject: str = "tester", **scope) -> dict:
        return as_caller(self.app, role, subject, **scope)

    def worker(self, **extra_env) -> Process:
        process = Process(
            python_module(self.module, "worker"),
            {**self.env, **extra_env},
            self.tmp_path / f"{self.service.name}-worker-{next(self._numbers)}.log",
        )
        self._processes.append(process)
        return process

    def cli(self, *args: str, **extra_env) -> subprocess.CompletedProcess:
        return subprocess.run(
            python_module(self.module, *args),
            cwd=REPO,
            env={**os.environ, **self.env, **extra_env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def publish(self, event_type: str, data: dict, *, producer: str = "test") -> Envelope:
        """Send an event (validated against its contract) as another service would."""
        return self.publish_many([(event_type, data)], producer=producer)[0]

    def publish_many(self, events: list[tuple[str, dict]], *, producer: str = "test") -> list[Envelope]:
        """Send (type, data) events in order on one connection, as a busy producer sends a burst."""
        envelopes = [Envelope.new(event_type, data, producer=producer) for event_type, data in events]
        with self.connection() as connection:
            exchange = events_exchange(self.bus)
            publisher = connection.Producer(exchange=exchange)
            for event in envelopes:
                publisher.publish(
                    event.to_json(),
                    routing_key=event.type,
                    content_type="application/json",
                    content_encoding="utf-8",
                    message_id=event.id,
                    declare=[exchange],
                )
        return envelopes

    def tap(self, routing_key: str) -> Queue:
        """A queue of the test's own on the events exchange, to see exactly what was published."""
        queue = Queue(
            f"{self.bus.namespace}tap.{routing_key}",
            events_exchange(self.bus),
            routing_key=routing_key,
            durable=False,
            auto_delete=False,
        )
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
            # pytest shows a test's captured output only when it failed: there, what its processes said
            print(log_tail(process.log_path, 40))
        self.runtime.engine.dispose()


@pytest.fixture
def service_env(servers, vhost, bus_namespace, make_database, tmp_path, monkeypatch):
    """Environment for one service on fresh databases: `service_env("quota")` -> env dict (also set here)."""

    def make(*names: str, **extra) -> dict:
        env = {
            "BROKER_URL": servers.amqp_url(vhost),
            "BUS_NAMESPACE": bus_namespace,
            "BUS_RETRY_DELAYS_MS": "200,400",
            "RELAY_POLL_SECONDS": "0.05",
            "VAR_DIR": str(tmp_path / "var"),
            "LOG_LEVEL": "INFO",
            **extra,
        }
        for name in names:
            env[f"{name.upper()}_DATABASE_URL"] = make_database(name)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return make


@pytest.fixture
def stack_of(service_env, tmp_path):
    """`stack_of("quota")` -> a ServiceStack on fresh databases, closed after the test."""
    stacks = []

    def make(name: str, **extra_env) -> ServiceStack:
        env = service_env(name, **extra_env)
        stack = ServiceStack(f"services.{name}", env, tmp_path)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()
