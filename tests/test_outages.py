"""Outages, one at a time, on the real PostgreSQL and RabbitMQ behind TCP proxies the tests cut: the apis answer
503 `unavailable` with Retry-After (never 500), readiness goes red and green again, workers wait the database
out without spending a message's retries, and idle connections to the broker stay up."""

from __future__ import annotations

import json
import time
import uuid
from importlib import import_module
from urllib.parse import urlsplit

import pytest

import contracts
from gateway.tests.conftest import bearer, gateway_app, migrated_runtime
from gateway.tests.upstream import service_app
from servicekit.bus.envelope import Envelope
from tests.support.probe_stack import ProbeStack
from tests.support.wsgi_server import Server

from .support.processes import wait_for
from .support.tcpproxy import TcpProxy
from .test_bus_reliability import outbox_pending, publish_raw

pytestmark = pytest.mark.servers


def through(proxy: TcpProxy, url: str) -> str:
    """The same URL with the proxy's port instead of the server's."""
    port = urlsplit(url).port
    return url.replace(f":{port}/", f":{proxy.port}/", 1)


@pytest.fixture
def database_proxy(servers):
    with TcpProxy(servers.pg_host, servers.pg_port) as proxy:
        yield proxy


@pytest.fixture
def probe_behind(database_proxy, servers, service_env, make_database, tmp_path):
    """The probe service whose database is reached through the proxy (api in-process, workers as processes)."""
    env = service_env(PROBE_DATABASE_URL=through(database_proxy, make_database("probe")))
    stack = ProbeStack(env, tmp_path)
    yield stack
    stack.close()


def assert_unavailable(response, english: bool = False) -> dict:
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    assert body["code"] == "unavailable"
    assert body["title"] == (
        "Temporarily unavailable: the database is unreachable, try again shortly"
        if english
        else "数据库暂时无法访问，请稍后重试"
    )
    return body


def log_lines(process, message: str) -> list[dict]:
    return [entry for line in process.log().splitlines() if (entry := _json(line)) and entry.get("msg") == message]


def _json(line: str) -> dict | None:
    try:
        return json.loads(line)
    except ValueError:
        return None


def test_database_down_the_api_answers_503_and_the_worker_waits_it_out_counting_no_attempt(
    probe_behind, database_proxy
):
    probe = probe_behind
    worker = probe.worker()
    probe.note("before")
    probe.wait_count("before", 1)
    assert probe.client.get("/readyz").status_code == 200

    database_proxy.cut()
    assert_unavailable(probe.client.post("/notes", json={"key": "during"}))
    assert_unavailable(probe.client.get("/tallies/before", headers={"Accept-Language": "en"}), english=True)
    ready = probe.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"].startswith("unreachable")
    # Events arrive meanwhile, as other services go on publishing: the consumer takes them, cannot commit,
    # and hands them back; with retries of 200 and 400 ms they would be dead letters within a second.
    sent = [
        Envelope.new("probe.noted", {"note_id": str(uuid.uuid4()), "key": "arrived"}, producer="other")
        for _ in range(5)
    ]
    for event in sent:
        publish_raw(probe, event.to_json(), message_id=event.id)
    wait_for(lambda: log_lines(worker, "consumer paused: the database is unreachable; its messages stay on the broker"))
    wait_for(lambda: log_lines(worker, "relay paused: the database is unreachable"))
    time.sleep(3)

    database_proxy.restore()
    wait_for(lambda: probe.client.get("/readyz").status_code == 200, timeout=15, message="ready again")
    tally = probe.wait_count("arrived", 5, timeout=30)
    assert sorted(h["event_id"] for h in tally["handlings"]) == sorted(e.id for e in sent)
    assert {h["attempt"] for h in tally["handlings"]} == {1}, "the outage cost no attempt"
    probe.note("after")  # the relay publishes again, the consumer handles again
    probe.wait_count("after", 1, timeout=30)
    time.sleep(0.5)
    assert probe.tally("arrived")["count"] == 5
    assert json.loads(probe.cli("deadletters", "list", "--json").stdout) == []
    assert outbox_pending(probe) == 0
    assert log_lines(worker, "consumer resumes: the database answers again")
    assert not [line for line in worker.log().splitlines() if '"level": "error"' in line]


def test_idle_worker_keeps_its_broker_connections_through_many_heartbeat_intervals(probe):
    """Unserviced, an idle relay's connection dropped after two heartbeat intervals (60 s by default)."""
    worker = probe.worker(BROKER_HEARTBEAT="3")
    probe.note("first")
    probe.wait_count("first", 1)
    time.sleep(15)  # five heartbeat intervals with nothing to publish or consume

    started = time.monotonic()
    probe.note("after-idling")
    probe.wait_count("after-idling", 1, timeout=5)
    assert time.monotonic() - started < 2, "delivered promptly, on the connections kept open"
    lost = [line for line in worker.log().splitlines() if "lost the broker" in line]
    assert not lost, lost
    assert len(log_lines(worker, "relay connected")) == 1
    assert len(log_lines(worker, "consumer ready")) == 1


def test_gateway_database_down_logins_and_rate_limited_routes_answer_503_then_recover(
    servers, make_database, database_proxy, tmp_path, monkeypatch
):
    monkeypatch.delenv("IDENTITY_SIGNING_KEY", raising=False)
    var_dir = tmp_path / "var"
    service = Server(service_app(var_dir))
    runtime = migrated_runtime(var_dir, through(database_proxy, make_database("gateway")))
    try:
        gateway = gateway_app(
            runtime,
            {"GATEWAY_BOOTSTRAP_ADMIN": "admin", "GATEWAY_BOOTSTRAP_PASSWORD": "correct horse battery"},
            quota=service.url,
        )
        client = gateway.test_client()
        login = {"username": "admin", "password": "correct horse battery"}
        assert client.post("/auth/token", json=login).status_code == 200

        database_proxy.cut()
        refused = client.post("/auth/token", json=login)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.get_json()["code"] == "unavailable"
        # a caller the gateway has not counted yet needs the rate store: 503, not 500
        forwarded = client.get("/api/quota/whoami", headers=bearer(gateway, "auditor", subject="new-caller"))
        assert forwarded.status_code == 503 and forwarded.get_json()["code"] == "unavailable", forwarded.get_data(
            as_text=True
        )
        assert forwarded.headers["Retry-After"]
        assert client.get("/readyz").status_code == 503

        database_proxy.restore()
        wait_for(lambda: client.post("/auth/token", json=login).status_code == 200, timeout=15, message="logins")
        answer = client.get("/api/quota/whoami", headers=bearer(gateway, "auditor", subject="new-caller"))
        assert answer.status_code == 200
    finally:
        service.stop()
        runtime.engine.dispose()


def test_every_event_a_service_publishes_has_a_consumer():
    """ARCHITECTURE.md: an idle system has an empty outbox. An unroutable event is recorded and logged as an
    error (tests/test_bus_reliability.py), so no event type may be left without a consumer."""
    services = ("quota", "enrollment", "finance", "evaluation")
    handled = set().union(*(import_module(f"services.{name}.service").SERVICE.handlers for name in services))
    published = {c.type for c in contracts.contracts() if c.producer in services}
    assert published - handled == set()
