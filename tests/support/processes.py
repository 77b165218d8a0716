"""Real processes for tests: a service's worker or api, started and always stopped."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class Process:
    """`group`: the process leads a process group of its own (gunicorn's master and workers), killed whole."""

    def __init__(self, args: list[str], env: dict, log_path: Path, *, group: bool = False):
        self.log_path, self.group = log_path, group
        self._log = open(log_path, "ab")  # noqa: SIM115 closed in stop()
        self.popen = subprocess.Popen(
            args,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye to the broker (the whole group: as a container dies)."""
        if self.group:
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        elif self.group:  # the leader is gone; make sure nothing of its group outlives the test
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def log_tail(path: Path, lines: int) -> str:
    """A process log's last lines but its access lines: what to read when a test fails."""
    kept = [line for line in path.read_text(errors="replace").splitlines() if '"logger": "access"' not in line]
    return f"== {path.name}\n" + "\n".join(line[:400] for line in kept[-lines:])


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def handled_in_batches(worker: Process, since: int = 0) -> bool:
    """Whether a worker (LOG_LEVEL INFO) handled more than one event in one transaction, in its log from `since` on."""
    batches = [json.loads(line) for line in worker.log()[since:].splitlines() if '"batch handled"' in line]
    return max(b["events"] for b in batches) > 1


def free_port() -> int:
    """A port free now for a server to listen on: one not handed out before in this process, and below the
    kernel's ephemeral range. A port the kernel picks (bind to 0) lies in that range, from which outgoing
    connections (a migration's, a worker's) take their local ports: one could hold it before the server binds it,
    or the kernel could hand it out twice, and a service's requests would reach another service."""
    low = _ephemeral_low()
    while True:
        port = random.randrange(LISTENER_PORTS_FROM, low) if low > LISTENER_PORTS_FROM + 1000 else 0
        if port in _HANDED_OUT:
            continue
        try:
            with socket.create_server(("127.0.0.1", port)) as probe:
                port = probe.getsockname()[1]
        except OSError:
            continue
        _HANDED_OUT.add(port)
        return port


LISTENER_PORTS_FROM = 20000
_HANDED_OUT: set[int] = set()


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
