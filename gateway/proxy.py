"""/api/<service>/<path>: the request goes to the next instance of the service, the answer comes back.

An ASGI app on the gateway's event loop (uvicorn with httptools), not Flask: the
forwarding path is the one every portal and institution system call takes, and
measured here Flask's dispatch plus a thread per request cost the gateway more than
half of a service's throughput (benchmarks/gateway_throughput.py). What may wait on
the database (a signed request's nonce, a new rate lease) runs in a small thread pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from urllib.parse import parse_qsl, quote

from servicekit.admission import QUEUE_HEADER
from servicekit.db import database_unavailable
from servicekit.errors import (
    BAD_GATEWAY,
    GATEWAY_TIMEOUT,
    INTERNAL_ERROR,
    NOT_FOUND,
    PAYLOAD_TOO_LARGE,
    PROBLEM_JSON,
    RETRY_AFTER_SECONDS,
    SERVICE_UNAVAILABLE,
    VALIDATION_FAILED,
    Problem,
    chinese_preferred,
    problem_document,
    unavailable_problem,
)
from servicekit.i18n import _
from servicekit.identity import HEADER as IDENTITY_HEADER
from servicekit.identity import Identity, sign
from servicekit.inputs import request_faults
from servicekit.logging import request_id as request_id_var
from servicekit.request_context import REQUEST_ID
from servicekit.tracing import SpanKind, Tracer, failed, span_headers, start_span

from . import signatures
from .access import log_access
from .cors import CorsPolicy
from .guard import Guard
from .incoming import PATH_SAFE, Incoming, client_address
from .upstreams import Reply, UpstreamError, UpstreamFailed, Upstreams, UpstreamTimeout, UpstreamUnavailable

log = logging.getLogger(__name__)

ROUTE = "/api/<service>/<path:rest>"  # what the access log names (never the concrete path)
# The services' own limit (servicekit.app): a bigger body would be refused there anyway.
MAX_BODY_BYTES = 10 * 1024 * 1024
# RFC 9110 7.6.1: meaningful for one connection only, never passed on.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})
# Set by the gateway itself (or, for Expect, already dealt with: the body is read).
# The caller's credentials stay here: the service gets the identity the gateway signs instead,
# never one the client wrote.
NOT_FORWARDED = HOP_BY_HOP | {
    "host",
    "content-length",
    "expect",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-prefix",
    QUEUE_HEADER.lower(),
    "authorization",
    "traceparent",  # the gateway's own span's, when it traces (servicekit.tracing)
    "tracestate",
    IDENTITY_HEADER.lower(),
    *(name.lower() for name in signatures.HEADERS),
}
# Set again by the gateway's server; passing them on would send them twice.
NOT_RETURNED = {name.encode() for name in HOP_BY_HOP | {"date", "server", "x-request-id"}}
UPSTREAM_PROBLEMS = {
    UpstreamUnavailable: (SERVICE_UNAVAILABLE, "The {} service is unavailable."),
    UpstreamTimeout: (GATEWAY_TIMEOUT, "The {} service did not answer in time."),
    UpstreamFailed: (BAD_GATEWAY, "The {} service failed to answer."),
}
BLOCKING_THREADS = 8
MAX_PENDING_NOTES = 1000  # machine requests waiting to be kept (gateway.machine_requests)


class Proxy:
    def __init__(self, guard: Guard, upstreams: Upstreams, cors: CorsPolicy | None, tracer: Tracer | None = None):
        self.guard, self.upstreams, self.cors, self.tracer = guard, upstreams, cors, tracer
        self._threads = ThreadPoolExecutor(BLOCKING_THREADS, thread_name_prefix="gateway-blocking")
        self._notes = ThreadPoolExecutor(1, thread_name_prefix="gateway-machine-requests")
        self._notes_pending = threading.BoundedSemaphore(MAX_PENDING_NOTES)

    def service_of(self, path: str) -> str | None:
        """The service a path under /api/ names, when the gateway fronts one by that name."""
        if not path.startswith("/api/"):
            return None
        service = path[5:].split("/", 1)[0]
        return service if service in self.upstreams else None

    async def __call__(self, scope, receive, send, service: str) -> None:
        started = time.perf_counter()
        headers = _header_map(scope["headers"])
        request_id = headers.get("x-request-id", "")
        if not REQUEST_ID.fullmatch(request_id):
            request_id = str(uuid.uuid4())
        context = request_id_var.set(request_id)
        status, upstream, caller = 500, None, {}
        trace = None  # with tracing on, the request's server span, child of the caller's traceparent
        if self.tracer is not None:
            trace = start_span(
                self.tracer,
                f"{scope['method']} /api/{service}",
                kind=SpanKind.SERVER,
                headers=headers,
                attributes={"http.request.method": scope["method"], "http.route": ROUTE, "upstream.service": service},
            )
        try:
            answer_headers = [(b"x-request-id", request_id.encode())]
            if self.cors is not None:
                answer_headers += _encoded(self.cors.actual(headers))
            try:
                if self.cors is not None and self.cors.is_preflight(scope["method"], headers):
                    status, answer_headers = 204, _encoded(self.cors.preflight(headers)) + answer_headers[:1]
                    await _respond(send, status, answer_headers, b"")
                    return
                reply = await self._forward(scope, receive, service, headers, request_id, caller, trace)
            except ConnectionAbortedError:
                status = 499  # the client closed the request (nginx's code): nobody to answer
                return
            except Problem as problem:
                status = problem.problem.status
                await _respond_problem(send, scope, headers, answer_headers, problem)
                return
            except UpstreamError as exc:
                kind, detail = UPSTREAM_PROBLEMS.get(type(exc), UPSTREAM_PROBLEMS[UpstreamFailed])
                log.warning("upstream %s", kind.code, extra={"upstream_service": exc.service, "error": exc.detail})
                status = kind.status
                retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if kind is SERVICE_UNAVAILABLE else None
                problem = Problem(kind, detail.format(exc.service), headers=retry, service=exc.service)
                await _respond_problem(send, scope, headers, answer_headers, problem)
                return
            except Exception as exc:
                problem = unavailable_problem(exc) if database_unavailable(exc) else None  # the rate store's
                if problem is None:
                    log.exception("unhandled error")
                    problem = Problem(INTERNAL_ERROR)
                status = problem.problem.status
                await _respond_problem(send, scope, headers, answer_headers, problem)
                return
            status, upstream = reply.status, reply.instance
            await self._relay(send, reply, answer_headers)
        finally:
            key_id = headers.get(signatures.KEY_HEADER.lower())
            if key_id and "authorization" not in headers:  # a signed request: its outcome for the institution
                self._note_machine_request(key_id[:40], scope["method"], scope["path"], status, request_id)
            log_access(
                scope["method"],
                ROUTE,
                status,
                time.perf_counter() - started,
                service=service,
                upstream=upstream,
                role=caller.get("role"),
            )
            request_id_var.reset(context)
            if trace is not None:
                trace.set_attribute("http.response.status_code", status)
                if status >= 500:
                    failed(trace, f"HTTP {status}")
                trace.end()

    async def _forward(
        self, scope, receive, service: str, headers: dict[str, str], request_id: str, caller: dict, trace=None
    ) -> Reply:
        """The service's answer; `caller` gets the caller's role once known (for the access log and metrics)."""
        query = scope["query_string"].decode("latin-1")
        faults = request_faults(scope["path"], parse_qsl(query, keep_blank_values=True), headers.items())
        if faults:  # text no service could store: refused here, before it reaches one
            raise Problem(VALIDATION_FAILED, errors=faults)
        rest = scope["path"][len(service) + 6 :]  # below "/api/<service>/"
        if any(segment in {".", ".."} for segment in rest.split("/")):
            # The gateway and the service must see the same path (route checks rely on it).
            raise Problem(NOT_FOUND, "Paths with '.' or '..' segments are not forwarded.")
        body = await _read_body(receive, headers)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        client = scope.get("client") or ("", 0)
        address = client_address(client[0], headers.get("x-forwarded-for"), self.guard.settings.trusted_proxies)
        incoming = Incoming(
            scope["method"], raw_path.decode("latin-1") + ("?" + query if query else ""), headers, address
        )
        identity = await self.guard.authorize(incoming, service, "/" + rest, body, self.run_blocking)
        caller["role"] = identity.role if identity is not None else "public"
        target = "/" + quote(rest, safe=PATH_SAFE) + ("?" + query if query else "")
        lines = self._outgoing(
            scope["headers"], headers, service, request_id, client[0], identity, scope["method"], "/" + rest
        )
        if trace is not None:
            lines += "".join(f"{name}: {value}\r\n" for name, value in span_headers(trace).items()).encode()
        return await self.upstreams.send(service, scope["method"], target, lines, body)

    def _outgoing(
        self,
        raw_headers,
        headers: dict[str, str],
        service: str,
        request_id: str,
        client: str,
        identity: Identity | None,
        method: str,
        path: str,
    ) -> bytes:
        """The client's end-to-end header lines plus the gateway's own (request id, forwarding chain, identity)."""
        dropped = _connection_scoped(headers.get("connection", ""))
        lines = [
            name + b": " + value + b"\r\n"
            for name, value in raw_headers
            if _forwarded(name.decode("latin-1").lower(), dropped)
        ]
        chain = ", ".join(hop for hop in (headers.get("x-forwarded-for"), client) if hop)
        lines.append(f"X-Request-ID: {request_id}\r\nX-Forwarded-Prefix: /api/{service}\r\n".encode())
        # When it left the gateway: a service refuses it 503 if it queued too long (servicekit.admission).
        lines.append(f"{QUEUE_HEADER}: t={time.time() * 1000:.0f}\r\n".encode())
        if chain:
            lines.append(f"X-Forwarded-For: {chain}\r\n".encode("latin-1"))
        if identity is not None:
            header = sign(
                identity, self.guard.keys.identity, audience=service, method=method, path=path, request_id=request_id
            )
            lines.append(f"{IDENTITY_HEADER}: {header}\r\n".encode())
        return b"".join(lines)

    async def _relay(self, send, reply: Reply, answer_headers: list[tuple[bytes, bytes]]) -> None:
        dropped = {
            token.encode("latin-1")
            for name, value in reply.headers
            if name.lower() == b"connection"
            for token in _connection_scoped(value.decode("latin-1"))
        }
        headers = [
            (name, value)
            for name, value in reply.headers
            if (lowered := name.lower()) not in NOT_RETURNED
            and lowered not in dropped
            and not lowered.startswith(b"proxy-")
        ] + answer_headers
        if reply.complete:  # the usual small answer: in one piece
            body = await reply.body()
            if not any(name.lower() == b"content-length" for name, _ in reply.headers):
                headers.append((b"content-length", str(len(body)).encode()))  # it came chunked
            await _respond(send, reply.status, headers, body)
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        try:
            async for chunk in reply.stream():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except BaseException:
            reply.abandon()
            raise
        await send({"type": "http.response.body", "body": b""})

    def _note_machine_request(self, *request) -> None:
        """Kept in the background by a thread of its own (the answer is sent already, nobody waits for the row,
        and the requests' own blocking work never queues behind it); beyond MAX_PENDING_NOTES waiting, dropped."""
        if not self._notes_pending.acquire(blocking=False):
            log.warning("machine request not recorded: too many waiting")
            return
        done = self._notes.submit(self.guard.note_machine_request, *request)
        done.add_done_callback(lambda _done: self._notes_pending.release())

    async def run_blocking(self, function, *args, **kwargs):
        """`function(*args, **kwargs)` in a thread, with this request's context (its id in log lines)."""
        call = partial(contextvars.copy_context().run, function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def close(self) -> None:
        self.upstreams.close()
        self._threads.shutdown(wait=False)
        self._notes.shutdown(wait=False)


def _header_map(raw_headers) -> dict[str, str]:
    """Header values by lower-case name (repeated headers joined with commas, RFC 9110 5.3)."""
    headers: dict[str, str] = {}
    for name, value in raw_headers:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def _read_body(receive, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    parts, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionAbortedError("the client went away")
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        parts.append(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _too_large() -> Problem:
    return Problem(
        PAYLOAD_TOO_LARGE, _("The body may be at most {limit} MiB.").format(limit=MAX_BODY_BYTES // (1024 * 1024))
    )


def _connection_scoped(value: str) -> set[str]:
    """Headers the Connection header names are hop-by-hop too."""
    return {token.strip().lower() for token in value.split(",") if token.strip()}


def _forwarded(name: str, dropped: set[str]) -> bool:
    return name not in NOT_FORWARDED and name not in dropped and not name.startswith("proxy-")


def _encoded(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _respond(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _respond_problem(send, scope, headers: dict[str, str], answer_headers, problem: Problem) -> None:
    zh = chinese_preferred(headers.get("accept-language"))
    document = problem_document(
        problem.problem, problem.detail, zh=zh, instance=scope["path"], errors=problem.errors, **problem.extra
    )
    body = json.dumps(document, ensure_ascii=False).encode()
    answer_headers = (
        answer_headers
        + _encoded(list(problem.headers.items()))
        + [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-language", b"zh-CN" if zh else b"en"),
            (b"content-length", str(len(body)).encode()),
        ]
    )
    await _respond(send, problem.problem.status, answer_headers, body)
