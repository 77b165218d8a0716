"""Requests per second and latency through the gateway, beside the same requests straight to the
service and through nginx as a plain reverse proxy (when installed), in one run.

    python benchmarks/gateway_throughput.py [--seconds 8] [--connections 16] [--workers 1 2]

Two endpoints of a service api (gunicorn, 2 gthread workers, PostgreSQL): a trivial one
(/healthz) and a read (/tallies/<key> of the probe service: a query of 20 rows on PostgreSQL
and their JSON). The gateway (as deployed: gunicorn with gateway.worker.GatewayWorker, i.e.
uvicorn and httptools) authenticates a bearer JWT, counts the client's rate in its
PostgreSQL database, signs the identity header, forwards over pooled keep-alive connections
and writes its JSON access log; it runs with each number of worker processes given. Load: wrk
(2 threads) on the same machine, so every figure shares the CPU with the load generator. The baseline a Python gateway is judged
by, a naive Flask forwarder (benchmarks/naive_forwarder.py: requests, gunicorn sync:4, nothing else), runs
in the same run; the last column is each path's throughput over the naive forwarder's. Needs wrk, the local
PostgreSQL (PG_ADMIN_DSN), and optionally nginx. A script, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PG_ADMIN_DSN = os.environ.get(
    "PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres password=postgres dbname=postgres"
)
SERVICE_PORT, GATEWAY_PORT, NGINX_PORT, NAIVE_PORT = 18101, 18100, 18102, 18103
NAIVE = "naive forwarder"
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float


def database_url(name: str) -> str:
    params = dict(part.split("=", 1) for part in PG_ADMIN_DSN.split())
    password = f":{params['password']}" if params.get("password") else ""
    return (
        f"postgresql+psycopg://{params.get('user', 'postgres')}{password}@{params.get('host', '127.0.0.1')}:"
        f"{params.get('port', '5432')}/{name}"
    )


def wait_ready(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=open(log, "ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> Figures:
    options = [item for name, value in headers.items() for item in ("-H", f"{name}: {value}")]

    def command(duration: int) -> list[str]:
        return ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s", "--latency", *options, url]

    subprocess.run(command(2), capture_output=True, check=True)  # warm-up: pools filled, code paths hot
    output = subprocess.run(command(seconds), capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise SystemExit(f"{url}: errors under load\n{output}")

    def percentile(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * UNITS[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    return Figures(rps, percentile("50"), percentile("99"))


def nginx_config(folder: Path) -> Path:
    config = folder / "nginx.conf"
    config.write_text(f"""
