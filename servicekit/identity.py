"""The caller's identity, passed by the gateway to a service in a header it signs.

The gateway authenticates the caller (password/JWT, or an institution
system's API key and request signature), then sends

    X-Upskilling-Identity: <JWS, EdDSA (Ed25519), header kid>

whose claims are the identity (sub, role, scope) bound to one request: `aud` the
target service, `htm`/`htu` its method and path (below /api/<service>), `rid` its
X-Request-ID, and a lifetime of 10 s (`iat`, `exp`; 5 s leeway for clocks). Only
the gateway holds the private key (IDENTITY_PRIVATE_KEY); services hold the public
keys (IDENTITY_PUBLIC_KEYS, old and new while a key is rotated: servicekit.keys).
A service refuses a header that is missing, forged, expired, or made for another
service or request, so neither reaching a service directly nor replaying a header
seen by one service gets anywhere. Services then scope every query to the identity.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import g, request

from .errors import FORBIDDEN, UNAUTHORIZED, Problem
from .i18n import _
from .keys import key_id

HEADER = "X-Upskilling-Identity"
ISSUER = "upskilling-gateway"
ALGORITHM = "EdDSA"
LIFETIME_SECONDS = 10  # one request's way from the gateway to a service
LEEWAY_SECONDS = 5  # clocks of different machines

FEDERATION_ADMIN = "federation_admin"
AUDITOR = "auditor"
FEDERATION_ROLES = (FEDERATION_ADMIN, AUDITOR)
UNIT_OFFICER = "unit_officer"
GRASSROOTS_OFFICER = "grassroots_officer"
INSTITUTION_OPERATOR = "institution_operator"
INSTITUTION_SYSTEM = "institution_system"
EMPLOYEE = "employee"
ROLES = frozenset(
    {FEDERATION_ADMIN, AUDITOR, UNIT_OFFICER, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM, EMPLOYEE}
)

SCOPE_FIELDS = ("unit_id", "grassroots_union_id", "institution_id", "employee_id")
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
        return self.role in FEDERATION_ROLES


def sign(
    identity: Identity,
    key: Ed25519PrivateKey,
    *,
    audience: str,
    method: str,
    path: str,
    request_id: str,
    now: float | None = None,
) -> str:
    """The header for one request to one service: a JWS (EdDSA) naming the signing key (`kid`)."""
    issued = int(now if now is not None else time.time())
    claims = {k: v for k, v in vars(identity).items() if v is not None and k != "subject"}
    claims |= {
        "sub": identity.subject,
        "iss": ISSUER,
        "aud": audience,
        "htm": method.upper(),
        "htu": path,
        "rid": request_id,
        "iat": issued,
        "exp": issued + LIFETIME_SECONDS,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": _kid(key)})


@functools.lru_cache(maxsize=8)
def _kid(key: Ed25519PrivateKey) -> str:
    return key_id(key.public_key())


def verify(
    header: str, keys: dict[str, Ed25519PublicKey], *, audience: str, method: str, path: str, request_id: str
) -> Identity:
    """The identity of a header signed by one of `keys` for this very request to this service; InvalidIdentity otherwise."""
    try:
        key = keys.get(str(jwt.get_unverified_header(header).get("kid")))
    except jwt.PyJWTError:
        raise InvalidIdentity("malformed identity header") from None
    if key is None:
        raise InvalidIdentity("identity header signed with a key this service does not accept")
    try:
        claims = jwt.decode(
            header,
            key,
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "htm", "htu", "rid"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidIdentity("identity header expired") from None
    except jwt.InvalidAudienceError:
        raise InvalidIdentity("identity header signed for another service") from None
    except jwt.PyJWTError:
        raise InvalidIdentity("identity header not signed by the gateway") from None
    if claims["iat"] > time.time() + LEEWAY_SECONDS or claims["exp"] - claims["iat"] > LIFETIME_SECONDS:
        raise InvalidIdentity("identity header expired")
    if (claims["htm"], claims["htu"], claims["rid"]) != (method.upper(), path, request_id):
        raise InvalidIdentity("identity header signed for another request")
    scope = {name: claims[name] for name in SCOPE_FIELDS if name in claims}
    try:
        return Identity(subject=str(claims["sub"]), role=str(claims.get("role")), **scope)
    except (TypeError, InvalidIdentity) as exc:
        raise InvalidIdentity(f"unexpected claims: {exc}") from None


def current_identity() -> Identity:
    """The verified caller of this request; 401 problem without a valid gateway signature."""
    if "identity" not in g:
        from flask import current_app

        header = request.headers.get(HEADER)
        if not header:
            raise Problem(UNAUTHORIZED, "This service is reached through the gateway, which identifies the caller.")
        try:
            g.identity = verify(
                header,
                current_app.config["IDENTITY_PUBLIC_KEYS"],
                audience=current_app.config["IDENTITY_AUDIENCE"],
                method=request.method,
                path=request.path,
                request_id=request.headers.get("X-Request-ID", ""),
            )
        except InvalidIdentity as exc:
            raise Problem(UNAUTHORIZED, _("Caller identity refused: {exc}").format(exc=exc)) from None
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
                raise Problem(FORBIDDEN, _("The role {role} may not do this.").format(role=identity.role))
            return view(*args, **kwargs)

        return guarded

    return decorate
