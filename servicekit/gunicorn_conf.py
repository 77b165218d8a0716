"""gunicorn settings for every `api` process (and the gateway), from the environment."""

import faulthandler
import os
import shutil
import sys
import tempfile
from importlib import import_module

from prometheus_client import multiprocess, values

from servicekit.logging import NOISY

# Every gunicorn worker writes its counters there, and /metrics adds them up across workers.
_made_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="upskilling-metrics-")
# This module's package (servicekit, imported first) has imported prometheus_client already, which then
# chose its in-process value class: choose again now that the directory is known, or each worker would
# count for itself and /metrics (reading the directory) would show no request at all.
values.ValueClass = values.get_value_class()

PORT = os.environ.get("PORT", "8000")
# Local runs answer on the loopback only; the containers (compose, Kubernetes) set HOST=0.0.0.0.
HOST = os.environ.get("HOST") or "127.0.0.1"
# METRICS_PORT: a second listener for Prometheus, never published (the gateway then answers /metrics there only).
bind = [f"{HOST}:{PORT}"] + ([f"{HOST}:{os.environ['METRICS_PORT']}"] if os.environ.get("METRICS_PORT") else [])
# Each master its own control socket (`gunicornc -s PATH`, named in the log at start): gunicorn's
# default is one per user ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl), which the masters of
# ./dev up took from one another. This module is read by the master, so the pid is the master's.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(
    tempfile.gettempdir(), f"gunicorn-{PORT}-{os.getpid()}.ctl"
)
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Threads keep callers' connections alive (the gateway's pools among them); the gateway's own command
# sets its worker class (-k gateway.worker.GatewayWorker).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
accesslog = None  # the app writes its own access log without personal data
errorlog = "-"


def _service(app_uri: str) -> str:
    """services.quota.wsgi:app -> quota, gateway.asgi:app -> gateway."""
    parts = app_uri.split(":")[0].split(".")
    return parts[1] if parts[0] == "services" and len(parts) > 1 else parts[0]


# gunicorn's own lines (starting, workers booted or killed) in the processes' format (LOG_FORMAT).
_level = (os.environ.get("LOG_LEVEL") or "INFO").upper()
logconfig_dict = {
    "formatters": {"upskilling": {"()": "servicekit.logging.formatter", "service": _service(sys.argv[-1])}},
    "handlers": {
        "upskilling": {"class": "logging.StreamHandler", "formatter": "upskilling", "stream": "ext://sys.stderr"}
    },
    "root": {"level": _level, "handlers": ["upskilling"]},
    "loggers": {
        "gunicorn.error": {"level": _level, "handlers": ["upskilling"], "propagate": False},
        # as configure_logging quiets them (local runs migrate in the master: alembic's chatter)
        **{name: {"level": "WARNING"} for name in NOISY},
    },
}


def on_starting(server):
    """In local mode, migrate once in the master, before any worker serves."""
    package = server.app.app_uri.split(":")[0].rsplit(".", 1)[0]
    try:
        service = import_module(package + ".service").SERVICE
    except ModuleNotFoundError:
        return  # the gateway has no database
    from servicekit.migrations import upgrade
    from servicekit.service import Runtime

    runtime = Runtime(service)
    if runtime.settings.migrate_on_start:
        upgrade(runtime)


def post_worker_init(worker):
    """A worker the master finds silent for `timeout` seconds (WORKER TIMEOUT) is sent SIGABRT: each of its
    threads' stacks goes to the log first, saying where it hung, then gunicorn's own handler ends it."""
    faulthandler.enable(file=sys.stderr, all_threads=True)  # SIGABRT among the fatal signals it reports


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)
