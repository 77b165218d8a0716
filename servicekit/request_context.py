"""Request ids and timing, shared by the gateway and every service's api."""

from __future__ import annotations

import contextvars
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
# What the request does (method and route template) and, when the caller says so in X-Purpose, why: recorded
# where a service shows personal data in full.
purpose: contextvars.ContextVar[str] = contextvars.ContextVar("purpose", default="")


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
        doing = f"{request.method} {request.url_rule.rule if request.url_rule else request.path}"
        given = request.headers.get("X-Purpose", "").strip()
        g.purpose_token = purpose.set(f"{doing}: {given}"[:200] if given else doing)

    @app.after_request
    def _finish(response: Response):
        response.headers["X-Request-ID"] = g.get("request_id") or str(uuid.uuid4())
        route = request.url_rule.rule if request.url_rule else "unmatched"
        if route not in QUIET_ROUTES:
            on_finished(response, route, time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.teardown_request
    def _forget(_exc):
        for var, name in ((request_id, "request_id_token"), (purpose, "purpose_token")):
            token = g.pop(name, None)
            if token is not None:
                var.reset(token)
