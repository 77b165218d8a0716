"""The whole system deployed as in production, for fault tests.

PostgreSQL and RabbitMQ are each reached through a TCP proxy the test cuts; every
service's api is gunicorn with deploy/Procfile's command on a port of its own and its
worker a `python -m services.<svc> worker` process, each in a session (a scheduling group) of
its own, the workers weighed as compose weighs them; the gateway (in the test's process)
is in front of the apis. `kill_api` / `kill_worker` send SIGKILL and start the process
again, as a supervisor (or a container runtime) would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.tests.conftest import gateway_app, migrated_runtime

from .campaign import ADMIN, SERVICES
from .processes import REPO, Process, free_port, log_tail, python_module, wait_for
from .tcpproxy import TcpProxy

# Compose gives a worker a quarter of an api's CPU weight (cpu_shares 256 against 1024, deploy/docker-compose.yml).
# Here each process leads a session, which the kernel's autogroups weigh by the session's nice: 6 weighs 272/1024.
WORKER_AUTOGROUP_NICE = 6


def weigh_as_compose(pid: int) -> None:
    try:
        Path(f"/proc/{pid}/autogroup").write_text(str(WORKER_AUTOGROUP_NICE))
    except OSError as exc:  # a kernel without autogroups: the worker weighs as much as an api
        print(f"worker {pid} not weighed as compose weighs it: {exc}", file=sys.stderr)


class Direct:
    """A server reached without a proxy (a benchmark's stack: nothing to cut, nothing in the way)."""

    def __init__(self, port: int):
        self.port = port

    def __exit__(self, *exc) -> None:
        pass


class Deployed:
    def __init__(self, servers, vhost: str, tmp: Path, *, proxied: bool = True, gateway_process: bool = False, **env):
        """`gateway_process`: the gateway under gunicorn in processes of its own, as deploy/Procfile starts
        it (the benchmarks: nothing the measuring script does shares the gateway's interpreter); otherwise
        in this process, where a test can reach into it."""
        self.servers, self.tmp = servers, tmp
        if proxied:
            self.pg = TcpProxy(servers.pg_host, servers.pg_port).__enter__()
            self.amqp = TcpProxy(servers.amqp_host, servers.amqp_port).__enter__()
        else:
            self.pg, self.amqp = Direct(servers.pg_port), Direct(servers.amqp_port)
        self.databases = {name: f"t_{name}_{uuid.uuid4().hex[:10]}" for name in (*SERVICES, "gateway")}
        for database in self.databases.values():
            servers.create_database(database)
        common = {
            "BROKER_URL": servers.amqp_url(vhost, port=self.amqp.port),
            "BUS_NAMESPACE": f"t{uuid.uuid4().hex[:8]}.",
            "VAR_DIR": str(tmp / "var"),
            "LOG_LEVEL": "INFO",
            "WEB_CONCURRENCY": "1",
            "GUNICORN_THREADS": "4",
            **env,
        }
        self.env = {
            name: {**common, f"{name.upper()}_DATABASE_URL": self.database_url(name, self.pg.port)} for name in SERVICES
        }
        self.ports = {name: free_port() for name in SERVICES}
        self.apis: dict[str, Process] = {}
        self.workers: dict[str, Process] = {}
        self._starts = 0
        self.gateway = self.gateway_runtime = None
        try:
            migrations = [
                subprocess.Popen(
                    python_module(f"services.{name}", "migrate"),
                    cwd=REPO,
                    env={**os.environ, **self.env[name]},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for name in SERVICES
            ]
            for migration in migrations:
                assert migration.wait(timeout=180) == 0, migration.stderr.read().decode()
            for name in SERVICES:
                self.start_api(name)
                self.start_worker(name)
            for name in SERVICES:
                self.wait_ready(name)
            settings = {
                "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000",
                "GATEWAY_LOGIN_FAILURES_PER_ADDRESS": "100000",
                "GATEWAY_UPSTREAM_TIMEOUT": "10",
                "GATEWAY_BREAKER_COOLDOWN": "1",
                "GATEWAY_BOOTSTRAP_ADMIN": ADMIN[0],
                "GATEWAY_BOOTSTRAP_PASSWORD": ADMIN[1],
            }
            upstreams = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
            if gateway_process:
                self.gateway = GatewayProcess(self, common, settings, upstreams)
            else:
                self.gateway_runtime = migrated_runtime(tmp / "var", self.database_url("gateway", self.pg.port))
                self.gateway = gateway_app(self.gateway_runtime, settings, **upstreams)
        except BaseException:
            self.close()
            raise

    @property
    def url(self) -> str:
        return self.gateway.url

    def database_url(self, name: str, port: int) -> str:
        return self.servers.database_url(self.databases[name]).replace(f":{self.servers.pg_port}/", f":{port}/")

    # ------------------------------------------------------------ processes

    def _log(self, kind: str, name: str) -> Path:
        self._starts += 1
        return self.tmp / f"{name}-{kind}-{self._starts}.log"

    def start_api(self, name: str) -> None:
        command = python_module("gunicorn", "-c", "python:servicekit.gunicorn_conf", f"services.{name}.wsgi:app")
        env = {**self.env[name], "PORT": str(self.ports[name])}
        self.apis[name] = Process(command, env, self._log("api", name), group=True)

    def start_worker(self, name: str) -> None:
        self.workers[name] = Process(
            python_module(f"services.{name}", "worker"), self.env[name], self._log("worker", name), group=True
        )
        weigh_as_compose(self.workers[name].pid)

    def kill_api(self, name: str, down_for: float = 1.0) -> None:
        self.apis[name].kill()
        self.apis[name].stop()
        time.sleep(down_for)  # the supervisor notices, then starts it again
        self.start_api(name)

    def kill_worker(self, name: str, down_for: float = 1.0) -> None:
        self.workers[name].kill()
        self.workers[name].stop()
        time.sleep(down_for)
        self.start_worker(name)

    def ready(self, name: str) -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{self.ports[name]}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, name: str, timeout: float = 60) -> None:
        wait_for(lambda: self.ready(name), timeout, interval=0.2, message=f"{name}'s api ready")

    # ------------------------------------------------------------ what an operator looks at

    def metrics(self, name: str) -> dict[tuple, float]:
        """The api's /metrics as {(metric, labels...): value}."""
        text = requests.get(f"http://127.0.0.1:{self.ports[name]}/metrics", timeout=10).text
        return {
            (sample.name, *sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def cli(self, name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            python_module(f"services.{name}", *args),
            cwd=REPO,
            env={**os.environ, **self.env[name]},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def cli_everywhere(self, *args: str) -> dict[str, tuple[int, str, str]]:
        """The same command of every service, run at once: {service: (exit status, stdout, stderr)}."""
        running = {
            name: subprocess.Popen(
                python_module(f"services.{name}", *args),
                cwd=REPO,
                env={**os.environ, **self.env[name]},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in SERVICES
        }
        return {name: (process.wait(120), *process.communicate()) for name, process in running.items()}

    def tails(self, lines: int = 15) -> str:
        """The last lines of every process's log but its access lines: what to read when the test fails."""
        return "\n".join(log_tail(path, lines) for path in sorted(self.tmp.glob("*.log")))

    def close(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
        if self.gateway_runtime is not None:
            self.gateway_runtime.engine.dispose()
        for process in [*self.apis.values(), *self.workers.values()]:
            process.stop()
        self.pg.__exit__(None, None, None)
        self.amqp.__exit__(None, None, None)
        for database in self.databases.values():
            self.servers.drop_database(database)


class GatewayProcess:
    """The gateway as deploy/Procfile runs it: migrated by `python -m gateway migrate`, then gunicorn with
    the gateway's worker class, on a port of its own."""

    def __init__(self, deployed: Deployed, common: dict, settings: dict, upstreams: dict[str, str]):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **common,
            **settings,
            **{f"{name.upper()}_URLS": url for name, url in upstreams.items()},
            "GATEWAY_DATABASE_URL": deployed.database_url("gateway", deployed.pg.port),
            "PORT": str(port),
        }
        migrated = subprocess.run(
            python_module("gateway", "migrate"), cwd=REPO, env={**os.environ, **env}, capture_output=True, timeout=180
        )
        assert migrated.returncode == 0, migrated.stderr.decode()
        command = python_module(
            "gunicorn",
            "-c",
            "python:servicekit.gunicorn_conf",
            "-k",
            "gateway.worker.GatewayWorker",
            "gateway.asgi:app",
        )
        self.process = Process(command, env, deployed._log("api", "gateway"), group=True)
        wait_for(self._ready, 60, interval=0.2, message="the gateway ready")

    def _ready(self) -> bool:
        try:
            return requests.get(f"{self.url}/readyz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        self.process.stop()
