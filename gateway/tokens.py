"""Access tokens (short-lived JWTs the gateway signs) and refresh tokens (opaque, used once, rotated)."""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import jwt
from sqlalchemy import update
from sqlalchemy.orm import Session

from servicekit.identity import Identity, InvalidIdentity

from .models import RefreshToken, User

ISSUER = "upskilling-gateway"
AUDIENCE = "upskilling"
ALGORITHM = "HS256"
LEEWAY_SECONDS = 5


class TokenRefused(Exception):
    """A token that does not identify anybody (the reason is for the log and the problem's detail)."""


def issue_access_token(identity: Identity, key: bytes, *, now: float, lifetime: int) -> str:
    """`iat` keeps the milliseconds (RFC 7519 allows it): a login just after a revocation is not refused;
    rounded down, so a token issued just before one never looks issued after it."""
    claims = {k: v for k, v in asdict(identity).items() if v is not None and k != "subject"}
    claims |= {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": identity.subject,
        "iat": math.floor(now * 1000) / 1000,
        "exp": int(now) + lifetime,
        "typ": "access",
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def is_own_token(token: str) -> bool:
    """Whether the (still unverified) token claims to come from this gateway."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("iss") == ISSUER
    except jwt.PyJWTError:
        return False


def read_access_token(
    token: str, key: bytes, valid_after: Callable[[str], float | None] = lambda subject: None
) -> Identity:
    """The token's identity; `valid_after` gives when a subject's tokens start to count (gateway.revocations).

    Expiry and revocation are checked on every use, outside the cache of verified tokens.
    """
    identity, issued_at, expires_at = _verified(token, key)
    if time.time() > expires_at + LEEWAY_SECONDS:
        raise TokenRefused("the access token has expired")
    cutoff = valid_after(identity.subject)
    if cutoff is not None and issued_at < cutoff:
        raise TokenRefused(
            "the access token was revoked (account disabled, password reset or role changed); log in again"
        )
    return identity


@functools.lru_cache(maxsize=4096)
def _verified(token: str, key: bytes) -> tuple[Identity, float, int]:
    """A token's identity, issue time and expiry, verified once: a client sends the same token for up to 15 minutes,
    and decoding it again cost a third of the gateway's own time per request. Refusals are not cached."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the access token has expired") from None
    except jwt.PyJWTError as exc:
        raise TokenRefused(f"invalid access token ({type(exc).__name__})") from None
    if claims.get("typ") != "access":
        raise TokenRefused("not an access token")
    return identity_from_claims(claims, claims["sub"], role_claim="role"), float(claims["iat"]), int(claims["exp"])


def identity_from_claims(claims: dict, subject: str, *, role_claim: str) -> Identity:
    scope = {
        name: str(claims[name])
        for name in ("unit_id", "grassroots_union_id", "institution_id", "employee_id")
        if claims.get(name)
    }
    try:
        return Identity(subject=subject, role=str(claims.get(role_claim)), **scope)
    except InvalidIdentity as exc:
        raise TokenRefused(f"the token's identity is incomplete: {exc}") from None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Login:
    """The login a refresh token continues: its family, and when it ends however often it is refreshed."""

    family_id: str
    ends_at: int


def new_login(*, now: int, lifetime: int) -> Login:
    return Login(secrets.token_hex(16), now + lifetime)


def new_refresh_token(session: Session, user: User, login: Login, *, now: int, lifetime: int) -> tuple[str, int]:
    """The token, and when it expires: `lifetime` from now, never after its login ends."""
    token_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    expires_at = min(now + lifetime, login.ends_at)
    session.add(
        RefreshToken(
            id=token_id,
            family_id=login.family_id,
            user_id=user.id,
            secret_hash=_hash(secret),
            expires_at=expires_at,
            session_ends_at=login.ends_at,
            revoked=False,
        )
    )
    return f"{token_id}.{secret}", expires_at


def use_refresh_token(session: Session, token: str, *, now: int) -> tuple[User, Login] | TokenRefused:
    """The token's user and family, consuming the token; a reused token revokes its whole family.

    The refusal is returned, not raised, so the caller commits the revocation first.
    """
    token_id, _, secret = token.partition(".")
    found = session.get(RefreshToken, token_id) if token_id and secret else None
    if found is None or not hmac.compare_digest(found.secret_hash, _hash(secret)):
        return TokenRefused("unknown refresh token")
    if found.revoked:
        return TokenRefused("the refresh token was revoked")
    # Conditional, so two workers racing with one token cannot both win.
    consumed = session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None)).values(used_at=now)
    ).rowcount
    if not consumed:
        revoke_family(session, found.family_id)
        return TokenRefused("the refresh token was already used: every token of this login is now revoked")
    if found.session_ends_at <= now:
        return TokenRefused("the login has reached its maximum duration; log in again")
    if found.expires_at <= now:
        return TokenRefused("the refresh token has expired")
    # Share-locked, as at login (accounts.authenticate): a racing revocation also ends this token pair.
    user = session.get(User, found.user_id, with_for_update={"read": True})
    if user is None or not user.active:
        return TokenRefused("the account is disabled")
    return user, Login(found.family_id, found.session_ends_at)


def revoke_family(session: Session, family_id: str) -> None:
    session.execute(update(RefreshToken).where(RefreshToken.family_id == family_id).values(revoked=True))


def revoke_logins(session: Session, user_id: str) -> None:
    """Every refresh token of the user, whatever login it belongs to."""
    session.execute(update(RefreshToken).where(RefreshToken.user_id == user_id).values(revoked=True))


def family_of(session: Session, token: str) -> str | None:
    token_id, _, secret = token.partition(".")
    found = session.get(RefreshToken, token_id) if token_id else None
    if found is None or not hmac.compare_digest(found.secret_hash, _hash(secret)):
        return None
    return found.family_id


def purge_expired(session: Session, now: int) -> None:
    session.execute(RefreshToken.__table__.delete().where(RefreshToken.expires_at < now - 86400))
