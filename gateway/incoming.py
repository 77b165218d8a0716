"""A request as the guard sees it, whichever server received it (the proxy's ASGI or Flask's WSGI)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

# What a path keeps unencoded when the gateway writes it again (RFC 3986 pchar, but '%').
PATH_SAFE = "/:@!$&'()*+,;="


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str  # path and query exactly as sent (what an institution system signed)
    headers: Mapping[str, str]  # looked up by lower-case name
    remote_addr: str


def from_flask() -> Incoming:
    from flask import request

    target = request.environ.get("RAW_URI")
    if not target:
        query = request.query_string.decode("latin-1")
        target = quote(request.path, safe=PATH_SAFE) + ("?" + query if query else "")
    return Incoming(request.method, target, request.headers, request.remote_addr or "")
