"""The gateway's Prometheus metrics: requests by route template, status and role; upstream latency per
service; rate-limit refusals; each instance's circuit; summed across gunicorn processes, and on the
metrics port only when one is set."""

from __future__ import annotations

import os
import sys
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.keys import Keys
from gateway.tokens import issue_access_token
from servicekit.identity import Identity
from tests.support.processes import Process, free_port, wait_for
from tests.support.wsgi_server import Server

from .conftest import bearer, gateway_app
from .test_deployed_command import procfile_gateway_command
from .upstream import service_app

FORWARDED = "/api/<service>/<path:rest>"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, frozenset(labels.items())), 0.0)


def test_requests_upstream_latency_refusals_and_circuits_are_counted(
    sqlite_runtime, sqlite_service, blackhole, guard_clock
):
    service = sqlite_service
    env = {
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "3",
        "GATEWAY_RATE_LIMITS_BY_ROLE": "unit_officer=3",
        "GATEWAY_UPSTREAM_TIMEOUT": "0.2",
        "GATEWAY_BREAKER_FAILURES": "1",
        "GATEWAY_BREAKER_COOLDOWN": "60",
    }
    app = gateway_app(sqlite_runtime, env, quota=service.url, evaluation=service.url, finance=blackhole.url)
    client = app.test_client()

    def scrape() -> dict:
        answer = client.get("/metrics")
        assert answer.status_code == 200 and answer.mimetype == "text/plain"
        return samples(answer.get_data(as_text=True))

    before = scrape()
    officer = bearer(app, "unit_officer", subject="metrics.officer", unit_id="u1")
    assert [client.get("/api/quota/whoami", headers=officer).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert client.get("/api/quota/whoami").status_code == 401
    assert client.get("/api/evaluation/public/certificates").status_code == 200
    admin = bearer(app, "federation_admin", subject="metrics.admin")
    assert client.get("/auth/me", headers=admin).status_code == 200
    assert client.get("/api/finance/whoami", headers=admin).status_code == 504  # the hanging instance
    after = scrape()

    def delta(name: str, **labels) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    requests_total = "gateway_requests_total"
    forwarded = {"method": "GET", "route": FORWARDED}
    assert delta(requests_total, **forwarded, service="quota", status="200", role="unit_officer") == 3
    assert delta(requests_total, **forwarded, service="quota", status="429", role="none") == 1
    assert delta(requests_total, **forwarded, service="quota", status="401", role="none") == 1
    assert delta(requests_total, **forwarded, service="evaluation", status="200", role="public") == 1
    assert (
        delta(requests_total, method="GET", route="/auth/me", service="gateway", status="200", role="federation_admin")
        == 1
    )
    assert delta(requests_total, **forwarded, service="finance", status="504", role="federation_admin") == 1
    assert delta("gateway_rate_limited_total", limit="requests") == 1
    assert delta("gateway_upstream_duration_seconds_count", service="quota") == 3
    assert delta("gateway_upstream_duration_seconds_count", service="finance") == 0, "timed out: no answer to time"
    assert delta("gateway_request_duration_seconds_count", route=FORWARDED, service="quota") == 5

    instance = lambda url: url.removeprefix("http://")  # noqa: E731
    assert value(after, "gateway_upstream_circuit_open", service="finance", instance=instance(blackhole.url)) == 1
    assert value(after, "gateway_upstream_circuit_open", service="quota", instance=instance(service.url)) == 0
    assert not any("whoami" in str(labels) for _, labels in after), "route templates only, never paths"


def test_summed_across_processes_and_only_on_the_metrics_port(tmp_path, monkeypatch):
    for name in ("GATEWAY_DATABASE_URL", "IDENTITY_SIGNING_KEY", "GATEWAY_SECRET_KEY", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    var_dir = tmp_path / "var"
    service = Server(service_app(var_dir))
    port, metrics_port = free_port(), free_port()
    env = {
        "VAR_DIR": str(var_dir),
        "PORT": str(port),
        "METRICS_PORT": str(metrics_port),
        "WEB_CONCURRENCY": "2",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        **{f"{name}_URLS": service.url for name in ("QUOTA", "ENROLLMENT", "FINANCE", "EVALUATION")},
    }
    gateway = Process(procfile_gateway_command(), env, tmp_path / "gateway.log")
    base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        wait_for(lambda: _status(metrics) == 200, timeout=60, message="the metrics port")
        token = issue_access_token(
            Identity(subject="a.officer", role="unit_officer", unit_id="u1"),
            Keys.load(var_dir).access_token,
            now=int(time.time()),
            lifetime=300,
        )
        for _ in range(40):  # new connections each: both processes take some
            answer = requests.get(f"{base}/api/quota/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5)
            assert answer.status_code == 200
        assert requests.get(f"{base}/metrics", timeout=5).status_code == 404, "never on the public port"
        scraped = samples(requests.get(metrics, timeout=5).text)
    finally:
        gateway.stop()
        service.stop()
    labels = {"method": "GET", "route": FORWARDED, "service": "quota", "status": "200", "role": "unit_officer"}
    assert value(scraped, "gateway_requests_total", **labels) == 40
    assert value(scraped, "gateway_upstream_duration_seconds_count", service="quota") == 40


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=1).status_code
    except requests.RequestException:
        return None
