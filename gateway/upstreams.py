"""Keep-alive connections to the services' instances: per process, round-robin, thread-safe.

The standard library's http.client is used on purpose: measured here, it costs a
fraction of the CPU per call that requests does, and the gateway pays it on every call.
"""
from __future__ import annotations

import http.client
import logging
import select
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from .breaker import CircuitBreaker

log = logging.getLogger(__name__)

EXTENSION = "gateway.upstreams"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_IDLE_PER_INSTANCE = 32
# gunicorn drops a keep-alive connection idle for 5 s (servicekit.gunicorn_conf);
# reusing only younger ones keeps requests from meeting a connection just closed.
MAX_IDLE_SECONDS = 4.0
# What a pooled connection the server already closed fails with.
BROKEN_CONNECTION = (ConnectionError, http.client.BadStatusLine)


class UpstreamError(Exception):
    """Base of the failures the app turns into 502, 503 and 504 problems."""

    def __init__(self, service: str, detail: str):
        super().__init__(f"{service}: {detail}")
        self.service, self.detail = service, detail


class UpstreamUnavailable(UpstreamError):
    """No instance of the service accepted a connection."""


class UpstreamTimeout(UpstreamError):
    """An instance took the request but did not answer in time."""


class UpstreamFailed(UpstreamError):
    """The exchange broke in some other way (reset, malformed answer...)."""


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    instance: str  # host:port of the instance that answered, for logs


