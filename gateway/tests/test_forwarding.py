"""The gateway against real upstream HTTP servers running in threads."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time

import pytest
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from servicekit.logging import JsonFormatter
from tests.support.pages import assert_served_locally
from tests.support.processes import free_port, wait_for

from .conftest import authorized_client, gateway_app

PROBLEM_JSON = "application/problem+json"


FIRST_CHUNK, REST_CHUNK = b"a" * 300_000, b"b" * 300_000


def upstream_app(name: str) -> Flask:
    """A small service: echoes what it received, streams, and can be slow or not ready."""
    app = Flask(name)
    app.config["ready"] = True
    app.config["first_seen"] = threading.Event()

    @app.route("/echo/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def echo(rest):
        return jsonify(
            instance=name,
            method=request.method,
            path=request.path,
            query=request.query_string.decode(),
            body=request.get_data(as_text=True),
            headers=dict(request.headers),
        )

    @app.get("/fixed")
    def fixed():
        response = Response(b"hello", mimetype="text/plain")
        response.headers.update(
            {"X-Upstream": name, "Keep-Alive": "timeout=5", "Connection": "X-Private", "X-Private": "secret"}
        )
        return response

    @app.get("/stream")
    def stream():
        # The first chunk, then the rest only once the test has seen the first through the gateway.
        def chunks():
            yield FIRST_CHUNK
            app.config["first_seen"].wait(5)
            for _ in range(10):
                yield REST_CHUNK

        return Response(chunks(), mimetype="application/octet-stream")

    @app.get("/slow")
    def slow():
        time.sleep(1.5)
        return jsonify(instance=name)

    @app.get("/readyz")
    def readyz():
        return (jsonify(status="ready"), 200) if app.config["ready"] else (jsonify(status="down"), 503)

    @app.get("/openapi.json")
    def openapi():
        return jsonify(
            {
                "openapi": "3.1.0",
                "info": {"title": f"{name} service", "version": "1"},
                "paths": {
                    "/things/{id}": {
                        "get": {
                            "tags": ["things"],
                            "operationId": "get_thing",
                            "responses": {
                                "200": {
                                    "description": "a thing",
                                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                                },
                                "default": {"$ref": "#/components/responses/DEFAULT_ERROR"},
                            },
                        }
                    }
                },
                "components": {
                    "schemas": {
                        "Thing": {
                            "type": "object",
                            "properties": {"parts": {"type": "array", "items": {"$ref": "#/components/schemas/Part"}}},
                        },
                        "Part": {"type": "object"},
                    },
                    "responses": {"DEFAULT_ERROR": {"description": "error"}},
                },
            }
        )

    return app


class Upstream:
    def __init__(self, name: str):
        self.app = upstream_app(name)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def upstreams():
    a, b = Upstream("a"), Upstream("b")
    yield a, b
    a.stop()
    b.stop()


@pytest.fixture()
def make_gateway(sqlite_runtime):
    """`make_gateway(quota=url, ...)`: a gateway on the module's database."""

    def make(**urls: str):
        return gateway_app(sqlite_runtime, **urls)

    return make


@pytest.fixture()
def gateway(upstreams, make_gateway):
    a, b = upstreams
    a.app.config["ready"] = b.app.config["ready"] = True
    dead = f"http://127.0.0.1:{free_port()}"
    app = make_gateway(quota=f"{a.url},{b.url}", enrollment=a.url, finance=b.url, evaluation=dead)
    return authorized_client(app)


