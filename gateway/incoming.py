"""A request as the guard sees it, whichever server received it (the proxy's ASGI or Flask's WSGI)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
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


Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
MAX_ADDRESS_LENGTH = 64


def parse_networks(name: str, raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """GATEWAY_TRUSTED_PROXIES: comma-separated addresses or networks (10.0.0.0/8, ::1)."""
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _trusted(address: str, trusted: Networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Networks) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not a trusted proxy (what clients write themselves, further left, is ignored)."""
    if not trusted or not _trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:MAX_ADDRESS_LENGTH]
    return hops[0][:MAX_ADDRESS_LENGTH] if hops else peer


def from_flask(trusted: Networks = ()) -> Incoming:
    from flask import request

    target = request.environ.get("RAW_URI")
    if not target:
        query = request.query_string.decode("latin-1")
        target = quote(request.path, safe=PATH_SAFE) + ("?" + query if query else "")
    address = client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For"), trusted)
    return Incoming(request.method, target, request.headers, address)