worker_processes 2;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {folder}; proxy_temp_path {folder}; fastcgi_temp_path {folder};
  uwsgi_temp_path {folder}; scgi_temp_path {folder};
  upstream service {{ server 127.0.0.1:{SERVICE_PORT}; keepalive 32; }}
  server {{
    listen 127.0.0.1:{NGINX_PORT};
    location /api/quota/ {{
      proxy_pass http://service/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }}
  }}
}}
""")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--workers", nargs="+", type=int, default=[1, 2], help="gateway worker processes (one run each)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")

    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    databases = {name: f"bench_{name}_{uuid.uuid4().hex[:8]}" for name in ("probe", "gateway")}
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        for name in databases.values():
            admin.execute(f'CREATE DATABASE "{name}"')
    access_key, client_key = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    env = {
        "VAR_DIR": str(folder / "var"),
        "LOG_LEVEL": "WARNING",
        "GATEWAY_ACCESS_TOKEN_KEY": access_key,  # the identity key pair is made once under VAR_DIR/keys/
        "GATEWAY_CLIENT_SECRET_KEY": client_key,
        "PROBE_DATABASE_URL": database_url(databases["probe"]),
        "GATEWAY_DATABASE_URL": database_url(databases["gateway"]),
        "WEB_CONCURRENCY": "2",
        "GATEWAY_RATE_LIMIT_PER_MINUTE": "100000000",
        "MIGRATE_ON_START": "0",
    }
    env |= {
        f"{service}_URLS": f"http://127.0.0.1:{SERVICE_PORT}"
        for service in ("QUOTA", "ENROLLMENT", "FINANCE", "EVALUATION")
    }
    os.environ.update(env)
    processes = []
    try:
        token = prepare(env)
        processes.append(
            start(
                ["gunicorn", "-c", "python:servicekit.gunicorn_conf", "tests.probe.wsgi:app"],
                env | {"PORT": str(SERVICE_PORT)},
                folder / "service.log",
            )
        )
        wait_ready(f"http://127.0.0.1:{SERVICE_PORT}/healthz")
        paths = {"trivial": "/healthz", "read": "/tallies/bench"}
        results: dict[tuple[str, str], Figures] = {}
        for kind, path in paths.items():
            results[("direct", kind)] = wrk(
                f"http://127.0.0.1:{SERVICE_PORT}{path}", args.seconds, args.connections, {}
            )
        if shutil.which("nginx"):
            nginx = start(["nginx", "-c", str(nginx_config(folder)), "-g", "daemon off;"], {}, folder / "nginx.log")
            processes.append(nginx)
            wait_ready(f"http://127.0.0.1:{NGINX_PORT}/api/quota/healthz")
            for kind, path in paths.items():
                results[("nginx", kind)] = wrk(
                    f"http://127.0.0.1:{NGINX_PORT}/api/quota{path}", args.seconds, args.connections, {}
                )
            stop(nginx)
        naive = start(
            ["gunicorn", "-w", "4", "-b", f"127.0.0.1:{NAIVE_PORT}", "benchmarks.naive_forwarder:app"],
            env | {"NAIVE_UPSTREAM": f"http://127.0.0.1:{SERVICE_PORT}"},
            folder / "naive.log",
        )
        processes.append(naive)
        wait_ready(f"http://127.0.0.1:{NAIVE_PORT}/api/quota/healthz")
        for kind, path in paths.items():
            results[(NAIVE, kind)] = wrk(
                f"http://127.0.0.1:{NAIVE_PORT}/api/quota{path}", args.seconds, args.connections, {}
            )
        stop(naive)
        for workers in args.workers:
            gateway = start(
                [
                    "gunicorn",
                    "-c",
                    "python:servicekit.gunicorn_conf",
                    "-k",
                    "gateway.worker.GatewayWorker",
                    "gateway.asgi:app",
                ],
                # INFO, as deployed: the access log is part of the gateway's cost.
                env | {"PORT": str(GATEWAY_PORT), "WEB_CONCURRENCY": str(workers), "LOG_LEVEL": "INFO"},
                folder / f"gateway-{workers}.log",
            )
            processes.append(gateway)
            wait_ready(f"http://127.0.0.1:{GATEWAY_PORT}/healthz")
            for kind, path in paths.items():
                results[(f"gateway x{workers}", kind)] = wrk(
                    f"http://127.0.0.1:{GATEWAY_PORT}/api/quota{path}",
                    args.seconds,
                    args.connections,
                    {"Authorization": f"Bearer {token}"},
                )
            stop(gateway)
        report(results, args)
    finally:
        for process in processes:
            stop(process)
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            for name in databases.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def prepare(env: dict) -> str:
    """Migrate both databases, seed the read endpoint's rows, and mint an access token."""
    from gateway.keys import Keys
    from gateway.service import SERVICE as GATEWAY
    from gateway.tokens import issue_access_token
    from servicekit import Runtime
    from servicekit.identity import Identity
    from servicekit.migrations import upgrade
    from tests.probe.models import Handling, Tally
    from tests.probe.service import SERVICE as PROBE

    gateway = Runtime(GATEWAY)
    upgrade(gateway)
    probe = Runtime(PROBE)
    upgrade(probe)
    with probe.sessions.begin() as session:
        session.add(Tally(key="bench", count=20))
        session.add_all(Handling(event_id=str(uuid.uuid4()), key="bench", pid=1, attempt=1) for _ in range(20))
    for runtime in (gateway, probe):
        runtime.engine.dispose()
    keys = Keys.load(Path(env["VAR_DIR"]))
    return issue_access_token(
        Identity(subject="bench", role="federation_admin"), keys.access_token, now=int(time.time()), lifetime=3600
    )


def report(results: dict[tuple[str, str], Figures], args) -> None:
    print(
        f"\nwrk -t{min(2, args.connections)} -c{args.connections} -d{args.seconds}s, {os.cpu_count()} CPUs shared with the load generator"
    )
    print(f"{'path':<20}{'endpoint':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'share':>8}{'p50 +ms':>9}{'x naive':>9}")
    for (route, kind), figures in results.items():
        direct, naive = results[("direct", kind)], results[(NAIVE, kind)]
        print(
            f"{route:<20}{kind:<9}{figures.rps:>9.0f}{figures.p50_ms:>9.2f}{figures.p99_ms:>9.2f}"
            f"{figures.rps / direct.rps:>7.0%} {figures.p50_ms - direct.p50_ms:>9.2f}{figures.rps / naive.rps:>8.2f}x"
        )


if __name__ == "__main__":
    raise SystemExit(main())
