"""The gateway as one ASGI app per process: /api/<service>/... goes straight to the proxy on the event loop;
everything else (log in, accounts, health, the merged OpenAPI) to the gateway's own Flask app, run in
threads by a2wsgi."""

from __future__ import annotations

from a2wsgi import WSGIMiddleware
from flask import Flask, Response, g, request

from servicekit import swagger_ui
from servicekit.app import ServiceApi
from servicekit.errors import install_domain_errors, install_error_handlers
from servicekit.inputs import install_input_checks
from servicekit.logging import configure_logging
from servicekit.request_context import install_request_context
from servicekit.service import Runtime
from servicekit.tracing import install_tracing

from . import (
    activation_api,
    audit_api,
    auth_api,
    clients_api,
    closeout_api,
    health,
    me_api,
    metrics,
    openapi,
    users_api,
)
from .access import log_access
from .config import GatewaySettings, load_settings
from .cors import CorsPolicy, install_cors
from .guard import EXTENSION as GUARD
from .guard import Guard
from .keys import Keys
from .proxy import MAX_BODY_BYTES, Proxy
from .service import SERVICE
from .upstreams import EXTENSION as UPSTREAMS
from .upstreams import Upstreams

CORS = "gateway.cors"
TRACER = "gateway.tracer"
WEB_THREADS = 8  # for the Flask routes (logins hash passwords: seconds of CPU at worst)


class Gateway:
    """The ASGI app gunicorn's GatewayWorker serves (gateway.asgi)."""

    def __init__(self, web: Flask):
        self.web = web
        self.proxy = Proxy(
            web.extensions[GUARD], web.extensions[UPSTREAMS], web.extensions[CORS], web.extensions[TRACER]
        )
        self._web = WSGIMiddleware(web, workers=WEB_THREADS)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            service = self.proxy.service_of(scope["path"])
            if service is not None:
                await self.proxy(scope, receive, send, service)
            else:
                await self._web(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.proxy.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def create_gateway(settings: GatewaySettings | None = None, runtime: Runtime | None = None) -> Gateway:
    """The gateway; its database (GATEWAY_DATABASE_URL, SQLite under var/ by default) must be migrated."""
    return Gateway(create_web_app(settings or load_settings(), runtime or Runtime(SERVICE)))


def create_web_app(settings: GatewaySettings, runtime: Runtime) -> Flask:
    """The gateway's own routes, with the guard and the upstreams the proxy shares."""
    configure_logging("gateway", settings.log_level)
    app = Flask("gateway", static_folder=None)  # nothing static: no /static route to shadow
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        API_TITLE="Gateway: log in and accounts",
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/auth",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.json.ensure_ascii = False
    app.config["GATEWAY_SETTINGS"] = settings
    app.extensions[UPSTREAMS] = Upstreams(
        settings.upstreams,
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.upstream_timeout,
        breaker_failures=settings.breaker_failures,
        breaker_cooldown=settings.breaker_cooldown,
    )
    guard = Guard(settings.auth, runtime, Keys.load(runtime.settings.var_dir))
    guard.ensure_bootstrap_admin()
    app.extensions[GUARD] = guard
    api = ServiceApi(app)
    api.register_blueprints(
        [auth_api.blp, users_api.blp, clients_api.blp, audit_api.blp, activation_api.blp, closeout_api.blp, me_api.blp]
    )
    app.extensions["gateway.api"] = api
    install_error_handlers(app)  # after the Api, which installs its own
    # servicekit's refusals (servicekit.refusals: a list's cursor, a missing reason) as the services answer them
    install_domain_errors(app, {})
    install_request_context(app, _log_access)
    app.extensions[TRACER] = runtime.tracer  # None unless the OTEL_* settings turn tracing on
    install_tracing(app, runtime.tracer)
    install_input_checks(app)
    app.extensions[CORS] = CorsPolicy(settings.cors_origins) if settings.cors_origins else None
    install_cors(app, app.extensions[CORS])  # after the request id, which a preflight's answer carries too
    for blueprint in (health.blueprint, metrics.blueprint, openapi.blueprint, swagger_ui.blueprint):
        app.register_blueprint(blueprint)
    return app


def _log_access(response: Response, route: str, seconds: float) -> None:
    identity = g.get("identity")  # set once the route asked who calls (gateway.guard.caller)
    log_access(request.method, route, response.status_code, seconds, role=identity.role if identity else None)
