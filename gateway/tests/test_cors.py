"""CORS for browser portals: preflights answered by the gateway, answers marked for allowed origins only."""

from __future__ import annotations

import pytest

from gateway.config import load_settings
from tests.support.wsgi_server import Server

from .conftest import bearer, gateway_app
from .upstream import service_app

PORTAL = "https://portal.gzgh.example"
PREFLIGHT = {
    "Origin": PORTAL,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
}


@pytest.fixture
def service(sqlite_runtime):
    server = Server(service_app(sqlite_runtime.settings.var_dir))  # the gateway's identity key
    yield server
    server.stop()


@pytest.fixture
def make_client(sqlite_runtime, service):
    def make(origins: str):
        app = gateway_app(sqlite_runtime, {"GATEWAY_CORS_ORIGINS": origins}, enrollment=service.url)
        return app.test_client()

    return make


def test_a_preflight_from_a_listed_origin_is_answered_without_reaching_the_service(make_client, service):
    client = make_client(f"{PORTAL}, http://localhost:5173")
    response = client.options("/api/enrollment/whoami", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == PORTAL
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type, idempotency-key"
    assert int(response.headers["Access-Control-Max-Age"]) > 0
    assert "Origin" in response.headers["Vary"] and response.headers["X-Request-ID"]
    assert service.app.config["hits"] == []


def test_an_unlisted_origin_gets_no_cors_header(make_client, service):
    client = make_client(PORTAL)
    preflight = client.options("/api/enrollment/whoami", headers=PREFLIGHT | {"Origin": "https://evil.example"})
    assert preflight.status_code == 204
    assert not [name for name in preflight.headers if name.startswith("Access-Control-")]
    actual = client.get("/api/enrollment/public/rosters", headers={"Origin": "https://evil.example"})
    assert actual.status_code == 200 and "Access-Control-Allow-Origin" not in actual.headers
    assert service.app.config["hits"] == ["/public/rosters"]


def test_actual_answers_and_problems_are_marked_for_the_portal(make_client):
    client = make_client(PORTAL)
    forwarded = client.get(
        "/api/enrollment/whoami",
        headers={"Origin": PORTAL} | bearer(client.application, "employee", employee_id="emp-1"),
    )
    assert forwarded.status_code == 200 and forwarded.get_json()["employee_id"] == "emp-1"
    refused = client.get("/auth/me", headers={"Origin": PORTAL})  # the portal must be able to read the 401
    for response in (forwarded, refused):
        assert response.headers["Access-Control-Allow-Origin"] == PORTAL
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        exposed = {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"X-Request-ID", "Link", "X-Total-Count", "Retry-After", "Idempotent-Replayed"} <= exposed
    assert refused.status_code == 401


def test_any_origin_is_allowed_without_credentials(make_client):
    client = make_client("*")
    for response in (
        client.options("/auth/token", headers=PREFLIGHT),
        client.get("/healthz", headers={"Origin": "https://anywhere.example"}),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers


def test_without_configured_origins_there_is_no_cors_and_preflights_are_not_answered(make_client, service):
    client = make_client("")
    response = client.options("/api/enrollment/whoami", headers=PREFLIGHT)
    assert response.status_code == 401  # an OPTIONS like any other: it needs a login
    assert "Access-Control-Allow-Origin" not in client.get("/healthz", headers={"Origin": PORTAL}).headers


@pytest.mark.parametrize(
    "origins",
    ["*, https://a.example", "portal.example", "https://a.example/path", "ftp://a.example", "https://a.example:99999"],
)
def test_a_malformed_origin_list_stops_the_start(origins):
    with pytest.raises(ValueError, match="GATEWAY_CORS_ORIGINS"):
        load_settings({"GATEWAY_CORS_ORIGINS": origins})
