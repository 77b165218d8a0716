"""Request ids and timing, shared by the gateway and every service's api."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable

from flask import Flask, Response, g, request

from .logging import request_id

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# Probed every few seconds: noise in the access log and the request metrics.
QUIET_ROUTES = ("/healthz", "/readyz", "/metrics")

Finished = Callable[[Response, str, float], None]


def install_request_context(app: Flask, on_finished: Finished) -> None:
    """Take a well-formed X-Request-ID or make one, return it, and report each request.

    `on_finished(response, route_template, seconds)` is called for every request
    but the quiet ones; it sees the route template, never the concrete path,
    which may carry identifiers.
    """

    @app.before_request
    def _start():
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else str(uuid.uuid4())
        g.request_id_token = request_id.set(g.request_id)

    @app.after_request
    def _finish(response: Response):
        response.headers["X-Request-ID"] = g.get("request_id") or str(uuid.uuid4())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        if route not in QUIET_ROUTES:
            on_finished(response, route, time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.teardown_request
    def _forget(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)
