"""The gateway served for real in the tests: uvicorn with the production worker's settings, on a free
port in a thread, and a small HTTP client shaped like Flask's test client (over http.client, which
sends the path exactly as given: no dot-segment normalising, no added headers)."""

from __future__ import annotations

import http.client
import json as json_module
import socket
import threading
import time
from functools import partialmethod
from urllib.parse import urlencode

import uvicorn

from gateway.app import Gateway
from gateway.worker import GatewayWorker

_running: list[RunningGateway] = []


class RunningGateway:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway
        self.extensions = gateway.web.extensions
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(gateway, log_config=None, **GatewayWorker.CONFIG_KWARGS)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)
        _running.append(self)

    def test_client(self, source: str | None = None) -> HttpClient:
        """A client; `source`: the loopback address its connections come from (127.0.0.2 is another client)."""
        return HttpClient(self, source)

    def stop(self) -> None:
        if self in _running:
            _running.remove(self)
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._socket.close()


def running() -> list[RunningGateway]:
    return list(_running)


class Answer:
    def __init__(self, status: int, headers: http.client.HTTPMessage, data: bytes):
        self.status_code, self.headers, self.data = status, headers, data

    @property
    def mimetype(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip()

    def get_data(self, as_text: bool = False):
        return self.data.decode() if as_text else self.data

    def get_json(self):
        return json_module.loads(self.data) if self.data else None


class HttpClient:
    """One keep-alive connection to the gateway; `default_headers` go with every request."""

    def __init__(self, gateway: RunningGateway, source: str | None = None):
        self.application = gateway
        self.source = (source, 0) if source else None
        self.default_headers: dict[str, str] = {}
        self._connection: http.client.HTTPConnection | None = None

    def open(self, path: str, method: str = "GET", *, data=None, json=None, headers=None, query_string=None) -> Answer:
        headers = {**self.default_headers, **(headers or {})}
        if json is not None:
            data = json_module.dumps(json)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(data, str):
            data = data.encode()
        if query_string:
            path += ("&" if "?" in path else "?") + urlencode(query_string)
        for attempt in (1, 2):
            reused = self._connection is not None
            if not reused:
                self._connection = http.client.HTTPConnection(
                    "127.0.0.1", self.application.port, timeout=30, source_address=self.source
                )
            try:
                self._connection.request(method, path, body=data, headers=headers)
                response = self._connection.getresponse()
                answer = Answer(response.status, response.headers, response.read())
            except (ConnectionError, http.client.RemoteDisconnected):
                self._connection.close()
                self._connection = None
                if reused and attempt == 1:
                    continue  # the gateway let an idle connection go
                raise
            if response.will_close:
                self._connection.close()
                self._connection = None
            return answer
        raise AssertionError("unreachable")

    get = partialmethod(open, method="GET")
    post = partialmethod(open, method="POST")
    put = partialmethod(open, method="PUT")
    patch = partialmethod(open, method="PATCH")
    delete = partialmethod(open, method="DELETE")
    head = partialmethod(open, method="HEAD")
    options = partialmethod(open, method="OPTIONS")
