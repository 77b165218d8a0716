"""Each answered request: one access log line without personal data, and the request metrics."""

from __future__ import annotations

import logging

from .metrics import record_request

access_log = logging.getLogger("access")


def log_access(
    method: str,
    route: str,
    status: int,
    seconds: float,
    *,
    service: str | None = None,
    upstream: str | None = None,
    role: str | None = None,
) -> None:
    # The route template and service name, never the path or query: they can carry personal data.
    fields = {
        "method": method,
        "route": route,
        "upstream_service": service,
        "upstream": upstream,
        "status": status,
        "ms": round(seconds * 1000, 1),
        "role": role,
    }
    access_log.info("request", extra={k: v for k, v in fields.items() if v is not None})
    record_request(method, route, service, status, role, seconds)
