"""The gateway as deploy/Procfile starts it: gunicorn with GatewayWorker, two processes, the embedded default."""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from gateway.keys import Keys
from gateway.tokens import issue_access_token
from servicekit.identity import Identity
from tests.support.processes import REPO, Process, free_port, wait_for
from tests.support.wsgi_server import Server

from .upstream import service_app


def procfile_gateway_command() -> list[str]:
    line = next(line for line in (REPO / "deploy" / "Procfile").read_text().splitlines() if line.startswith("gateway:"))
    words = shlex.split(line.removeprefix("gateway:"))
    return words[words.index("gunicorn") :]


def test_the_procfile_command_serves_forwards_and_stops_cleanly(tmp_path, monkeypatch):
    for name in ("GATEWAY_DATABASE_URL", "IDENTITY_SIGNING_KEY", "GATEWAY_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)  # the embedded default: SQLite and keys under var/
    var_dir = tmp_path / "var"
    service = Server(service_app(var_dir))
    port = free_port()
    env = {
        "VAR_DIR": str(var_dir),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "INFO",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
        **{f"{name}_URLS": service.url for name in ("QUOTA", "ENROLLMENT", "FINANCE", "EVALUATION")},
    }
    gateway = Process(procfile_gateway_command(), env, tmp_path / "gateway.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _status(f"{base}/healthz") == 200, timeout=60, message="the gateway to serve")
        token = issue_access_token(
            Identity(subject="a.officer", role="unit_officer", unit_id="u1"),
            Keys.load(var_dir).access_token,
            now=int(time.time()),
            lifetime=300,
        )
        with requests.Session() as session:  # keep-alive: several requests on one connection
            answers = [
                session.post(
                    f"{base}/api/quota/whoami",
                    data=f"body {n}",
                    headers={"Authorization": f"Bearer {token}", "X-Request-ID": f"deployed-{n}"},
                    timeout=5,
                )
                for n in range(20)
            ]
        assert [answer.status_code for answer in answers] == [200] * 20
        assert {(a.json()["subject"], a.json()["unit_id"]) for a in answers} == {("a.officer", "u1")}
        assert [answer.json()["body"] for answer in answers] == [f"body {n}" for n in range(20)]
        assert answers[0].headers["X-Request-ID"] == "deployed-0" and "Server" not in answers[0].headers
        assert (
            requests.get(f"{base}/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=5).json()["unit_id"]
            == "u1"
        )  # the Flask routes, in the same processes

        def keep_calling(_) -> list[int]:  # 16 clients at once, each on its keep-alive connection
            with requests.Session() as session:
                return [
                    session.get(
                        f"{base}/api/quota/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5
                    ).status_code
                    for _ in range(150)
                ]

        # Sustained concurrent keep-alive load on the real processes (wrk found uvloop stalling under it: worker.py).
        with ThreadPoolExecutor(16) as pool:
            assert [status for run in pool.map(keep_calling, range(16)) for status in run] == [200] * 2400
    finally:
        gateway.stop()
        service.stop()
    assert gateway.popen.returncode == 0, gateway.log()
    access = [
        json.loads(line) for line in gateway.log().splitlines() if line.startswith("{") and '"logger": "access"' in line
    ]
    forwarded = [entry for entry in access if entry.get("request_id", "").startswith("deployed-")]
    assert len(forwarded) == 20 and {entry["route"] for entry in forwarded} == {"/api/<service>/<path:rest>"}
    assert "Traceback" not in gateway.log()


def _status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=1).status_code
    except requests.RequestException:
        return None
