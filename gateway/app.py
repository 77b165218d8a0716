"""The gateway's Flask app: request ids, access log, upstream failures as problems, the routes."""
from __future__ import annotations

import logging

from flask import Flask, Response, g, request
from servicekit.app import ServiceApi
from servicekit.errors import (BAD_GATEWAY, GATEWAY_TIMEOUT, SERVICE_UNAVAILABLE, install_error_handlers,
                               problem_response)
from servicekit.logging import configure_logging
from servicekit.request_context import install_request_context
from servicekit.service import Runtime

from . import auth_api, forwarding, health, openapi, users_api
from .cors import install_cors
from .config import GatewaySettings, load_settings
from .guard import EXTENSION as GUARD, Guard
from .keys import Keys
from .service import SERVICE
from .upstreams import (EXTENSION, UpstreamError, UpstreamFailed, Upstreams, UpstreamTimeout,
                        UpstreamUnavailable)

access_log = logging.getLogger("access")
log = logging.getLogger(__name__)

# The services' own limit (servicekit.app): a bigger body would be refused there anyway.
MAX_BODY_BYTES = 10 * 1024 * 1024

UPSTREAM_PROBLEMS = {
    UpstreamUnavailable: (SERVICE_UNAVAILABLE, "The {} service is unavailable."),
    UpstreamTimeout: (GATEWAY_TIMEOUT, "The {} service did not answer in time."),
    UpstreamFailed: (BAD_GATEWAY, "The {} service failed to answer."),
}


def create_app(settings: GatewaySettings | None = None, upstreams: Upstreams | None = None,
               runtime: Runtime | None = None) -> Flask:
    """The gateway; its database (GATEWAY_DATABASE_URL, SQLite under var/ by default) must be migrated."""
    settings = settings or load_settings()
    runtime = runtime or Runtime(SERVICE)
    configure_logging("gateway", settings.log_level)
    app = Flask("gateway", static_folder=None)  # nothing static: no /static route to shadow
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES, API_TITLE="Gateway: log in and accounts", API_VERSION="1",
        OPENAPI_VERSION="3.1.0", OPENAPI_URL_PREFIX="/auth", OPENAPI_JSON_PATH="openapi.json")
    app.json.ensure_ascii = False
    app.config["GATEWAY_SETTINGS"] = settings
    app.extensions[EXTENSION] = upstreams or Upstreams(
        settings.upstreams, connect_timeout=settings.connect_timeout, read_timeout=settings.upstream_timeout,
        breaker_failures=settings.breaker_failures, breaker_cooldown=settings.breaker_cooldown)
    guard = Guard(settings.auth, runtime, Keys.load(runtime.settings.var_dir))
    guard.ensure_bootstrap_admin()
    app.extensions[GUARD] = guard
    api = ServiceApi(app)
    api.register_blueprint(auth_api.blp)
    api.register_blueprint(users_api.blp)
    app.extensions["gateway.api"] = api
    install_error_handlers(app)  # after the Api, which installs its own
    _install_upstream_problems(app)
    install_request_context(app, _log_access)
    install_cors(app, settings.cors_origins)  # after the request id, which a preflight's answer carries too
    for blueprint in (health.blueprint, openapi.blueprint, forwarding.blueprint):
        app.register_blueprint(blueprint)
    return app


def _log_access(response: Response, route: str, seconds: float) -> None:
    # The route template and service name, never the path or query: they can carry personal data.
    fields = {"method": request.method, "route": route, "upstream_service": g.get("service"),
              "upstream": g.get("upstream"), "status": response.status_code, "ms": round(seconds * 1000, 1)}
    access_log.info("request", extra={k: v for k, v in fields.items() if v is not None})


def _install_upstream_problems(app: Flask) -> None:
    @app.errorhandler(UpstreamError)
    def _upstream(exc: UpstreamError):
        problem, detail = UPSTREAM_PROBLEMS.get(type(exc), UPSTREAM_PROBLEMS[UpstreamFailed])
        log.warning("upstream %s", problem.code, extra={"upstream_service": exc.service, "error": exc.detail})
        return problem_response(problem, detail.format(exc.service), service=exc.service)
