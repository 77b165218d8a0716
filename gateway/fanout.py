"""The gateway reading services itself for one caller (the merged audit trail, the close-out, the right of
access): each GET signed for that one request to that one service, as the proxy signs what it forwards."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlencode

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import g

from servicekit.errors import NOT_FOUND, SERVICE_UNAVAILABLE, Problem
from servicekit.identity import HEADER, Identity, sign
from servicekit.service import Runtime

from .guard import current_guard
from .upstreams import UpstreamError, Upstreams, current_upstreams

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 10.0
Item, Answer = TypeVar("Item"), TypeVar("Answer")


@dataclass(frozen=True)
class Reader:
    """What reading services for the caller needs, taken from the request: an export streams after it, and
    a pool's threads read with the request's context (its request id, language and log fields)."""

    identity: Identity
    upstreams: Upstreams
    request_id: str
    key: Ed25519PrivateKey
    runtime: Runtime
    context: contextvars.Context

    @classmethod
    def of_request(cls, identity: Identity) -> Reader:
        guard = current_guard()
        return cls(
            identity, current_upstreams(), g.request_id, guard.keys.identity, guard.runtime, contextvars.copy_context()
        )

    def each(self, read: Callable[[Item], Answer], items: Iterable[Item]) -> list[Answer]:
        """`read` of every item at once, each in a thread with the request's context."""
        items = list(items)
        with ThreadPoolExecutor(max_workers=max(len(items), 1)) as pool:
            return list(pool.map(lambda item: self.context.copy().run(read, item), items))

    def get(self, *args, **kwargs):
        """`fetch`'s JSON answer alone."""
        return self.fetch(*args, **kwargs)[0]

    def fetch(
        self,
        service: str,
        path: str,
        params: dict,
        unavailable: str,
        not_found: str | None = None,
        not_found_on: tuple[int, ...] = (404,),
    ) -> tuple:
        """A service's JSON answer to a GET, and the answer's headers (names lower-case: a list's link,
        x-total-count). 503 (`unavailable`) when the service cannot answer; 404 (`not_found`) when given and the
        service answers one of `not_found_on`."""
        header = sign(self.identity, self.key, audience=service, method="GET", path=path, request_id=self.request_id)
        headers = {"Accept": "application/json", "X-Request-ID": self.request_id, HEADER: header}
        target = f"{path}?{urlencode(params)}" if params else path
        try:
            status, body, answered = self.upstreams.fetch(service, target, headers, FETCH_TIMEOUT)
        except UpstreamError as exc:
            log.warning("upstream unavailable", extra={"upstream_service": service, "error": exc.detail})
            raise Problem(SERVICE_UNAVAILABLE, unavailable) from None
        if status in not_found_on and not_found is not None:
            raise Problem(NOT_FOUND, not_found)
        if status != 200:
            log.warning("upstream unavailable", extra={"upstream_service": service, "upstream_status": status})
            raise Problem(SERVICE_UNAVAILABLE, unavailable)
        return json.loads(body), {name.lower(): value for name, value in answered.items()}