def test_forwards_method_path_query_body_and_headers(gateway):
    response = gateway.post(
        "/api/finance/echo/payments/%E4%BD%A0?x=1&y=%C3%A9",
        data=b'{"amount": "1.00"}',
        headers={"Content-Type": "application/json", "X-Custom": "kept", "Accept-Language": "en"},
    )
    assert response.status_code == 200
    seen = response.get_json()
    assert seen["instance"] == "b"
    assert seen["method"] == "POST"
    assert seen["path"] == "/echo/payments/你"
    assert seen["query"] == "x=1&y=%C3%A9"
    assert seen["body"] == '{"amount": "1.00"}'
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["X-Custom"] == "kept"
    assert seen["headers"]["Accept-Language"] == "en"
    assert seen["headers"]["X-Forwarded-Prefix"] == "/api/finance"
    assert seen["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert seen["headers"]["Host"] != "localhost"  # the upstream's own, not the client's


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_forwards_every_method(gateway, method):
    response = gateway.open("/api/enrollment/echo/x", method=method, data=b"data")
    assert response.status_code == 200
    assert response.get_json()["method"] == method


def test_the_forwarding_chain_ends_with_the_callers_own_address(gateway):
    # The address is the peer's (uvicorn's proxy_headers is off): a client cannot pick the one it is limited by.
    seen = gateway.get("/api/finance/echo/x", headers={"X-Forwarded-For": "10.9.9.9"}).get_json()
    assert seen["headers"]["X-Forwarded-For"] == "10.9.9.9, 127.0.0.1"


def test_a_long_answer_streams_through_as_the_service_sends_it(gateway, upstreams):
    # Read timeout 0.5 s: the whole answer takes longer than that, and the service sends its second
    # chunk only after the client got the first, which a gateway reading the whole answer first never does.
    upstreams[0].app.config["first_seen"].clear()
    connection = http.client.HTTPConnection("127.0.0.1", gateway.application.port, timeout=10)
    connection.request("GET", "/api/enrollment/stream", headers=gateway.default_headers)
    response = connection.getresponse()
    assert response.status == 200 and response.getheader("Content-Type") == "application/octet-stream"
    assert response.read(len(FIRST_CHUNK)) == FIRST_CHUNK
    upstreams[0].app.config["first_seen"].set()
    time.sleep(0.3)  # longer than nothing, shorter than the read timeout
    assert response.read() == REST_CHUNK * 10
    connection.close()


def test_round_robin_across_the_instances_of_a_service(gateway):
    instances = [gateway.get("/api/quota/echo/x").get_json()["instance"] for _ in range(4)]
    assert instances in (["a", "b", "a", "b"], ["b", "a", "b", "a"])


def test_request_id_is_passed_through(gateway):
    response = gateway.get("/api/quota/echo/x", headers={"X-Request-ID": "abc-123:4.5_6"})
    assert response.headers["X-Request-ID"] == "abc-123:4.5_6"
    assert response.get_json()["headers"]["X-Request-Id"] == "abc-123:4.5_6"


def test_the_service_learns_when_the_gateway_forwarded_the_request_never_a_client_s_stamp(gateway):
    before = time.time() * 1000
    response = gateway.get("/api/quota/echo/x", headers={"X-Request-Start": "t=1"})
    stamp = response.get_json()["headers"]["X-Request-Start"]
    assert stamp.startswith("t=") and before - 1 <= float(stamp[2:]) <= time.time() * 1000 + 1


@pytest.mark.parametrize("incoming", [None, "", "has space", "x" * 65, "semi;colon"])
def test_request_id_is_generated_when_missing_or_invalid(gateway, incoming):
    headers = {} if incoming is None else {"X-Request-ID": incoming}
    response = gateway.get("/api/quota/echo/x", headers=headers)
    generated = response.headers["X-Request-ID"]
    assert generated != incoming and len(generated) == 36
    assert response.get_json()["headers"]["X-Request-Id"] == generated


def test_hop_by_hop_request_headers_are_not_forwarded(gateway):
    response = gateway.get(
        "/api/quota/echo/x",
        headers={
            "Connection": "keep-alive, X-Private",
            "X-Private": "secret",
            "Keep-Alive": "timeout=5",
            "TE": "trailers",
            "Trailer": "X-Sum",
            "Upgrade": "websocket",
            "Proxy-Authorization": "Basic eA==",
            "X-Forwarded-Prefix": "/forged",
            "X-Custom": "kept",
        },
    )
    headers = {name.lower() for name in response.get_json()["headers"]}
    assert not headers & {"connection", "x-private", "keep-alive", "te", "trailer", "upgrade", "proxy-authorization"}
    assert "x-custom" in headers
    assert response.get_json()["headers"]["X-Forwarded-Prefix"] == "/api/quota"


def test_response_status_headers_and_body_come_back_without_hop_by_hop(gateway):
    response = gateway.get("/api/enrollment/fixed")
    assert response.status_code == 200
    assert response.data == b"hello"
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Upstream"] == "a"
    assert "X-Request-ID" in response.headers
    for name in ("Keep-Alive", "Connection", "X-Private"):
        assert name not in response.headers


def test_head_keeps_the_content_length(gateway):
    response = gateway.head("/api/enrollment/fixed")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == "5"
    assert response.data == b""


def test_upstream_error_status_comes_back_unchanged(gateway):
    response = gateway.get("/api/quota/nothing-here")
    assert response.status_code == 404
    assert response.headers["Content-Type"].startswith("text/html")  # the upstream's, not a gateway problem


def test_unknown_service_is_a_404_problem(gateway):
    response = gateway.get("/api/payroll/anything")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM_JSON
    assert response.get_json()["code"] == "not_found"
    assert "X-Request-ID" in response.headers


def test_dot_segments_are_not_forwarded(gateway):
    response = gateway.get("/api/quota/echo/../../admin")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM_JSON


def test_dead_upstream_is_a_quick_503_problem(gateway):
    started = time.perf_counter()
    response = gateway.get("/api/evaluation/echo/x")
    assert time.perf_counter() - started < 1.5
    assert response.status_code == 503
    assert response.mimetype == PROBLEM_JSON
    assert response.get_json()["code"] == "service_unavailable"
    assert "X-Request-ID" in response.headers


def test_a_dead_instance_is_skipped_for_a_live_one(upstreams, make_gateway):
    a, _ = upstreams
    client = authorized_client(make_gateway(quota=f"http://127.0.0.1:{free_port()},{a.url}"))
    for _ in range(4):
        response = client.post("/api/quota/echo/x", data=b"once")
        assert response.status_code == 200
        assert response.get_json()["instance"] == "a"


def test_slow_upstream_is_a_504_problem(gateway):
    started = time.perf_counter()
    response = gateway.get("/api/enrollment/slow")
    assert time.perf_counter() - started < 1.4
    assert response.status_code == 504
    assert response.mimetype == PROBLEM_JSON
    assert response.get_json()["code"] == "gateway_timeout"


def test_readyz_is_503_when_a_service_has_no_ready_instance(gateway, upstreams):
    a, b = upstreams
    b.app.config["ready"] = False  # finance has only b; quota still has a
    response = gateway.get("/readyz")
    assert response.status_code == 503
    assert response.mimetype == PROBLEM_JSON
    body = response.get_json()
    assert body["not_ready"] == ["evaluation", "finance"]
    quota = {result["instance"]: result["ready"] for result in body["services"]["quota"]}
    assert quota == {a.url.removeprefix("http://"): True, b.url.removeprefix("http://"): False}


def test_readyz_is_200_when_every_service_has_a_ready_instance(upstreams, make_gateway):
    a, b = upstreams
    b.app.config["ready"] = False
    try:
        app = make_gateway(quota=f"{a.url},{b.url}", enrollment=a.url, finance=f"{b.url},{a.url}", evaluation=a.url)
        response = app.test_client().get("/readyz")
    finally:
        b.app.config["ready"] = True
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ready"
    assert [result["ready"] for result in body["services"]["finance"]] == [False, True]


def test_healthz(gateway):
    assert gateway.get("/healthz").get_json()["status"] == "alive"


def test_merged_openapi_prefixes_paths_and_components(gateway):
    document = gateway.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    assert document["x-unavailable-services"] == ["evaluation"]
    for service in ("quota", "enrollment", "finance"):
        prefix = service.title()
        operation = document["paths"][f"/api/{service}/things/{{id}}"]["get"]
        assert operation["tags"] == [service]
        assert operation["operationId"] == f"{service}_get_thing"
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{prefix}Thing"}
        assert operation["responses"]["default"] == {"$ref": f"#/components/responses/{prefix}DEFAULT_ERROR"}
        thing = document["components"]["schemas"][f"{prefix}Thing"]
        assert thing["properties"]["parts"]["items"] == {"$ref": f"#/components/schemas/{prefix}Part"}
    assert "Thing" not in document["components"]["schemas"]
    # Every reference resolves inside the merged document.
    text = json.dumps(document)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        kind, name = ref.removeprefix("#/components/").split("/", 1)
        assert name in document["components"][kind], ref


def test_docs_page_points_swagger_ui_at_the_merged_document_and_loads_it_from_the_gateway(gateway):
    assets = assert_served_locally(gateway, "/api/docs")
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets)
    assert '"/api/openapi.json"' in gateway.get("/api/docs").get_data(as_text=True)


