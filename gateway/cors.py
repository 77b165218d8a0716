"""CORS for browser portals on other origins (GATEWAY_CORS_ORIGINS): the gateway answers for every service.

Preflights (OPTIONS with Access-Control-Request-Method) are answered here and never
forwarded: they carry no credentials, so a service would only refuse them. An origin
not listed gets no CORS header and the browser keeps the answer from its page. Listed
origins (GATEWAY_CORS_ORIGINS, checked by config.parse_origins) are echoed and may send
credentials; "*" (alone) admits any origin, without credentials, as the CORS rules
require. Tokens travel in the Authorization header, so no cookie is ever involved.

`CorsPolicy` decides from the request's headers alone; the proxy (ASGI) and the Flask
app (the gateway's own routes) each apply it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Flask, Response, request

from .config import ANY_ORIGIN as ANY

METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
# What a portal may read from an answer beyond the CORS-safelisted headers.
EXPOSED = ", ".join(
    (
        "X-Request-ID",
        "Retry-After",
        "Location",
        "Content-Disposition",
        "ETag",
        "Link",  # a list's next page (servicekit.paging)
        "X-Total-Count",
        "Idempotent-Replayed",  # servicekit.idempotency: this answer repeats the first one
    )
)
MAX_AGE_SECONDS = "600"
HEADER_NAMES = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*")
VARY = ("Vary", "Origin")


class CorsPolicy:
    def __init__(self, origins: tuple[str, ...]):
        self.allowed = frozenset(origins)

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        """`headers` are looked up by lower-case name."""
        return method == "OPTIONS" and "access-control-request-method" in headers

    def preflight(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """The headers of the 204 that answers a preflight."""
        answer = self._origin(headers)
        if len(answer) > 1:
            answer += [("Access-Control-Allow-Methods", METHODS)]
            asked = (headers.get("access-control-request-headers") or "").strip()
            if HEADER_NAMES.fullmatch(asked):
                answer.append(("Access-Control-Allow-Headers", asked))
            answer.append(("Access-Control-Max-Age", MAX_AGE_SECONDS))
        return answer

    def actual(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """The headers added to any other answer."""
        answer = self._origin(headers)
        return answer + [("Access-Control-Expose-Headers", EXPOSED)] if len(answer) > 1 else answer

    def _origin(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        origin = headers.get("origin")
        if not origin:
            return [VARY]
        if ANY in self.allowed:
            return [VARY, ("Access-Control-Allow-Origin", ANY)]
        if origin in self.allowed:
            return [VARY, ("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true")]
        return [VARY]


def install_cors(app: Flask, policy: CorsPolicy | None) -> None:
    """Answer preflights and mark answers for the allowed origins; nothing at all without a policy."""
    if policy is None:
        return

    def mark(response: Response, headers: list[tuple[str, str]]) -> Response:
        for name, value in headers:
            if name == "Vary":
                response.vary.add(value)
            else:
                response.headers[name] = value
        return response

    @app.before_request
    def _preflight():
        if policy.is_preflight(request.method, request.headers):
            return mark(Response(status=204), policy.preflight(request.headers))
        return None

    @app.after_request
    def _actual(response: Response):
        if not policy.is_preflight(request.method, request.headers):
            mark(response, policy.actual(request.headers))
        return response
