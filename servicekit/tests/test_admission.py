"""A request that queued past the budget is refused 503 with Retry-After before any work (embedded, no servers)."""

from __future__ import annotations

import time


def stamp(seconds_ago: float) -> dict:
    return {"X-Request-Start": f"t={(time.time() - seconds_ago) * 1000:.0f}"}


def test_a_request_that_queued_past_the_budget_is_refused_before_any_work(client):
    refused = client.post("/notes", json={"key": "late"}, headers={**stamp(4), "Accept-Language": "zh-CN"})
    assert refused.status_code == 503 and refused.mimetype == "application/problem+json"
    assert (
        refused.get_json()["code"] == "overloaded"
        and refused.get_json()["title"] == "服务繁忙，请求未被处理，请稍后重试"
    )
    assert refused.headers["Retry-After"] == "2"
    assert client.get("/tallies/late").get_json()["count"] == 0
    assert client.get("/openapi.json", headers=stamp(4)).status_code == 503
    english = client.get("/tallies/late", headers={**stamp(10), "Accept-Language": "en"})
    assert english.get_json()["title"].startswith("The service is saturated; nothing was done")


def test_a_request_within_the_budget_or_without_a_plausible_stamp_is_served(client):
    assert client.post("/notes", json={"key": "in-time"}, headers=stamp(0.5)).status_code == 201
    for headers in ({}, stamp(-60), stamp(3600), {"X-Request-Start": "t=soon"}):
        assert client.get("/tallies/in-time", headers=headers).status_code == 200, headers
    assert client.get("/healthz", headers=stamp(30)).status_code == 200  # probes are never refused


def test_the_budget_is_a_setting_and_zero_turns_the_check_off(probe_runtime, monkeypatch):
    from servicekit import create_app
    from servicekit.config import load_settings
    from tests.probe.service import SERVICE

    monkeypatch.setenv("API_QUEUE_BUDGET_SECONDS", "0")
    probe_runtime.settings = load_settings("probe")
    client = create_app(SERVICE, probe_runtime).test_client()
    assert client.post("/notes", json={"key": "no-budget"}, headers=stamp(60)).status_code == 201
