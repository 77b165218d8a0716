"""The Flask app factory every service's `api` process is built from."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from kombu import Connection
from sqlalchemy import text

from .admission import install_admission
from .audit_api import blp as audit_blueprint
from .db import UnitOfWork
from .errors import (
    SERVICE_UNAVAILABLE,
    ProblemSchema,
    install_domain_errors,
    install_error_handlers,
    problem_response,
)
from .inputs import install_input_checks
from .keys import identity_public_keys
from .logging import configure_logging
from .metrics import HTTP_LATENCY, HTTP_REQUESTS, BusCollector, exposition
from .openapi import Conventions, Int32Converter, decimals_as_documented, unbounded_inputs
from .request_context import install_request_context
from .service import Runtime, Service
from .stalled_api import blp as stalled_blueprint
from .subject_access import blp as subject_access_blueprint
from .swagger_ui import CONFIG as SWAGGER_UI_CONFIG
from .swagger_ui import URL as SWAGGER_UI_URL
from .swagger_ui import blueprint as swagger_ui
from .tracing import install_tracing

access_log = logging.getLogger("access")
MAX_BODY_BYTES = 10 * 1024 * 1024


class ServiceApi(Api):
    """flask-smorest's Api with the project's OpenAPI conventions (servicekit.openapi)."""

    ERROR_SCHEMA = ProblemSchema

    def __init__(self, app: Flask):
        app.url_map.converters["int"] = Int32Converter  # before any route is added
        super().__init__(app, spec_kwargs={"extra_plugins": [Conventions(app.name)]})
        self.ma_plugin.converter.add_attribute_function(decimals_as_documented)

    def register_blueprints(self, blueprints) -> None:
        """Register them all, then refuse to build an app that takes a number without bounds."""
        for blueprint in blueprints:
            self.register_blueprint(blueprint)
        unbounded = unbounded_inputs(self.spec.to_dict())
        if unbounded:
            raise ValueError("Numbers taken without a minimum and a maximum:\n  " + "\n  ".join(unbounded))


class UnicodeJSON(DefaultJSONProvider):
    ensure_ascii = False  # Chinese names as they are, not \u escapes


def create_app(service: Service, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(service)
    configure_logging(service.name, runtime.settings.log_level)
    app = Flask(service.name)
    app.config.update(
        API_TITLE=service.title,
        API_VERSION="1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        OPENAPI_SWAGGER_UI_CONFIG=SWAGGER_UI_CONFIG,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.json = UnicodeJSON(app)
    app.extensions["runtime"] = runtime
    # The gateway's public keys (never its private one) and the audience its identity headers must name.
    app.config["IDENTITY_PUBLIC_KEYS"] = identity_public_keys(runtime.settings.var_dir)
    app.config["IDENTITY_AUDIENCE"] = service.name
    ServiceApi(app).register_blueprints(
        [
            *service.blueprints(),
            *([stalled_blueprint] if service.sagas else []),
            *([audit_blueprint] if runtime.audit_entries is not None else []),
            *([subject_access_blueprint] if service.personal_data is not None else []),
        ]
    )
    app.register_blueprint(swagger_ui)
    install_error_handlers(app)  # after Api(), which installs its own handler
    install_domain_errors(app, service.domain_errors)
    install_request_context(app, _report_request(service.name))
    install_admission(app, service.name, runtime.settings.api_queue_budget_seconds)  # before any work
    install_tracing(app, runtime.tracer)
    install_input_checks(app)  # after the request id, which its answers carry
    _install_operations(app, runtime)
    return app


def runtime() -> Runtime:
    return current_app.extensions["runtime"]


def unit_of_work() -> UnitOfWork:
    """The use case's unit of work; inside an idempotent request, a part of the request's transaction."""
    return runtime().unit_of_work(g.get("request_transaction"))


def _report_request(service: str):
    def report(response: Response, route: str, seconds: float) -> None:
        HTTP_REQUESTS.labels(service, request.method, route, response.status_code).inc()
        HTTP_LATENCY.labels(service, request.method, route).observe(seconds)
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "ms": round(seconds * 1000, 1),
                "forwarded": "X-Forwarded-Prefix" in request.headers,  # by the gateway, which logs it too
            },
        )

    return report


def _install_operations(app: Flask, rt: Runtime) -> None:
    collector = BusCollector(rt)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="alive", service=rt.service.name)

    @app.get("/readyz")
    def readyz():
        checks = {"database": _check_database(rt), "broker": _check_broker(rt)}
        if all(result == "ok" for result in checks.values()):
            return jsonify(status="ready", service=rt.service.name, checks=checks)
        return problem_response(SERVICE_UNAVAILABLE, "A dependency is unreachable", checks=checks)

    @app.get("/metrics")
    def metrics():
        return Response(exposition(collector), mimetype="text/plain; version=0.0.4")


def _check_database(rt: Runtime) -> str:
    try:
        with rt.engine.connect() as db:
            db.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"


def _check_broker(rt: Runtime) -> str:
    bus = rt.settings.bus
    if bus.embedded:
        folder = Path(bus.transport_options["data_folder_in"])
        return "ok" if folder.is_dir() else f"missing folder {folder}"
    try:
        with Connection(bus.url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
