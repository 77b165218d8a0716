"""The embedded default: no servers, SQLite and kombu's filesystem:// under var/, separate processes."""

from __future__ import annotations

import json
import os
import subprocess

import requests
from prometheus_client.parser import text_string_to_metric_families

from .support.processes import REPO, Process, free_port, python_module, wait_for

SERVER_VARIABLES = ("PROBE_DATABASE_URL", "BROKER_URL", "BUS_NAMESPACE")


def test_event_round_trip_between_api_and_worker_processes_on_the_embedded_default(tmp_path, monkeypatch):
    for name in SERVER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    env = {"VAR_DIR": str(tmp_path / "var"), "BUS_RETRY_DELAYS_MS": "300", "RELAY_POLL_SECONDS": "0.05"}
    port = free_port()
    api = Process(
        ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "tests.probe.wsgi:app"],
        {
            **env,
            "PORT": str(port),
            "WEB_CONCURRENCY": "2",
            "PATH": os.path.dirname(os.sys.executable) + os.pathsep + os.environ["PATH"],
        },
        tmp_path / "api.log",
    )
    worker = Process(python_module("tests.probe", "worker"), env, tmp_path / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _get(f"{base}/readyz") == 200, timeout=30, message="the api to be ready")
        assert (tmp_path / "var" / "probe.db").exists(), "migrated at start in local mode"

        created = requests.post(f"{base}/notes", json={"key": "local", "count": 2}, timeout=5)
        assert created.status_code == 201
        flaky = requests.post(f"{base}/notes", json={"key": "local-flaky", "fail_until_attempt": 2}, timeout=5)
        assert flaky.status_code == 201
        poison = requests.post(f"{base}/notes", json={"key": "local-poison", "poison": True}, timeout=5)
        [poison_id] = poison.json()["event_ids"]

        tally = lambda key: requests.get(f"{base}/tallies/{key}", timeout=5).json()  # noqa: E731
        wait_for(lambda: tally("local")["count"] == 2, timeout=30, message="both events handled by the worker")
        assert {h["pid"] for h in tally("local")["handlings"]} == {worker.pid}
        wait_for(lambda: tally("local-flaky")["count"] == 1, timeout=30, message="the retried event")
        assert tally("local-flaky")["handlings"][0]["attempt"] == 2

        def dead_letter_ids():
            listing = subprocess.run(
                python_module("tests.probe", "deadletters", "list", "--json"),
                cwd=REPO,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=60,
            )
            return [letter["id"] for letter in json.loads(listing.stdout)]

        assert wait_for(lambda: dead_letter_ids() == [poison_id], timeout=30, message="the poison parked")

        # The requests of both gunicorn workers, summed (each "new connection" may land on either).
        metrics = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=5).text)
            for sample in family.samples
        }
        posted = (("method", "POST"), ("route", "/notes"), ("service", "probe"), ("status", "201"))
        assert metrics[("http_requests_total", posted)] == 3
        assert metrics[("outbox_pending_events", (("service", "probe"),))] == 0
    finally:
        api.stop()
        worker.stop()


def _get(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.RequestException:
        return None
