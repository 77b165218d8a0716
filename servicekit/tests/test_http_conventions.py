"""What every service's HTTP interface promises: problem+json, request ids, limits (embedded, no servers)."""

from __future__ import annotations

import pytest

from servicekit import Runtime, create_app
from servicekit.migrations import upgrade
from tests.probe.service import SERVICE
from tests.support.pages import assert_served_locally


@pytest.fixture
def client(tmp_path, monkeypatch):
    for name in ("PROBE_DATABASE_URL", "BROKER_URL", "BUS_NAMESPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    runtime = Runtime(SERVICE)
    upgrade(runtime)
    yield create_app(SERVICE, runtime).test_client()
    runtime.engine.dispose()


def test_invalid_input_is_a_problem_listing_each_field_in_chinese_or_english(client):
    zh = client.post("/notes", json={"count": "many"}, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert zh.status_code == 422
    assert zh.mimetype == "application/problem+json"
    body = zh.get_json()
    assert body["code"] == "validation_failed" and body["title"] == "输入数据校验未通过"
    assert set(body["errors"]) == {"key", "count"}
    assert zh.headers["Content-Language"] == "zh-CN"

    en = client.post("/notes", json={"count": "many"}, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert en.get_json()["title"] == "Invalid input"
    assert en.get_json()["type"].endswith("/validation_failed")


def test_a_body_that_is_not_json_is_a_problem_not_a_crash(client):
    response = client.post("/notes", data="{oops", content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_unknown_route_and_wrong_method_are_problems(client):
    assert client.get("/nowhere").get_json()["code"] == "not_found"
    wrong = client.delete("/notes")
    assert wrong.status_code == 405 and wrong.get_json()["code"] == "method_not_allowed"


def test_oversized_body_is_refused_with_413(client):
    response = client.post("/notes", data=b"x" * (10 * 1024 * 1024 + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["code"] == "payload_too_large"


def test_request_id_is_taken_when_well_formed_and_generated_otherwise(client):
    assert client.get("/healthz", headers={"X-Request-ID": "portal-42"}).headers["X-Request-ID"] == "portal-42"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"}).headers["X-Request-ID"]
    assert generated != "bad id; with spaces" and len(generated) == 36


def test_unexpected_error_is_a_500_problem_without_a_stack_trace(client, monkeypatch):
    from tests.probe import api

    def explode(session, key):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(api, "tally", explode)
    response = client.get("/tallies/x")
    assert response.status_code == 500
    assert response.get_json()["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)


def test_openapi_document_and_health_endpoints(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1") and "/notes" in spec["paths"]
    assert client.get("/healthz").get_json()["status"] == "alive"
    ready = client.get("/readyz").get_json()
    assert ready["checks"] == {"database": "ok", "broker": "ok"}
    assert client.get("/docs").status_code == 200


def test_metrics_report_requests_and_outbox_backlog(client):
    client.post("/notes", json={"key": "m", "count": 3})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'outbox_pending_events{service="probe"} 3.0' in text
    assert 'http_requests_total{method="POST",route="/notes",service="probe",status="201"}' in text
    assert 'bus_queue_messages{queue="probe.dead",role="dead_letters",service="probe"}' in text


def test_the_docs_page_loads_swagger_ui_from_the_service_itself(client):
    assets = assert_served_locally(client, "/docs")
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    assert client.get("/docs/assets/swagger-ui-bundle.js").mimetype in {"text/javascript", "application/javascript"}
