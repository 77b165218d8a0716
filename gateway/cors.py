"""CORS for browser portals on other origins (GATEWAY_CORS_ORIGINS): the gateway answers for every service.

Preflights (OPTIONS with Access-Control-Request-Method) are answered here and never
forwarded: they carry no credentials, so a service would only refuse them. An origin
not listed gets no CORS header and the browser keeps the answer from its page. Listed
origins (GATEWAY_CORS_ORIGINS, checked by config.parse_origins) are echoed and may send
credentials; "*" (alone) admits any origin, without credentials, as the CORS rules
require. Tokens travel in the Authorization header, so no cookie is ever involved.
"""
from __future__ import annotations

import re

from flask import Flask, Response, request

from .config import ANY_ORIGIN as ANY

METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
# What a portal may read from an answer beyond the CORS-safelisted headers.
EXPOSED = "X-Request-ID, Retry-After, Location, Content-Disposition, ETag"
MAX_AGE_SECONDS = "600"
HEADER_NAMES = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")


def install_cors(app: Flask, origins: tuple[str, ...]) -> None:
    """Answer preflights and mark answers for the allowed origins; nothing at all when `origins` is empty."""
    if not origins:
        return
    allowed = frozenset(origins)

    def allow(response: Response) -> bool:
        """Mark the response for the request's origin when it is allowed."""
        response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if not origin:
            return False
        if ANY in allowed:
            response.headers["Access-Control-Allow-Origin"] = ANY
        elif origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
        else:
            return False
        return True

    @app.before_request
    def _preflight():
        if not _is_preflight():
            return None
        response = Response(status=204)
        if allow(response):
            response.headers["Access-Control-Allow-Methods"] = METHODS
            asked = request.headers.get("Access-Control-Request-Headers", "").strip()
            if HEADER_NAMES.fullmatch(asked):
                response.headers["Access-Control-Allow-Headers"] = asked
            response.headers["Access-Control-Max-Age"] = MAX_AGE_SECONDS
        return response

    @app.after_request
    def _actual(response: Response):
        if _is_preflight():
            return response  # already answered
        if allow(response):
            response.headers["Access-Control-Expose-Headers"] = EXPOSED
        return response


def _is_preflight() -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
