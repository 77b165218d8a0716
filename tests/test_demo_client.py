"""The demo's gateway client (demo/client.py) against a local HTTP server: what it sends again, and what not."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from demo.client import ApiError, Gateway


@contextmanager
def server(answer: Callable[[BaseHTTPRequestHandler, int], bool]) -> Iterator[tuple[str, list[dict]]]:
    """A keep-alive HTTP/1.1 server on the loopback: `answer(handler, n)` answers its n-th request (from 0), or
    returns False to drop the connection unanswered. Yields its URL and the requests it saw."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append({"method": self.command, "headers": dict(self.headers), "body": self.rfile.read(length)})
            if not answer(self, len(seen) - 1):
                self.close_connection = True

        do_GET = do_POST = _any

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int, body: dict, **headers: str) -> bool:
    data = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in {"Content-Type": "application/json", "Content-Length": str(len(data)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(data)
    return True


def test_a_request_refused_by_the_rate_limit_is_sent_again_as_asked_with_the_same_idempotency_key():
    def answer(handler, n):
        if n < 2:
            return reply(handler, 429, {"code": "rate_limited"}, Retry_After="0")
        return reply(handler, 201, {"payment_id": "p-1"})

    with server(answer) as (url, seen):
        assert Gateway(url).call("POST", "/api/finance/payments", {"amount": "100.00"}) == {"payment_id": "p-1"}
    assert len(seen) == 3
    keys = {request["headers"]["Idempotency-Key"] for request in seen}
    assert len(keys) == 1 and keys.pop().startswith("demo-")  # one payment asked three times, not three payments
    assert {request["body"] for request in seen} == {b'{"amount": "100.00"}'}


def test_a_read_refused_by_the_rate_limit_is_answered_once_it_lifts():
    def answer(handler, n):
        if n == 0:
            return reply(handler, 429, {"code": "rate_limited"}, Retry_After="0")
        return reply(handler, 200, {"items": []})

    with server(answer) as (url, seen):
        assert Gateway(url).get("/api/quota/campaigns") == {"items": []}
    assert len(seen) == 2


def test_a_rate_limit_that_never_lifts_ends_in_a_clear_error():
    limited = server(lambda handler, n: reply(handler, 429, {"code": "rate_limited"}, Retry_After="0"))
    with limited as (url, seen), pytest.raises(ApiError) as refused:
        Gateway(url).get("/api/quota/campaigns")
    assert refused.value.status == 429 and refused.value.body == {"code": "rate_limited"}
    assert len(seen) == 20


def test_a_read_that_meets_a_connection_the_server_dropped_is_sent_again():
    # the first answer keeps the connection alive; the server drops it at the next request, unanswered
    with server(lambda handler, n: n != 1 and reply(handler, 200, {"n": n})) as (url, seen):
        gateway = Gateway(url)
        assert gateway.get("/api/quota/campaigns") == {"n": 0}
        assert gateway.get("/api/quota/campaigns") == {"n": 2}
    assert [request["method"] for request in seen] == ["GET"] * 3


def test_a_write_that_meets_a_dropped_connection_is_not_sent_again_behind_the_callers_back():
    with server(lambda handler, n: n != 1 and reply(handler, 201, {"n": n})) as (url, seen):
        gateway = Gateway(url)
        assert gateway.call("POST", "/api/enrollment/enrolments", {"name": "职工"}) == {"n": 0}
        with pytest.raises(requests.ConnectionError):
            gateway.call("POST", "/api/enrollment/enrolments", {"name": "职工"})
    assert [request["method"] for request in seen] == ["POST"] * 2
