"""servicekit.gunicorn_conf, as every api and the gateway run it: each master its own control socket,
and the loopback unless HOST says otherwise."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support.processes import Process, free_port, wait_for


def app(environ, start_response):  # the smallest WSGI app gunicorn can serve
    if environ["PATH_INFO"] == "/hang":
        hang_past_the_timeout()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def hang_past_the_timeout() -> None:
    time.sleep(60)


async def event_loop_app(scope, receive, send):  # the gateway's kind: one event loop serves every request
    if scope["type"] == "http":
        if scope["path"] == "/hang":
            hang_past_the_timeout()  # blocks the loop, as anything synchronous there would
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def gunicorn(tmp_path: Path, port: int, *options: str, app: str = "app", **env) -> Process:
    command = [sys.executable, "-m", "gunicorn", "-c", "python:servicekit.gunicorn_conf", *options, f"{__name__}:{app}"]
    settings = {"PORT": str(port), "WEB_CONCURRENCY": "1", "TMPDIR": str(tmp_path), **env}
    return Process(command, settings, tmp_path / f"gunicorn-{port}.log")


def control(socket_path: Path, command: str) -> dict:
    gunicornc = Path(sys.executable).with_name("gunicornc")
    answer = subprocess.run(
        [str(gunicornc), "-s", str(socket_path), "-c", command, "-j"], capture_output=True, text=True, timeout=30
    )
    assert answer.returncode == 0, answer.stderr
    return json.loads(answer.stdout)


def test_each_master_has_its_own_control_socket_and_binds_the_loopback(tmp_path):
    ports = [free_port(), free_port()]
    masters = [gunicorn(tmp_path, port) for port in ports]
    try:
        sockets = [tmp_path / f"gunicorn-{port}-{master.pid}.ctl" for port, master in zip(ports, masters)]
        for path, master in zip(sockets, masters):
            wait_for(lambda path=path: path.exists(), timeout=30, message=f"{path.name}: {master.log()}")
        for path, master, port in zip(sockets, masters, ports):
            assert control(path, "show stats")["pid"] == master.pid
            (listener,) = control(path, "show listeners")["listeners"]
            assert listener["address"].endswith(f"127.0.0.1:{port}")
            assert f"Control socket listening at {path}" in master.log()
    finally:
        for master in masters:
            master.stop()
    assert not any(path.exists() for path in sockets), "a master removes its socket when it stops"


def test_host_and_control_socket_are_configurable(tmp_path):
    port, path = free_port(), tmp_path / "chosen.ctl"
    master = gunicorn(tmp_path, port, HOST="0.0.0.0", GUNICORN_CONTROL_SOCKET=str(path))
    try:
        wait_for(path.exists, timeout=30, message=f"the chosen control socket: {master.log()}")
        (listener,) = control(path, "show listeners")["listeners"]
        assert listener["address"].endswith(f"0.0.0.0:{port}")
        assert os.stat(path).st_mode & 0o077 == 0, "only the owner may control the master"
    finally:
        master.stop()


def test_a_worker_killed_for_hanging_leaves_where_it_hung_in_the_log(tmp_path):
    port = free_port()
    worker = ("-k", "gateway.worker.GatewayWorker")
    master = gunicorn(tmp_path, port, *worker, app="event_loop_app", GUNICORN_TIMEOUT="2")
    try:
        wait_for(lambda: "Booting worker" in master.log(), timeout=30, message=master.log())
        with contextlib.suppress(OSError):  # the worker dies without answering
            urllib.request.urlopen(f"http://127.0.0.1:{port}/hang", timeout=30)
        wait_for(lambda: "WORKER TIMEOUT" in master.log(), timeout=30, message=master.log())
        wait_for(lambda: "hang_past_the_timeout" in master.log(), timeout=10, message=master.log())
    finally:
        master.stop()
