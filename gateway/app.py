"""The gateway's Flask app: request ids, access log, upstream failures as problems, the routes."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request
from servicekit.errors import (BAD_GATEWAY, GATEWAY_TIMEOUT, SERVICE_UNAVAILABLE, install_error_handlers,
                               problem_response)
from servicekit.logging import configure_logging, request_id

from . import forwarding, health, openapi
from .config import GatewaySettings, load_settings
from .upstreams import (EXTENSION, UpstreamError, UpstreamFailed, Upstreams, UpstreamTimeout,
                        UpstreamUnavailable)

access_log = logging.getLogger("access")
log = logging.getLogger(__name__)

REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# The services' own limit (servicekit.app): a bigger body would be refused there anyway.
MAX_BODY_BYTES = 10 * 1024 * 1024
QUIET_ROUTES = ("/healthz", "/readyz")  # probed every few seconds: noise in the access log

UPSTREAM_PROBLEMS = {
    UpstreamUnavailable: (SERVICE_UNAVAILABLE, "The {} service is unavailable."),
    UpstreamTimeout: (GATEWAY_TIMEOUT, "The {} service did not answer in time."),
    UpstreamFailed: (BAD_GATEWAY, "The {} service failed to answer."),
}


def create_app(settings: GatewaySettings | None = None, upstreams: Upstreams | None = None) -> Flask:
    settings = settings or load_settings()
    configure_logging("gateway", settings.log_level)
    app = Flask("gateway", static_folder=None)  # nothing static: no /static route to shadow
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY_BYTES)
    app.json.ensure_ascii = False
    app.config["GATEWAY_SETTINGS"] = settings
    app.extensions[EXTENSION] = upstreams or Upstreams(
        settings.upstreams, connect_timeout=settings.connect_timeout, read_timeout=settings.upstream_timeout)
    install_error_handlers(app)
    _install_upstream_problems(app)
    _install_request_context(app)
    # Authentication, roles and rate limits (issue 7) go in as before_request hooks here,
    # after the request id is set, so their refusals carry it and are logged too.
    for blueprint in (health.blueprint, openapi.blueprint, forwarding.blueprint):
        app.register_blueprint(blueprint)
    return app


def _install_request_context(app: Flask) -> None:
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
            elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
            # The route template and service name, never the path or query: they can carry personal data.
            fields = {"method": request.method, "route": route, "upstream_service": g.get("service"),
                      "upstream": g.get("upstream"), "status": response.status_code,
                      "ms": round(elapsed_ms, 1), "request_id": g.get("request_id")}
            access_log.info("request", extra={k: v for k, v in fields.items() if v is not None})
        return response

    @app.teardown_request
    def _forget(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            request_id.reset(token)


def _install_upstream_problems(app: Flask) -> None:
    @app.errorhandler(UpstreamError)
    def _upstream(exc: UpstreamError):
        problem, detail = UPSTREAM_PROBLEMS.get(type(exc), UPSTREAM_PROBLEMS[UpstreamFailed])
        log.warning("upstream %s", problem.code, extra={"upstream_service": exc.service, "error": exc.detail})
        return problem_response(problem, detail.format(exc.service), service=exc.service)
