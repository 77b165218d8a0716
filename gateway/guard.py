"""Who is calling and what they may do: logins, token refresh, request authentication, limits."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from urllib.parse import quote

from flask import current_app, g, request
from sqlalchemy.exc import IntegrityError

from servicekit.errors import FORBIDDEN, TOO_MANY_REQUESTS, UNAUTHORIZED, Problem
from servicekit.identity import Identity
from servicekit.pseudonym import employee_id_key
from servicekit.service import Runtime

from . import accounts, signatures, tokens
from .config import AuthSettings
from .external import ExternalTokens
from .keys import Keys
from .limits import LeasedCounter, Sweeper, first_use, hit
from .models import MachineClient
from .policy import PUBLIC, allowed_roles
from .revocations import Revocations

EXTENSION = "gateway.guard"
LOGIN_WINDOW_SECONDS = 15 * 60
RATE_WINDOW_SECONDS = 60
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="upskilling"'}
LOGIN_FAILED = "Wrong username or password."  # the same whether or not the user exists


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    identity: Identity

    def as_json(self) -> dict:
        return {"access_token": self.access_token, "token_type": "Bearer", "expires_in": self.expires_in,
                "refresh_token": self.refresh_token, "refresh_expires_in": self.refresh_expires_in,
                "identity": {k: v for k, v in asdict(self.identity).items() if v is not None}}


class Guard:
    def __init__(self, settings: AuthSettings, runtime: Runtime, keys: Keys):
        self.settings, self.runtime, self.keys = settings, runtime, keys
        self.employee_key = employee_id_key(runtime.settings.var_dir)  # enrollment's: the same employee ids
        self.external = ExternalTokens(settings.external) if settings.external else None
        self.sweeper = Sweeper()
        self.rates = LeasedCounter(self.transaction)
        self.revocations = Revocations(self.transaction, refresh_seconds=settings.revocation_refresh_seconds,
                                       token_lifetime=settings.access_token_seconds)
        accounts.prepare()  # the dummy hash, so the first unknown user is not slower than the rest

    def transaction(self):
        return self.runtime.sessions.begin()

    # ------------------------------------------------------------ logins

    def login(self, username: str, password: str) -> TokenPair:
        now = time.time()
        with self.transaction() as session:
            verdicts = [hit(session, f"login:user:{username.lower()}", now=now, window=LOGIN_WINDOW_SECONDS,
                            limit=self.settings.login_attempts_per_username),
                        hit(session, f"login:addr:{request.remote_addr}", now=now, window=LOGIN_WINDOW_SECONDS,
                            limit=self.settings.login_attempts_per_address)]
        _refuse_when_over(verdicts, "Too many login attempts; try again later.")
        with self.transaction() as session:
            user = accounts.authenticate(session, username, password)
            if user is None:
                raise Problem(UNAUTHORIZED, LOGIN_FAILED)
            return self._pair(session, user, now=now)

    def refresh(self, token: str) -> TokenPair:
        now = time.time()
        with self.transaction() as session:
            result = tokens.use_refresh_token(session, token, now=int(now))
            if not isinstance(result, tokens.TokenRefused):
                user, family_id = result
                return self._pair(session, user, now=now, family_id=family_id)
        # Committed: a detected reuse keeps its revocation.
        raise Problem(UNAUTHORIZED, f"Refresh refused: {result}.")

    def logout(self, token: str) -> None:
        with self.transaction() as session:
            family_id = tokens.family_of(session, token)
            if family_id is not None:
                tokens.revoke_family(session, family_id)

    def _pair(self, session, user, *, now: float, family_id: str | None = None) -> TokenPair:
        identity = accounts.identity_of(user)
        lifetime, refresh_lifetime = self.settings.access_token_seconds, self.settings.refresh_token_seconds
        refresh = tokens.new_refresh_token(session, user, now=int(now), lifetime=refresh_lifetime,
                                           family_id=family_id)
        access = tokens.issue_access_token(identity, self.keys.access_token, now=now, lifetime=lifetime)
        return TokenPair(access, lifetime, refresh, refresh_lifetime, identity)

    # ------------------------------------------------------------ requests

    def authorize(self, service: str, path: str, body: bytes) -> Identity | None:
        """The caller of a forwarded request, allowed by the route table and within its rate; None if public."""
        roles = allowed_roles(service, request.method, path)
        if roles == PUBLIC:
            self.limit(f"addr:{request.remote_addr}")
            return None
        identity = self.identify(body)
        if identity.role not in roles:
            raise Problem(FORBIDDEN, f"The role {identity.role} may not {request.method} this {service} route.")
        self.limit(f"subject:{identity.subject}")
        return identity

    def identify(self, body: bytes = b"") -> Identity:
        """The caller, from a bearer token or an institution system's signature; 401 otherwise."""
        if "identity" in g:
            return g.identity
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            g.identity = self._bearer(token.strip())
        elif request.headers.get(signatures.KEY_HEADER):
            g.identity = self._signed(body)
        else:
            raise Problem(UNAUTHORIZED, "Log in (POST /auth/token) and send the access token as a Bearer token.",
                          headers=BEARER_CHALLENGE)
        return g.identity

    def require(self, *roles: str) -> Identity:
        identity = self.identify()
        if identity.role not in roles:
            raise Problem(FORBIDDEN, f"The role {identity.role} may not do this.")
        return identity

    def _bearer(self, token: str) -> Identity:
        try:
            if self.external is not None and not tokens.is_own_token(token) and self.external.claims_issuer(token):
                return self.external.read(token)
            return tokens.read_access_token(token, self.keys.access_token, self.revocations.valid_after)
        except tokens.TokenRefused as exc:
            raise Problem(UNAUTHORIZED, f"Token refused: {exc}.", headers=BEARER_CHALLENGE) from None

    def _signed(self, body: bytes) -> Identity:
        now = time.time()
        headers = request.headers
        reason = signatures.problem_with(headers, now)
        if reason is not None:
            raise Problem(UNAUTHORIZED, f"Signed request refused: {reason}.")
        key_id = headers[signatures.KEY_HEADER]
        target = request.environ.get("RAW_URI") or _encoded_target()
        with self.transaction() as session:
            client = session.get(MachineClient, key_id)
            secret = self.keys.client_secret(key_id)
            if client is None or not client.active or not signatures.genuine(
                    secret, headers, request.method, target, body):
                raise Problem(UNAUTHORIZED, "Signed request refused: unknown key or wrong signature.")
            expires_at = int(headers[signatures.TIMESTAMP_HEADER]) + signatures.MAX_AGE_SECONDS + 1
            if not first_use(session, f"{key_id}:{headers[signatures.NONCE_HEADER]}", expires_at=expires_at):
                raise Problem(UNAUTHORIZED, "Signed request refused: this nonce was already used (a replay).")
            return accounts.machine_identity(client)

    def limit(self, client_key: str) -> None:
        now = time.time()
        verdict = self.rates.hit(f"rate:{client_key}", now=now, window=RATE_WINDOW_SECONDS,
                                 limit=self.settings.rate_limit_per_minute)
        if self.sweeper.due():
            with self.transaction() as session:
                self.sweeper.sweep(session, now)
                tokens.purge_expired(session, int(now))
        _refuse_when_over([verdict], "Too many requests; slow down.")

    # ------------------------------------------------------------ set-up

    def ensure_bootstrap_admin(self) -> None:
        """The federation admin named by GATEWAY_BOOTSTRAP_ADMIN, made once (every worker may try)."""
        if not self.settings.bootstrap_admin:
            return
        try:
            with self.transaction() as session:
                if accounts.find_user(session, self.settings.bootstrap_admin) is None:
                    accounts.create_user(session, username=self.settings.bootstrap_admin,
                                         password=self.settings.bootstrap_password, role="federation_admin",
                                         created_by="bootstrap", employee_key=self.employee_key)
        except IntegrityError:
            pass  # another process made it first


def _refuse_when_over(verdicts, detail: str) -> None:
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    if refused:
        retry_after = max(verdict.retry_after for verdict in refused)
        raise Problem(TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)})


def _encoded_target() -> str:
    query = request.query_string.decode("latin-1")
    return quote(request.path, safe="/:@!$&'()*+,;=") + ("?" + query if query else "")


def current_guard() -> Guard:
    return current_app.extensions[EXTENSION]
