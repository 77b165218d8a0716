"""Gateway settings, from environment variables only (12-factor)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

# The services the gateway fronts, and where they listen in a local run (deploy/Procfile).
DEFAULT_URLS = {
    "quota": "http://127.0.0.1:8001",
    "enrollment": "http://127.0.0.1:8002",
    "finance": "http://127.0.0.1:8003",
    "evaluation": "http://127.0.0.1:8004",
}
SERVICES = tuple(DEFAULT_URLS)


@dataclass(frozen=True)
class GatewaySettings:
    upstreams: dict[str, tuple[str, ...]]  # service -> base URLs of its instances
    upstream_timeout: float = 10.0  # seconds an upstream may stay silent once connected
    connect_timeout: float = 1.0  # short, so a dead instance fails fast instead of hanging
    log_level: str = "INFO"


def _env(environ, name: str, default: str) -> str:
    return environ.get(name, "").strip() or default


def _positive_seconds(environ, name: str, default: float) -> float:
    raw = _env(environ, name, str(default))
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return value


def parse_urls(name: str, raw: str) -> tuple[str, ...]:
    """A comma-separated list of base URLs; a bad one stops the start, not a request later."""
    urls = []
    for part in raw.split(","):
        url = part.strip().rstrip("/")
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{name}: {url!r} is not an http(s) base URL")
        parts.port  # raises ValueError on a malformed port
        urls.append(url)
    if not urls:
        raise ValueError(f"{name} lists no URL")
    return tuple(urls)


def load_settings(environ=None) -> GatewaySettings:
    environ = os.environ if environ is None else environ
    upstreams = {
        service: parse_urls(f"{service.upper()}_URLS", _env(environ, f"{service.upper()}_URLS", default))
        for service, default in DEFAULT_URLS.items()
    }
    return GatewaySettings(
        upstreams=upstreams,
        upstream_timeout=_positive_seconds(environ, "GATEWAY_UPSTREAM_TIMEOUT", 10.0),
        connect_timeout=1.0,
        log_level=_env(environ, "LOG_LEVEL", "INFO").upper(),
    )
