"""/api/<service>/<path>: the request goes to the next instance of the service, the answer comes back."""
from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, g, request
from servicekit.errors import NOT_FOUND, Problem
from servicekit.identity import HEADER as IDENTITY_HEADER, Identity, sign

from . import signatures
from .guard import current_guard
from .upstreams import UpstreamResponse, current_upstreams

blueprint = Blueprint("forwarding", __name__)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# RFC 9110 7.6.1: meaningful for one connection only, never passed on.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"})
# Set by the gateway itself (or, for Expect, already dealt with: the body is read).
# The caller's credentials stay here: the service gets the identity the gateway signs instead,
# never one the client wrote.
NOT_FORWARDED = frozenset({"host", "content-length", "expect", "x-request-id", "x-forwarded-for",
                           "x-forwarded-prefix", "authorization", IDENTITY_HEADER.lower(),
                           *(name.lower() for name in signatures.HEADERS)})
# Set again by werkzeug and gunicorn; passing them on would send them twice.
NOT_RETURNED = frozenset({"content-length", "date", "server", "x-request-id"})
PATH_SAFE = "/:@!$&'()*+,;="


@blueprint.route("/api/<service>/", defaults={"rest": ""}, methods=METHODS)
@blueprint.route("/api/<service>/<path:rest>", methods=METHODS)
def forward(service: str, rest: str):
    upstreams = current_upstreams()
    if service not in upstreams:
        raise Problem(NOT_FOUND, "No service is published under this name.")
    if any(segment in {".", ".."} for segment in rest.split("/")):
        # The gateway and the service must see the same path (route checks will rely on it).
        raise Problem(NOT_FOUND, "Paths with '.' or '..' segments are not forwarded.")
    g.service = service
    body = request.get_data(cache=False)
    identity = current_guard().authorize(service, "/" + rest, body)
    answer = upstreams.request(service, request.method, upstream_target(rest),
                               outgoing_headers(service, identity), body)
    g.upstream = answer.instance
    return client_response(answer)


def upstream_target(rest: str) -> str:
    """The path below the service's prefix, encoded again, and the query string as sent."""
    query = request.query_string.decode("latin-1")
    return "/" + quote(rest, safe=PATH_SAFE) + ("?" + query if query else "")


def outgoing_headers(service: str, identity: Identity | None) -> list[tuple[str, str]]:
    """The client's end-to-end headers plus the gateway's own (request id, forwarding chain, identity)."""
    dropped = _connection_scoped(request.headers.getlist("Connection"))
    headers = [(name, value) for name, value in request.headers.items()
               if _end_to_end(name, dropped) and name.lower() not in NOT_FORWARDED]
    chain = [hop for hop in (request.headers.get("X-Forwarded-For"), request.remote_addr) if hop]
    headers.append(("X-Request-ID", g.request_id))
    if chain:
        headers.append(("X-Forwarded-For", ", ".join(chain)))
    headers.append(("X-Forwarded-Prefix", f"/api/{service}"))
    if identity is not None:
        headers.append((IDENTITY_HEADER, sign(identity, current_guard().keys.identity)))
    return headers


def client_response(answer: UpstreamResponse) -> Response:
    dropped = _connection_scoped(value for name, value in answer.headers if name.lower() == "connection")
    headers = [(name, value) for name, value in answer.headers
               if _end_to_end(name, dropped) and name.lower() not in NOT_RETURNED]
    response = Response(answer.body, status=answer.status, headers=headers)
    if not any(name.lower() == "content-type" for name, _ in headers):
        del response.headers["Content-Type"]  # werkzeug's text/html default would be a lie
    if request.method == "HEAD":
        # The length of the body a GET would have had, not of the empty one.
        length = next((value for name, value in answer.headers if name.lower() == "content-length"), None)
        if length is not None:
            response.headers["Content-Length"] = length
    return response


def _connection_scoped(values) -> set[str]:
    """Headers the Connection header names are hop-by-hop too."""
    return {token.strip().lower() for value in values for token in value.split(",") if token.strip()}


def _end_to_end(name: str, dropped: set[str]) -> bool:
    lowered = name.lower()
    return lowered not in HOP_BY_HOP and not lowered.startswith("proxy-") and lowered not in dropped