def test_access_log_has_the_route_template_not_the_path(gateway):
    lines = []
    handler = logging.Handler()
    # Formatted as it is written, while the request's id is still in context.
    handler.emit = lambda record: lines.append(JsonFormatter("gateway").format(record))
    logging.getLogger("access").addHandler(handler)
    try:
        gateway.get("/api/quota/echo/employee-4401?id_card=440101", headers={"X-Request-ID": "log-1"})
        # Written once the answer is sent, so it may follow the client's receipt by a moment.
        wait_for(lambda: lines, timeout=5, message="the access line")
    finally:
        logging.getLogger("access").removeHandler(handler)
    (line,) = lines
    entry = json.loads(line)
    assert entry["route"] == "/api/<service>/<path:rest>"
    assert entry["upstream_service"] == "quota"
    assert entry["method"] == "GET" and entry["status"] == 200 and entry["request_id"] == "log-1"
    assert isinstance(entry["ms"], float)
    assert "4401" not in line


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class RawUpstream:
    """A keep-alive HTTP/1.1 server (werkzeug's always closes) answering `answers` requests per
    connection; then it either closes at once or, worse, takes one more request and drops it
    unanswered: what a pooled connection closed by the server under the gateway's feet looks like."""

    def __init__(self, answers: int, drop_next: bool):
        self.answers, self.drop_next = answers, drop_next
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = self.answered = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        with connection:
            reader = connection.makefile("rb")
            for _ in range(self.answers):
                if not self._read_request(reader):
                    return
                self.answered += 1
                connection.sendall(ANSWER)
            if self.drop_next:
                self._read_request(reader)

    @staticmethod
    def _read_request(reader) -> bool:
        length, line = 0, reader.readline()
        if not line:
            return False
        while (line := reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        reader.read(length)
        return True

    def stop(self):
        self.listener.close()


@pytest.fixture()
def raw_upstream():
    servers = []

    def start(answers: int, drop_next: bool) -> RawUpstream:
        servers.append(RawUpstream(answers, drop_next))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_keep_alive_connections_are_reused(raw_upstream, make_gateway):
    server = raw_upstream(answers=100, drop_next=False)
    client = authorized_client(make_gateway(quota=server.url))
    for method in ("GET", "POST", "GET", "DELETE"):
        assert client.open("/api/quota/x", method=method, data=b"x").status_code == 200
    assert server.connections == 1


def test_a_connection_the_server_closed_is_not_reused(raw_upstream, make_gateway):
    server = raw_upstream(answers=1, drop_next=False)
    client = authorized_client(make_gateway(quota=server.url))
    for _ in range(3):
        assert client.post("/api/quota/x", data=b"x").status_code == 200
        time.sleep(0.05)  # the server's close reaches the gateway's idle socket
    assert server.connections == 3


def test_a_broken_pooled_connection_is_retried_only_for_idempotent_methods(raw_upstream, make_gateway):
    server = raw_upstream(answers=1, drop_next=True)
    client = authorized_client(make_gateway(quota=server.url))
    assert client.get("/api/quota/a").status_code == 200
    assert client.get("/api/quota/b").status_code == 200  # the pooled one broke: retried afresh
    assert server.answered == 2
    response = client.post("/api/quota/c", data=b"x")  # may have been acted on: never sent twice
    assert response.status_code == 502
    assert response.mimetype == PROBLEM_JSON
    assert server.answered == 2
