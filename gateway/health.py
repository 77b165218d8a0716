"""/healthz (the process answers) and /readyz (every service has a ready instance)."""

from __future__ import annotations

import http.client
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, jsonify
from sqlalchemy import text

from servicekit.errors import SERVICE_UNAVAILABLE, problem_response

from .guard import current_guard
from .upstreams import Instance, current_upstreams

blueprint = Blueprint("health", __name__)

PROBE_TIMEOUT = 1.0


@blueprint.get("/healthz")
def healthz():
    return jsonify(status="alive", service="gateway")


@blueprint.get("/readyz")
def readyz():
    upstreams = current_upstreams()
    instances = [(name, instance) for name, service in upstreams.services.items() for instance in service.instances]
    # In parallel, so the probe takes about one timeout however many instances are down.
    with ThreadPoolExecutor(max_workers=len(instances)) as pool:
        results = list(pool.map(lambda pair: _probe(pair[1]), instances))
    services: dict[str, list[dict]] = {name: [] for name in upstreams.services}
    for (name, _), result in zip(instances, results):
        services[name].append(result)
    database = _check_database()
    not_ready = sorted(name for name, results in services.items() if not any(r["ready"] for r in results))
    if not not_ready and database == "ok":
        return jsonify(status="ready", services=services, database=database)
    detail = "A service has no ready instance." if not_ready else "The gateway's database is unreachable."
    return problem_response(SERVICE_UNAVAILABLE, detail, services=services, not_ready=not_ready, database=database)


def _check_database() -> str:
    try:
        with current_guard().runtime.engine.connect() as db:
            db.execute(text("SELECT 1"))
        return "ok"
    except Exception as exc:  # any failure is an answer here, not an error
        return f"unreachable: {type(exc).__name__}"


def _probe(instance: Instance) -> dict:
    result = {"instance": instance.name}
    try:
        status, _body, _headers = instance.fetch("/readyz", {"Accept": "application/json"}, PROBE_TIMEOUT)
    except (OSError, http.client.HTTPException) as exc:
        return result | {"ready": False, "error": type(exc).__name__}
    return result | {"ready": status == 200, "status": status}
