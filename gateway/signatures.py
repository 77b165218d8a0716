"""Institution systems' signed requests: API key id + HMAC-SHA256 over the request.

    X-Api-Key:   the client's key id (ik_...)
    X-Timestamp: Unix seconds when the request was signed
    X-Nonce:     8-64 characters [A-Za-z0-9_-], new for every request
    X-Signature: hex HMAC-SHA256(secret, METHOD \\n path?query \\n timestamp \\n nonce \\n hex SHA-256(body))

The path is exactly as sent (percent-encoding included), e.g. /api/evaluation/results?batch=3.
A request signed more than five minutes before or after the gateway's clock,
or whose key id and nonce were seen before, is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

from servicekit.i18n import _

KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER = "X-Api-Key", "X-Timestamp", "X-Nonce", "X-Signature"
HEADERS = (KEY_HEADER, TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)
MAX_AGE_SECONDS = 300
NONCE = re.compile(r"[A-Za-z0-9_-]{8,64}")


def canonical(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join([method.upper(), target, timestamp, nonce, hashlib.sha256(body).hexdigest()]).encode()


def signature(secret: str, method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac.new(secret.encode(), canonical(method, target, timestamp, nonce, body), hashlib.sha256).hexdigest()


def signed_headers(
    key_id: str,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    now: float | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """What an institution system sends (a reference for integrators, and used by the tests)."""
    timestamp = str(int(time.time() if now is None else now))
    nonce = nonce or secrets.token_urlsafe(16)
    return {
        KEY_HEADER: key_id,
        TIMESTAMP_HEADER: timestamp,
        NONCE_HEADER: nonce,
        SIGNATURE_HEADER: signature(secret, method, target, timestamp, nonce, body),
    }


def problem_with(headers, now: float) -> str | None:
    """Why the signing headers (looked up by lower-case name) are unusable before any secret is looked at."""
    missing = [name for name in HEADERS if not headers.get(name.lower())]
    if missing:
        return _("missing {headers}").format(headers=", ".join(missing))
    if not NONCE.fullmatch(headers[NONCE_HEADER.lower()]):
        return _("X-Nonce must be 8-64 characters of A-Z a-z 0-9 _ -")
    try:
        timestamp = int(headers[TIMESTAMP_HEADER.lower()])
    except ValueError:
        return _("X-Timestamp must be Unix seconds")
    if abs(now - timestamp) > MAX_AGE_SECONDS:
        return "the request was signed more than five minutes away from now"
    return None


def genuine(secret: str, headers, method: str, target: str, body: bytes) -> bool:
    expected = signature(secret, method, target, headers[TIMESTAMP_HEADER.lower()], headers[NONCE_HEADER.lower()], body)
    return hmac.compare_digest(expected, headers[SIGNATURE_HEADER.lower()].lower())