class Instance:
    """One running copy of a service, with its idle keep-alive connections."""

    def __init__(self, base_url: str, breaker: CircuitBreaker):
        parts = urlsplit(base_url)
        self.url, self.breaker = base_url, breaker
        self.name = parts.netloc
        self.host, self.port = parts.hostname, parts.port
        self.base_path = parts.path.rstrip("/")
        self._connection_class = (http.client.HTTPSConnection if parts.scheme == "https"
                                  else http.client.HTTPConnection)
        self._idle: deque[tuple[http.client.HTTPConnection, float]] = deque()
        self._lock = threading.Lock()

    def connect(self, connect_timeout: float, read_timeout: float) -> http.client.HTTPConnection:
        # A short timeout for the connect alone, so a dead instance is known within a second.
        connection = self._connection_class(self.host, self.port, timeout=connect_timeout)
        try:
            connection.connect()
        except BaseException:
            connection.close()
            raise
        connection.sock.settimeout(read_timeout)
        return connection

    def checkout(self) -> http.client.HTTPConnection | None:
        """The most recently used idle connection that is still open, or None."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection, since = self._idle.pop()  # newest first: the likeliest to be alive
            if time.monotonic() - since < MAX_IDLE_SECONDS and _still_open(connection.sock):
                return connection
            connection.close()

    def checkin(self, connection: http.client.HTTPConnection) -> None:
        now, discard = time.monotonic(), []
        with self._lock:
            while self._idle and now - self._idle[0][1] >= MAX_IDLE_SECONDS:
                discard.append(self._idle.popleft()[0])  # oldest first: they hold file descriptors
            if len(self._idle) < MAX_IDLE_PER_INSTANCE:
                self._idle.append((connection, now))
            else:
                discard.append(connection)
        for stale in discard:
            stale.close()

    def close_idle(self) -> None:
        with self._lock:
            idle, self._idle = list(self._idle), deque()
        for connection, _ in idle:
            connection.close()

    def probe(self, path: str, timeout: float) -> int:
        """The status of GET `path` on a fresh connection (it tests that new ones can be made)."""
        connection = self.connect(timeout, timeout)
        try:
            connection.request("GET", self.base_path + path, headers={"Accept": "application/json"})
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()


def _still_open(sock: socket.socket | None) -> bool:
    """An idle socket has something to read only when the server closed it or sent something unasked."""
    if sock is None:
        return False
    timeout = sock.gettimeout()
    try:
        sock.settimeout(0)  # a peek that never waits (also under gevent)
        sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    except ValueError:  # TLS sockets take no flags
        return _nothing_to_read(sock)
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)


def _nothing_to_read(sock: socket.socket) -> bool:
    try:
        return not select.select([sock], [], [], 0)[0]
    except (OSError, ValueError):  # select() takes no descriptor above 1023
        return False


class ServiceUpstream:
    """The instances of one service, taken in turn."""

    def __init__(self, name: str, urls: tuple[str, ...], breaker):
        self.name = name
        self.instances = [Instance(url, breaker()) for url in urls]
        self._turn = 0
        self._lock = threading.Lock()

    def candidates(self):
        """The instances whose circuit lets a request through, the one whose turn it is first.

        Lazily: a half-open instance spends its one trial only when it is really tried.
        """
        with self._lock:
            start, self._turn = self._turn, (self._turn + 1) % len(self.instances)
        return (instance for instance in self.instances[start:] + self.instances[:start]
                if instance.breaker.allows())


class Upstreams:
    """All services' instances, one pool per process (gunicorn workers each build their own)."""

    def __init__(self, urls: dict[str, tuple[str, ...]], *, connect_timeout: float = 1.0,
                 read_timeout: float = 10.0, breaker_failures: int = 5, breaker_cooldown: float = 10.0):
        def breaker() -> CircuitBreaker:
            return CircuitBreaker(breaker_failures, breaker_cooldown)

        self.services = {name: ServiceUpstream(name, tuple(service_urls), breaker)
                         for name, service_urls in urls.items()}
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout

    def __contains__(self, service: str) -> bool:
        return service in self.services

    def request(self, service: str, method: str, target: str, headers: list[tuple[str, str]] = (),
                body: bytes = b"", *, timeout: float | None = None) -> UpstreamResponse:
        """Send one request to the next instance of `service`; failures raise an UpstreamError."""
        read_timeout = timeout or self.read_timeout
        refused = []
        for instance in self.services[service].candidates():
            connection = instance.checkout()
            if connection is not None:
                connection.sock.settimeout(read_timeout)
                try:
                    return self._exchange(instance, connection, method, target, headers, body)
                except BROKEN_CONNECTION as exc:
                    # The server may have acted on it: only a method safe to repeat is sent again.
                    if method not in IDEMPOTENT:
                        raise UpstreamFailed(service, _describe(instance, exc)) from exc
                except (OSError, http.client.HTTPException) as exc:
                    instance.breaker.failed()
                    raise _failure(service, instance, exc) from exc
            try:
                connection = instance.connect(self.connect_timeout, read_timeout)
            except OSError as exc:
                # Nothing was sent, so the next instance may take it, whatever the method.
                instance.breaker.failed()
                refused.append(_describe(instance, exc))
                continue
            try:
                return self._exchange(instance, connection, method, target, headers, body)
            except (OSError, http.client.HTTPException) as exc:
                instance.breaker.failed()
                raise _failure(service, instance, exc) from exc
        raise UpstreamUnavailable(service, "; ".join(refused) or "every instance's circuit is open")

    @staticmethod
    def _exchange(instance: Instance, connection: http.client.HTTPConnection, method: str,
                  target: str, headers, body: bytes) -> UpstreamResponse:
        try:
            connection.putrequest(method, instance.base_path + target, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            if body or method in BODY_METHODS:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body or None)
            response = connection.getresponse()
            data = response.read()
        except BaseException:
            connection.close()  # half-used: never back in the pool
            raise
        if connection.sock is None:  # the server said it closes (http.client let go of the socket)
            connection.close()
        else:
            instance.checkin(connection)
        instance.breaker.succeeded()
        return UpstreamResponse(response.status, response.reason, response.getheaders(), data, instance.name)

    def close(self) -> None:
        for service in self.services.values():
            for instance in service.instances:
                instance.close_idle()


def _describe(instance: Instance, exc: BaseException) -> str:
    # The instance and the error's kind only: the target may carry personal data.
    return f"{instance.name}: {type(exc).__name__}"


def _failure(service: str, instance: Instance, exc: BaseException) -> UpstreamError:
    if isinstance(exc, TimeoutError):
        return UpstreamTimeout(service, _describe(instance, exc))
    return UpstreamFailed(service, _describe(instance, exc))


def current_upstreams() -> Upstreams:
    return current_app.extensions[EXTENSION]
