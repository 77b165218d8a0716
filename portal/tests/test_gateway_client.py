"""The portal's client of the gateway (portal.gateway) before a stand-in gateway: what it asks of the lists."""

from __future__ import annotations

import time

import pytest
from flask import Flask, jsonify, request, session

from portal import gateway
from portal.app import create_app
from portal.config import Settings
from tests.support.wsgi_server import Server

ROWS = [{"id": f"r-{n:05d}"} for n in range(1203)]


@pytest.fixture
def logged_in(tmp_path):
    """A portal request context with a login, before a stand-in gateway that records the queries of its lists."""
    asked: list[dict] = []
    stand_in = Flask("stand-in gateway")

    @stand_in.get("/api/enrollment/enrolments")
    def enrolments():
        asked.append(request.args.to_dict())
        limit = int(request.args.get("limit", 50))
        start = int(request.args.get("cursor", 0))
        answer = jsonify(ROWS[start : start + limit])
        answer.headers["X-Total-Count"] = str(len(ROWS))
        if start + limit < len(ROWS):
            answer.headers["Link"] = f'<?limit={limit}&cursor={start + limit}>; rel="next"'
        return answer

    server = Server(stand_in)
    settings = Settings(
        gateway_url=server.url, secret_key="s", session_dir=tmp_path / "sessions", session_hours=1,
        secure_cookies=None, timeout=5,
    )  # fmt: skip
    with create_app(settings).test_request_context("/"):
        session["access"], session["expires_at"] = "a", time.time() + 600
        yield asked
    server.stop()


def test_a_count_asks_limit_zero_and_reads_no_row(logged_in):
    assert gateway.count("/api/enrollment/enrolments", status="sent", campaign_id=None) == len(ROWS)
    assert logged_in == [{"status": "sent", "limit": "0"}]


def test_every_follows_the_pages_of_a_small_set(logged_in):
    assert gateway.every("/api/enrollment/enrolments", status="sent") == ROWS
    assert [(a["limit"], a.get("cursor")) for a in logged_in] == [("500", None), ("500", "500"), ("500", "1000")]
