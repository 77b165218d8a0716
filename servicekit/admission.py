"""Overload refused early and honestly: a request that waited too long for a worker thread is answered
503 with Retry-After before any of its work is done, instead of being done after its caller gave up.

The gateway stamps each forwarded request with `X-Request-Start: t=<epoch milliseconds>`; gunicorn
queues connections while every thread of a worker is busy, so the time from that stamp to the first
line of the service's code is the time the request queued. Past `API_QUEUE_BUDGET_SECONDS` (default 3,
well inside the gateway's 10 s upstream timeout) the caller would likely have heard 504 while the work
went on: the service refuses it instead, and nothing was written. A caller retrying after Retry-After
is safe (the writes a gateway may time out are idempotent: registrations, results, payments).
Clocks are assumed synchronised (NTP); a stamp from the future or more than 5 minutes old is ignored.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, request
from prometheus_client import Counter

from .errors import define_problem, problem_response
from .request_context import QUIET_ROUTES

log = logging.getLogger(__name__)

QUEUE_HEADER = "X-Request-Start"
OVERLOAD_RETRY_AFTER_SECONDS = 2
IMPLAUSIBLE_WAIT_SECONDS = 300

OVERLOADED = define_problem(
    "overloaded",
    503,
    "The service is saturated; nothing was done, try again shortly",
    "服务繁忙，请求未被处理，请稍后重试",
)
REFUSED_OVERLOADED = Counter(
    "http_requests_refused_overloaded_total",
    "Requests refused 503 before any work because they queued past the budget",
    ["service"],
)


def queued_seconds(stamp: str | None, now: float) -> float | None:
    """How long ago the gateway forwarded the request, from `t=<epoch ms>`; None when unknown or implausible."""
    if not stamp:
        return None
    value = stamp.strip().removeprefix("t=")
    try:
        waited = now - float(value) / 1000
    except ValueError:
        return None
    return waited if 0 <= waited <= IMPLAUSIBLE_WAIT_SECONDS else None


def install_admission(app: Flask, service: str, budget_seconds: float) -> None:
    if budget_seconds <= 0:
        return

    @app.before_request
    def _admit():
        if request.path in QUIET_ROUTES:
            return None
        waited = queued_seconds(request.headers.get(QUEUE_HEADER), time.time())
        if waited is None or waited <= budget_seconds:
            return None
        REFUSED_OVERLOADED.labels(service).inc()
        log.warning("request refused: it queued past the budget", extra={"queued_ms": round(waited * 1000)})
        return problem_response(OVERLOADED, headers={"Retry-After": str(OVERLOAD_RETRY_AFTER_SECONDS)})
