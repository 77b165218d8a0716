"""BUS_QUEUE_TYPE=quorum (what a RabbitMQ cluster runs, deploy/kubernetes): every queue of a service is a
quorum queue, and the bus keeps its guarantees on them, on the real RabbitMQ: delivery, retries through
the TTL queues, dead letters and their replay."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from .support.probe_stack import ProbeStack
from .support.processes import wait_for

pytestmark = pytest.mark.servers


@pytest.fixture
def quorum_probe(make_database, service_env, tmp_path):
    stack = ProbeStack(service_env(PROBE_DATABASE_URL=make_database("probe"), BUS_QUEUE_TYPE="quorum"), tmp_path)
    yield stack
    stack.close()


def queue_types(servers, vhost: str, namespace: str) -> dict[str, str]:
    listed = subprocess.run(
        [*servers.rabbitmqctl, "list_queues", "-p", vhost, "name", "type", "-q", "--formatter", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {q["name"]: q["type"] for q in json.loads(listed.stdout) if q["name"].startswith(namespace)}


def test_every_queue_is_a_quorum_queue_and_retries_dead_letters_and_replays_work(
    quorum_probe, servers, vhost, bus_namespace
):
    probe = quorum_probe
    assert queue_types(servers, vhost, bus_namespace) == {
        f"{bus_namespace}probe": "quorum",
        f"{bus_namespace}probe.retry.200ms": "quorum",
        f"{bus_namespace}probe.retry.400ms": "quorum",
        f"{bus_namespace}probe.dead": "quorum",
        f"{bus_namespace}upskilling.unroutable.incoming": "quorum",  # the events no queue is bound to
        f"{bus_namespace}upskilling.unroutable": "quorum",
    }
    probe.worker()

    probe.note("plain")
    assert probe.wait_count("plain", 1)["count"] == 1

    started = time.monotonic()
    [flaky] = probe.note("flaky", fail_until_attempt=3)
    tally = probe.wait_count("flaky", 1)
    assert [(h["event_id"], h["attempt"]) for h in tally["handlings"]] == [(flaky, 3)]
    assert time.monotonic() - started >= 0.6, "waited out both retry queues' TTLs"

    [poison] = probe.note("poison", poison=True)

    def dead_letters() -> dict:
        listing = probe.cli("deadletters", "list", "--json")
        assert listing.returncode == 0, listing.stderr
        return {letter["id"]: letter for letter in json.loads(listing.stdout)}

    letters = wait_for(lambda: poison in (found := dead_letters()) and found, timeout=30, message="the dead letter")
    assert letters[poison]["attempts"] == 3
    assert probe.client.post("/cures/poison").status_code == 201
    assert probe.cli("deadletters", "replay", poison).returncode == 0
    assert probe.wait_count("poison", 1)["count"] == 1
    assert dead_letters() == {}


def test_switching_an_existing_broker_to_another_queue_type_is_refused_loudly(quorum_probe):
    """RabbitMQ never converts a queue: a migrate with the other type fails instead of running half-declared."""
    result = quorum_probe.cli("migrate", BUS_QUEUE_TYPE="classic")
    assert result.returncode != 0
    assert "x-queue-type" in result.stderr + result.stdout
