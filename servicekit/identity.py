"""The caller's identity, passed by the gateway to a service in a header it signs.

The gateway authenticates the caller (password/JWT, or an institution
system's API key and request signature), then sends

    X-Upskilling-Identity: v1.<base64url(JSON claims)>.<base64url(HMAC-SHA256)>

signed with a key only the gateway and the services hold. A service refuses a
request whose header is missing, forged, or older than a minute, so reaching a
service directly and writing the header by hand gets nowhere. Services then
scope every query to the identity (a unit officer sees only that unit).
"""

from __future__ import annotations

import base64
import fcntl
import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from flask import g, request

from .errors import FORBIDDEN, UNAUTHORIZED, Problem

HEADER = "X-Upskilling-Identity"
VERSION = "v1"
MAX_AGE_SECONDS = 60
CLOCK_SKEW_SECONDS = 5

FEDERATION_ADMIN = "federation_admin"
AUDITOR = "auditor"
UNIT_OFFICER = "unit_officer"
GRASSROOTS_OFFICER = "grassroots_officer"
INSTITUTION_OPERATOR = "institution_operator"
INSTITUTION_SYSTEM = "institution_system"
EMPLOYEE = "employee"
ROLES = frozenset(
    {FEDERATION_ADMIN, AUDITOR, UNIT_OFFICER, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, EMPLOYEE}
)

# Which scope field each role must carry.
SCOPE_OF_ROLE = {
    UNIT_OFFICER: "unit_id",
    GRASSROOTS_OFFICER: "grassroots_union_id",
    INSTITUTION_OPERATOR: "institution_id",
    INSTITUTION_SYSTEM: "institution_id",
    EMPLOYEE: "employee_id",
}


class InvalidIdentity(ValueError):
    pass


@dataclass(frozen=True)
class Identity:
    subject: str  # the user or machine client, for audit trails
    role: str
    unit_id: str | None = None  # first-level unit (unit officers; grassroots officers' parent unit)
    grassroots_union_id: str | None = None
    institution_id: str | None = None
    employee_id: str | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise InvalidIdentity(f"unknown role {self.role!r}")
        scope = SCOPE_OF_ROLE.get(self.role)
        if scope and not getattr(self, scope):
            raise InvalidIdentity(f"role {self.role} needs {scope}")

    @property
    def is_federation(self) -> bool:
        """Federation staff see everything (the auditor read-only)."""
        return self.role in (FEDERATION_ADMIN, AUDITOR)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(identity: Identity, key: bytes, *, now: float | None = None) -> str:
    return _signed(identity, key, int(now if now is not None else time.time()))


@functools.lru_cache(maxsize=1024)
def _signed(identity: Identity, key: bytes, issued_at: int) -> str:
    """The header is the same for one caller within one second: the gateway signs it once."""
    claims = {k: v for k, v in vars(identity).items() if v is not None}
    claims["iat"] = issued_at
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signature = hmac.new(key, f"{VERSION}.{payload}".encode(), hashlib.sha256).digest()
    return f"{VERSION}.{payload}.{_b64(signature)}"


def verify(header: str, key: bytes, *, now: float | None = None) -> Identity:
    try:
        version, payload, signature = header.split(".")
    except ValueError:
        raise InvalidIdentity("malformed identity header") from None
    expected = hmac.new(key, f"{version}.{payload}".encode(), hashlib.sha256).digest()
    try:
        genuine = version == VERSION and hmac.compare_digest(_unb64(signature), expected)
        claims = json.loads(_unb64(payload)) if genuine else {}
    except (ValueError, TypeError):
        genuine = False
    if not genuine:
        raise InvalidIdentity("identity header not signed by the gateway")
    now = now if now is not None else time.time()
    issued = claims.pop("iat", None)
    if not isinstance(issued, int) or not (now - MAX_AGE_SECONDS <= issued <= now + CLOCK_SKEW_SECONDS):
        raise InvalidIdentity("identity header expired")
    try:
        return Identity(**claims)
    except TypeError as exc:
        raise InvalidIdentity(f"unexpected claims: {exc}") from None


def signing_key(var_dir: Path) -> bytes:
    """`IDENTITY_SIGNING_KEY` from the environment; on one machine, a key made once under var/."""
    return machine_secret(var_dir, "IDENTITY_SIGNING_KEY", "identity-signing")


def machine_secret(var_dir: Path, variable: str, name: str) -> bytes:
    """A secret from the environment variable; unset, one made once in var/<name>.key for every process of the machine."""
    configured = os.environ.get(variable, "").strip()
    if configured:
        return configured.encode()
    path = var_dir / f"{name}.key"
    var_dir.mkdir(parents=True, exist_ok=True)
    with open(var_dir / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
    return path.read_text().strip().encode()


def current_identity() -> Identity:
    """The verified caller of this request; 401 problem without a valid gateway signature."""
    if "identity" not in g:
        from flask import current_app

        header = request.headers.get(HEADER)
        if not header:
            raise Problem(UNAUTHORIZED, "This service is reached through the gateway, which identifies the caller.")
        try:
            g.identity = verify(header, current_app.config["IDENTITY_SIGNING_KEY"])
        except InvalidIdentity as exc:
            raise Problem(UNAUTHORIZED, f"Caller identity refused: {exc}") from None
    return g.identity


def requires(*roles: str):
    """Endpoint decorator: a verified identity with one of `roles` (the service's own check)."""
    unknown = set(roles) - ROLES
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            identity = current_identity()
            if identity.role not in roles:
                raise Problem(FORBIDDEN, f"The role {identity.role} may not do this.")
            return view(*args, **kwargs)

        return guarded

    return decorate
