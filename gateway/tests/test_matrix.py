"""The four real services behind the gateway: every route documented, the gateway's first line held,
and a caller never reaching someone else's unit, union, institution or employee by naming it in the path.

Routes come from the services' own url maps, so the matrix grows with them. Seeded data (a
resource of unit B listed to an officer of unit A) is the services' own tests' part: here no
resource exists, and the answer to a foreign scope must still be 403 or 404 (or 422 for a
missing query argument), never 2xx.
"""

from __future__ import annotations

import importlib
import re
import uuid

import pytest

from gateway.policy import PUBLIC, allowed_roles
from servicekit import Runtime, create_app
from servicekit.migrations import upgrade
from tests.support.wsgi_server import Server

from .conftest import bearer, gateway_app, migrated_runtime

pytestmark = pytest.mark.servers

SERVICES = ("quota", "enrollment", "finance", "evaluation")
OPERATIONS_ROUTES = {
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/docs/<path:filename>",
    "/docs/assets/<path:filename>",  # Swagger UI's own files (servicekit.swagger_ui)
    "/static/<path:filename>",
}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
# A path parameter naming a tenant, and the role that is scoped by it.
TENANT_PARAMETERS = {
    "unit_id": "unit_officer",
    "grassroots_union_id": "grassroots_officer",
    "institution_id": "institution_operator",
    "employee_id": "employee",
}
PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def openapi_path(rule: str) -> str:
    return PARAMETER.sub(lambda m: "{" + m.group(2) + "}", rule)


def concrete(rule: str, **values: str) -> str:
    def value(match):
        converter, name = match.group(1), match.group(2)
        return values.get(name, "2014" if converter == "int" else f"matrix-{name}")

    return PARAMETER.sub(value, rule)


@pytest.fixture(scope="module")
def system(servers, vhost, tmp_path_factory):
    """The services' apps on their own PostgreSQL databases, each on a port, and a gateway before them."""
    var_dir = tmp_path_factory.mktemp("matrix-var")
    names = {name: f"t_{name}_{uuid.uuid4().hex[:10]}" for name in (*SERVICES, "gateway")}
    env = {f"{name.upper()}_DATABASE_URL": servers.create_database(database) for name, database in names.items()}
    env |= {
        "BROKER_URL": servers.amqp_url(vhost),
        "BUS_NAMESPACE": f"t{uuid.uuid4().hex[:8]}.",
        "VAR_DIR": str(var_dir),
        "IDENTITY_SIGNING_KEY": "",
    }
    started, runtimes = {}, []
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        try:
            for name in SERVICES:
                service = importlib.import_module(f"services.{name}.service").SERVICE
                runtime = Runtime(service)
                runtimes.append(runtime)
                upgrade(runtime)
                started[name] = Server(create_app(service, runtime))
            gateway_runtime = migrated_runtime(var_dir, env["GATEWAY_DATABASE_URL"])
            runtimes.append(gateway_runtime)
            gateway = gateway_app(
                gateway_runtime,
                {"GATEWAY_RATE_LIMIT_PER_MINUTE": "100000"},
                **{name: server.url for name, server in started.items()},
            )
            yield gateway, {name: server.app for name, server in started.items()}
        finally:
            for server in started.values():
                server.stop()
            for runtime in runtimes:
                runtime.engine.dispose()
            for database in names.values():
                servers.drop_database(database)


def routes(apps) -> list[tuple[str, str, str]]:
    """(service, method, url rule) of every domain endpoint of every service."""
    found = []
    for service, app in apps.items():
        for rule in app.url_map.iter_rules():
            if rule.rule in OPERATIONS_ROUTES or rule.endpoint.split(".")[-1] == "static":  # files, as /docs/assets
                continue
            found += [(service, method, rule.rule) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_the_merged_openapi_covers_every_service_route(system):
    gateway, apps = system
    document = gateway.test_client().get("/api/openapi.json").get_json()
    assert document["x-unavailable-services"] == []
    missing = [
        f"{method} /api/{service}{openapi_path(rule)}"
        for service, method, rule in routes(apps)
        if method.lower() not in document["paths"].get(f"/api/{service}{openapi_path(rule)}", {})
    ]
    assert not missing, missing
    assert len(routes(apps)) > 0


def test_the_gateway_refuses_anonymous_callers_auditor_writes_and_machines_outside_their_services(system):
    gateway, apps = system
    client = gateway.test_client()
    auditor = bearer(gateway, "auditor")
    machine = bearer(gateway, "institution_system", "exam-system", institution_id="matrix-institution")
    wrong = []
    for service, method, rule in routes(apps):
        path = f"/api/{service}{concrete(rule)}"
        public = allowed_roles(service, method, concrete(rule)) == PUBLIC
        expectations = [({}, None if public else 401)]
        if method in WRITES and not public:
            expectations.append((auditor, 403))
        machine_route = "institution_system" in allowed_roles(service, method, concrete(rule))
        if service == "quota" or (service == "finance" and not machine_route):  # finance: payments and charges
            expectations.append((machine, 403))
        for headers, status in expectations:
            answer = client.open(path, method=method, headers=headers, json={})
            if status is not None and answer.status_code != status:
                wrong.append(f"{method} {path} as {headers and 'token'}: {answer.status_code}, not {status}")
            if status is None and answer.status_code == 401:
                wrong.append(f"{method} {path} is public yet asked for a login")
    assert not wrong, wrong


def test_nobody_reads_another_tenants_resource_by_naming_it(system):
    gateway, apps = system
    client = gateway.test_client()
    reached, checked = [], 0
    for service, method, rule in routes(apps):
        if method != "GET":
            continue
        for parameter, role in TENANT_PARAMETERS.items():
            if f":{parameter}>" not in rule and f"<{parameter}>" not in rule:
                continue
            scope = {parameter: "tenant-a"} | ({"unit_id": "unit-a"} if role == "grassroots_officer" else {})
            answer = client.get(
                f"/api/{service}{concrete(rule, **{parameter: 'tenant-b'})}",
                headers=bearer(gateway, role, f"{role}-a", **scope),
            )
            checked += 1
            # Refused, not found, or its input refused before anything was read: never an answer.
            if answer.status_code not in (403, 404, 422):
                reached.append(f"{role} of tenant-a: GET /api/{service}{rule} of tenant-b -> {answer.status_code}")
    assert not reached, reached
    assert checked > 0
