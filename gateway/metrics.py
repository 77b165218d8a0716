"""The gateway's Prometheus metrics, summed across its gunicorn processes as the services' are.

Requests by route template (never the concrete path), status and the caller's role; how long each
service's instances take to answer; rate-limit refusals; whether each instance's circuit is open.
Where METRICS_PORT is set (compose, Kubernetes), /metrics answers only there, so the public port
never shows them.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import Counter, Gauge, Histogram

from servicekit.metrics import exposition

blueprint = Blueprint("metrics", __name__)

NO_ROLE = "none"  # refused before being admitted (401, 403, 429); "public" for open routes

REQUESTS = Counter(
    "gateway_requests_total", "Requests the gateway answered", ["method", "route", "service", "status", "role"]
)
LATENCY = Histogram(
    "gateway_request_duration_seconds",
    "Time from a request's arrival to its answer's headers",
    ["route", "service"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
UPSTREAM_LATENCY = Histogram(
    "gateway_upstream_duration_seconds",
    "Time an instance of the service took to start answering a forwarded request",
    ["service"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RATE_LIMITED = Counter("gateway_rate_limited_total", "Requests refused for their rate (429)", ["limit"])
# Each process has its own breakers: the highest state among the living processes is shown.
CIRCUIT_OPEN = Gauge(
    "gateway_upstream_circuit_open",
    "1 while an instance's circuit is open (skipped after consecutive failures), else 0",
    ["service", "instance"],
    multiprocess_mode="livemax",
)


def record_request(method: str, route: str, service: str | None, status: int, role: str | None, seconds: float):
    service = service or "gateway"
    REQUESTS.labels(method, route, service, str(status), role or NO_ROLE).inc()
    LATENCY.labels(route, service).observe(seconds)


@blueprint.get("/metrics")
def metrics():
    port = current_app.config["GATEWAY_SETTINGS"].metrics_port
    if port is not None and request.environ.get("SERVER_PORT") != str(port):
        abort(404)
    return Response(exposition(), mimetype="text/plain; version=0.0.4")
