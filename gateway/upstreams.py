"""The services' instances: keep-alive connections per process, round-robin, a circuit breaker each.

Forwarding runs on the proxy's event loop: an asyncio protocol per connection with
httptools' parser (llhttp, Node.js's), no thread per request and no Python HTTP parser
(benchmarks/gateway_throughput.py measures the difference). The gateway's own Flask
routes (readiness, the merged OpenAPI) ask instances directly with `Instance.fetch`.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools
from flask import current_app

from .breaker import CircuitBreaker
from .metrics import CIRCUIT_OPEN, UPSTREAM_LATENCY

log = logging.getLogger(__name__)

EXTENSION = "gateway.upstreams"
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
MAX_IDLE_PER_INSTANCE = 32
# gunicorn drops a keep-alive connection idle for 5 s (servicekit.gunicorn_conf);
# reusing only younger ones keeps requests from meeting a connection just closed.
MAX_IDLE_SECONDS = 4.0
# An answer read faster than the client takes it waits in memory up to this, then reading pauses.
BUFFER_HIGH_WATER = 256 * 1024
COALESCE_BYTES = 64 * 1024


class UpstreamError(Exception):
    """Base of the failures the gateway turns into 502, 503 and 504 problems."""

    def __init__(self, service: str, detail: str):
        super().__init__(f"{service}: {detail}")
        self.service, self.detail = service, detail


class UpstreamUnavailable(UpstreamError):
    """No instance of the service accepted a connection."""


class UpstreamTimeout(UpstreamError):
    """An instance took the request but did not answer in time."""


class UpstreamFailed(UpstreamError):
    """The exchange broke in some other way (reset, malformed answer...)."""


class ClosedBeforeAnswer(ConnectionError):
    """The instance closed the connection before any byte of an answer (a pooled one it had let go)."""


class MalformedAnswer(ConnectionError):
    """What the instance sent is not HTTP/1.1."""


@dataclass(eq=False)
class Reply:
    """An instance's answer: status and headers at once, the body as it comes."""

    status: int
    headers: list[tuple[bytes, bytes]]
    instance: str  # host:port, for logs
    connection: Connection
    chunks: deque = field(default_factory=deque)
    buffered: int = 0
    complete: bool = False

    async def body(self) -> bytes:
        """The whole body."""
        parts = [chunk async for chunk in self.stream()]
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def stream(self):
        """The body's chunks as the instance sends them (each wait bounded by the read timeout)."""
        while True:
            while self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                self.connection.drained(self)
                yield chunk
            if self.complete:
                self.connection.finished(self)
                return
            await self.connection.more()

    def connection_delimited(self) -> bool:
        """A body without Content-Length or chunked coding ends when the instance closes the connection."""
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def abandon(self) -> None:
        """The client went away mid-answer: the connection cannot be reused."""
        self.connection.close()


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to an instance, one exchange at a time."""

    def __init__(self, instance: Instance, read_timeout: float):
        self.instance, self.read_timeout = instance, read_timeout
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.closed, self.paused, self.head_only, self.keep_alive = False, False, False, False
        self.reply: Reply | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._waiter: asyncio.Future | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0

    # ---------------------------------------------------------------- asyncio's side

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._fail(MalformedAnswer("not an HTTP/1.1 answer"))
            self.close()

    def connection_lost(self, exc) -> None:
        self.closed = True
        if self.reply is None:
            self._fail(ClosedBeforeAnswer("closed by the instance before answering"))
        elif not self.reply.complete:
            if not self.reply.connection_delimited():
                self._fail(ConnectionResetError("closed by the instance mid-answer"))
            else:  # a body that ends with the connection
                self.reply.complete = True
                self._wake()

    # ---------------------------------------------------------------- httptools' side

    def on_message_begin(self) -> None:
        self._headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.reply = Reply(self.parser.get_status_code(), self._headers, self.instance.name, self)
        if self.head_only:  # llhttp cannot be told the request was HEAD: it would wait for a body
            self.reply.complete = True
        self._wake()

    def on_body(self, chunk: bytes) -> None:
        reply = self.reply
        reply.chunks.append(chunk)
        reply.buffered += len(chunk)
        if reply.buffered > BUFFER_HIGH_WATER and not self.paused:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        self.keep_alive = self.parser.should_keep_alive()  # only known inside the callback
        if self.reply is not None:
            self.reply.complete = True
        self._wake()

    # ---------------------------------------------------------------- the exchange

    async def exchange(self, head: bytes, body: bytes, *, head_only: bool) -> Reply:
        if self.closed:
            raise ClosedBeforeAnswer("closed by the instance while idle")
        self.reply, self.head_only = None, head_only
        if len(body) <= COALESCE_BYTES:  # one packet for head and a small body
            self.transport.write(head + body)
        else:
            self.transport.write(head)
            self.transport.write(body)
        while self.reply is None:
            await self.more()
        return self.reply

    async def more(self) -> None:
        """Wait for the next thing the instance sends, at most the read timeout."""
        self._waiter = self.loop.create_future()
        self._timer = self.loop.call_later(self.read_timeout, self._timed_out)
        try:
            await self._waiter
        finally:
            self._timer.cancel()
            self._waiter = None

    def drained(self, reply: Reply) -> None:
        if self.paused and reply.buffered < BUFFER_HIGH_WATER // 2 and not self.closed:
            self.paused = False
            self.transport.resume_reading()

    def finished(self, reply: Reply) -> None:
        """The whole answer was read: back to the pool when the instance keeps the connection."""
        if self.head_only or self.closed or not self.keep_alive:
            self.close()
        else:
            self.reply = None
            self.instance.checkin(self)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _timed_out(self) -> None:
        self._fail(TimeoutError("the instance did not answer in time"))
        self.close()


class Instance:
    """One running copy of a service, with its idle keep-alive connections (on the proxy's loop)."""

    def __init__(self, base_url: str, breaker: CircuitBreaker):
        parts = urlsplit(base_url)
        self.url, self.breaker = base_url, breaker
        self.name = parts.netloc
        self.host, self.port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        self.tls = parts.scheme == "https"
        self.base_path = parts.path.rstrip("/")
        self.host_header = f"Host: {parts.netloc}\r\n".encode("latin-1")
        self._idle: list[Connection] = []

    async def connect(self, connect_timeout: float, read_timeout: float) -> Connection:
        # A short timeout for the connect alone, so a dead instance is known within a second.
        loop = asyncio.get_running_loop()
        _, connection = await asyncio.wait_for(
            loop.create_connection(
                lambda: Connection(self, read_timeout), self.host, self.port, ssl=True if self.tls else None
            ),
            connect_timeout,
        )
        return connection

    def checkout(self, read_timeout: float) -> Connection | None:
        """The most recently used idle connection that is still open, or None."""
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # newest first: the likeliest to be alive
            if not connection.closed and now - connection.idle_since < MAX_IDLE_SECONDS:
                connection.read_timeout = read_timeout
                return connection
            connection.close()
        return None

    def checkin(self, connection: Connection) -> None:
        connection.idle_since = now = time.monotonic()
        while self._idle and (now - self._idle[0].idle_since >= MAX_IDLE_SECONDS or self._idle[0].closed):
            self._idle.pop(0).close()  # oldest first: they hold file descriptors
        if len(self._idle) < MAX_IDLE_PER_INSTANCE:
            self._idle.append(connection)
        else:
            connection.close()

    def close_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def fetch(self, path: str, headers: dict[str, str], timeout: float) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers of GET `path` on a fresh connection (blocking: for the gateway's Flask routes)."""
        connection_class = http.client.HTTPSConnection if self.tls else http.client.HTTPConnection
        connection = connection_class(self.host, self.port, timeout=timeout)
        try:
            connection.request("GET", self.base_path + path, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(), dict(response.getheaders())
        finally:
            connection.close()


class ServiceUpstream:
    """The instances of one service, taken in turn."""

    def __init__(self, name: str, urls: tuple[str, ...], breaker):
        self.name = name
        self.instances = [Instance(url, breaker(name, url)) for url in urls]
        self._turn = 0
        self._lock = threading.Lock()  # the Flask routes' threads take turns too

    def candidates(self):
        """The instances whose circuit lets a request through, the one whose turn it is first.

        Lazily: a half-open instance spends its one trial only when it is really tried.
        """
        with self._lock:
            start, self._turn = self._turn, (self._turn + 1) % len(self.instances)
        return (instance for instance in self.instances[start:] + self.instances[:start] if instance.breaker.allows())


class Upstreams:
    """All services' instances, one set per process (gunicorn workers each build their own)."""

    def __init__(
        self,
        urls: dict[str, tuple[str, ...]],
        *,
        connect_timeout: float = 1.0,
        read_timeout: float = 10.0,
        breaker_failures: int = 5,
        breaker_cooldown: float = 10.0,
    ):
        def breaker(service: str, url: str) -> CircuitBreaker:
            circuit = CIRCUIT_OPEN.labels(service, urlsplit(url).netloc)
            circuit.set(0)
            return CircuitBreaker(breaker_failures, breaker_cooldown, on_change=lambda is_open: circuit.set(is_open))

        self.services = {
            name: ServiceUpstream(name, tuple(service_urls), breaker) for name, service_urls in urls.items()
        }
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout

    def __contains__(self, service: str) -> bool:
        return service in self.services

    async def send(self, service: str, method: str, target: str, headers: bytes, body: bytes) -> Reply:
        """Send one request to the next instance of `service`: its answer once the status and headers
        are in (the body follows on `Reply.stream`). `headers` are the request's header lines, encoded,
        without Host and Content-Length. Failures raise an UpstreamError."""
        refused = []
        for instance in self.services[service].candidates():
            head = b"".join(
                [
                    f"{method} {instance.base_path}{target} HTTP/1.1\r\n".encode("latin-1"),
                    instance.host_header,
                    headers,
                    b"Content-Length: %d\r\n" % len(body) if body or method in BODY_METHODS else b"",
                    b"\r\n",
                ]
            )
            connection = instance.checkout(self.read_timeout)
            if connection is not None:
                try:
                    return await self._exchange(service, instance, connection, head, body, method)
                except ClosedBeforeAnswer as exc:
                    # The instance may have acted on it: only a method safe to repeat is sent again.
                    if method not in IDEMPOTENT:
                        raise UpstreamFailed(service, _describe(instance, exc)) from exc
                except (OSError, TimeoutError) as exc:
                    instance.breaker.failed()
                    raise _failure(service, instance, exc) from exc
            try:
                connection = await instance.connect(self.connect_timeout, self.read_timeout)
            except (OSError, TimeoutError) as exc:
                # Nothing was sent, so the next instance may take it, whatever the method.
                instance.breaker.failed()
                refused.append(_describe(instance, exc))
                continue
            try:
                return await self._exchange(service, instance, connection, head, body, method)
            except (OSError, TimeoutError) as exc:
                instance.breaker.failed()
                raise _failure(service, instance, exc) from exc
        raise UpstreamUnavailable(service, "; ".join(refused) or "every instance's circuit is open")

    @staticmethod
    async def _exchange(
        service: str, instance: Instance, connection: Connection, head: bytes, body: bytes, method: str
    ) -> Reply:
        started = time.perf_counter()
        try:
            reply = await connection.exchange(head, body, head_only=method == "HEAD")
        except BaseException:
            connection.close()  # half-used: never back in the pool
            raise
        UPSTREAM_LATENCY.labels(service).observe(time.perf_counter() - started)
        instance.breaker.succeeded()
        return reply

    def fetch(
        self, service: str, path: str, headers: dict[str, str], timeout: float
    ) -> tuple[int, bytes, dict[str, str]]:
        """GET `path` from the next instance of `service` that answers (blocking, for the Flask routes)."""
        failures = []
        for instance in self.services[service].candidates():
            try:
                return instance.fetch(path, headers, timeout)
            except (OSError, http.client.HTTPException) as exc:
                failures.append(_describe(instance, exc))
        raise UpstreamUnavailable(service, "; ".join(failures) or "every instance's circuit is open")

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
