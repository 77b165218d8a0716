"""Who is calling and what they may do: logins, token refresh, request authentication, limits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

from flask import current_app, g, request
from sqlalchemy import case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from servicekit.audit import USER, Actor
from servicekit.db import utcnow
from servicekit.errors import FORBIDDEN, TOO_MANY_REQUESTS, UNAUTHORIZED, Problem
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.pseudonym import employee_id_key
from servicekit.service import Runtime

from . import accounts, machine_requests, signatures, tokens
from .config import AuthSettings
from .external import ExternalTokens
from .incoming import Incoming, from_flask
from .keys import Keys
from .limits import LeasedCounter, Sweeper, first_use, hit
from .metrics import RATE_LIMITED
from .models import LoginFailure, MachineClient, User
from .policy import PUBLIC, allowed_roles
from .revocations import Revocations

log = logging.getLogger(__name__)

EXTENSION = "gateway.guard"
LOGIN_WINDOW_SECONDS = 15 * 60
# Tries at the current password per account and window when changing it (the caller already holds a token
# of the account: no one else is locked out by them).
PASSWORD_CHANGE_ATTEMPTS = 10
RATE_WINDOW_SECONDS = 60
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="upskilling"'}
LOGIN_FAILED = "Wrong username or password."  # the same whether or not the user exists

RunBlocking = Callable[..., Awaitable]  # runs a function in a thread: run_blocking(function, *args, **kwargs)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    identity: Identity
    previous_login_at: datetime | None = None  # a password login: the one before it (None: the first, or a refresh)

    def as_json(self) -> dict:
        return {
            **({"previous_login_at": self.previous_login_at} if self.previous_login_at else {}),
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_in": self.refresh_expires_in,
            "identity": {k: v for k, v in asdict(self.identity).items() if v is not None},
        }


class Guard:
    def __init__(self, settings: AuthSettings, runtime: Runtime, keys: Keys):
        self.settings, self.runtime, self.keys = settings, runtime, keys
        self.employee_key = employee_id_key(runtime.settings.var_dir)  # enrollment's: the same employee ids
        self.external = ExternalTokens(settings.external) if settings.external else None
        self.sweeper = Sweeper()
        self.rates = LeasedCounter(self.transaction)
        self.rate_limits = dict(settings.rate_limits_by_role)
        self._leasing: dict[str, asyncio.Future] = {}  # on the proxy's event loop only
        self.revocations = Revocations(
            self.transaction,
            refresh_seconds=settings.revocation_refresh_seconds,
            token_lifetime=settings.access_token_seconds,
        )
        accounts.prepare()  # the dummy hash, so the first unknown user is not slower than the rest

    def transaction(self):
        return self.runtime.sessions.begin()

    # ------------------------------------------------------------ logins

    def login(self, username: str, password: str, address: str) -> TokenPair:
        """A token pair for the right password. Before any password is checked, two limits:

        - per client address (`address`, gateway.incoming.client_address): at most
          GATEWAY_LOGIN_FAILURES_PER_ADDRESS failed logins a window, whatever the usernames (429);
        - per username, never a lock-out: once it has failed GATEWAY_LOGIN_FREE_FAILURES times (from
          anywhere), an address that has itself failed for it waits a delay doubling with each further
          failure (up to GATEWAY_LOGIN_MAX_DELAY_SECONDS) before its next try. An address that has not
          failed for the username, such as its owner's, is never delayed: typing wrong passwords for
          the federation admin does not lock the federation admin out.
        """
        now, name = time.time(), username.lower()[:100]
        address_key = f"login:failed:addr:{address}"
        with self.transaction() as session:
            # Counted before the check, given back on success: parallel tries cannot pass the limit together.
            verdict = hit(
                session,
                address_key,
                now=now,
                window=LOGIN_WINDOW_SECONDS,
                limit=self.settings.login_failures_per_address,
            )
            wait = 0 if not verdict.allowed else self._delay(session, name, address, int(now))
            if not verdict.allowed or wait:
                hit(session, address_key, now=now, window=LOGIN_WINDOW_SECONDS, limit=0, amount=-1)
        if not verdict.allowed:
            _refuse_when_over([verdict], _("Too many failed logins from this address; try again later."), "login")
        if wait:
            RATE_LIMITED.labels("login").inc()
            raise Problem(
                TOO_MANY_REQUESTS,
                _("Too many failed logins for this username from this address; try again in {seconds} s.").format(
                    seconds=wait
                ),
                headers={"Retry-After": str(wait)},
            )
        with self.transaction() as session:
            user = accounts.authenticate(session, username, password)
            if user is not None:
                hit(session, address_key, now=now, window=LOGIN_WINDOW_SECONDS, limit=0, amount=-1)
                session.execute(
                    delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.address == address)
                )
                previous = user.last_login_at
                if previous is not None and previous.tzinfo is None:  # SQLite keeps no zone: it was written in UTC
                    previous = previous.replace(tzinfo=UTC)
                pair = replace(self._pair(session, user, now=now), previous_login_at=previous)
                user_id = user.id
        if user is not None:
            # its own short transaction: the login's row is share-locked above, and two logins of one account
            # upgrading that lock at once would deadlock
            with self.transaction() as session:
                session.execute(
                    update(User).where(User.id == user_id).values(last_login_at=datetime.fromtimestamp(now, UTC))
                )
            return pair
        with self.transaction() as session:
            self._failed(session, name, address, int(now))
        raise Problem(UNAUTHORIZED, LOGIN_FAILED)

    def _delay(self, session, name: str, address: str, now: int) -> int:
        """Seconds `address` must still wait before trying `name` again (0: it may try now)."""
        own = session.get(LoginFailure, (name, address))
        if own is None or own.expires_at <= now:
            return 0
        failures = session.scalar(
            select(func.coalesce(func.sum(LoginFailure.failures), 0)).where(
                LoginFailure.username == name, LoginFailure.expires_at > now
            )
        )
        beyond = failures - self.settings.login_free_failures
        if beyond <= 0:
            return 0
        delay = min(self.settings.login_max_delay_seconds, 2 ** min(beyond - 1, 20))
        return max(0, own.last_failed_at + delay - now)

    @staticmethod
    def _failed(session, name: str, address: str, now: int) -> None:
        table = LoginFailure.__table__
        insert = postgresql.insert if session.bind.dialect.name == "postgresql" else sqlite.insert
        session.execute(
            insert(table)
            .values(
                username=name, address=address, failures=1, last_failed_at=now, expires_at=now + LOGIN_WINDOW_SECONDS
            )
            .on_conflict_do_update(
                index_elements=["username", "address"],
                set_={
                    "failures": case((table.c.expires_at > now, table.c.failures + 1), else_=1),
                    "last_failed_at": now,
                    "expires_at": now + LOGIN_WINDOW_SECONDS,
                },
            )
        )

    def change_own_password(self, username: str, current: str, new: str) -> str:
        """The person's own password changed (the current one checked, counted like a login attempt); every
        login of the account is revoked. Returns the user's id."""
        now = time.time()
        with self.transaction() as session:
            verdict = hit(
                session,
                f"password-change:user:{username.lower()}",
                now=now,
                window=LOGIN_WINDOW_SECONDS,
                limit=PASSWORD_CHANGE_ATTEMPTS,
            )
        _refuse_when_over([verdict], "Too many login attempts; try again later.", "login")
        with self.transaction() as session:
            user = accounts.authenticate(session, username, current)
            if user is None:
                raise accounts.AccountError({"current_password": _("not your current password")})
            accounts.reset_password(session, user, new)
            accounts.record(session, "password changed", user, None, Actor(username, USER, user.role))
            return user.id

    def refresh(self, token: str) -> TokenPair:
        now = time.time()
        with self.transaction() as session:
            result = tokens.use_refresh_token(session, token, now=int(now))
            if not isinstance(result, tokens.TokenRefused):
                user, login = result
                return self._pair(session, user, now=now, login=login)
        # Committed: a detected reuse keeps its revocation.
        raise Problem(UNAUTHORIZED, _("Refresh refused: {result}.").format(result=result))

    def logout(self, token: str) -> None:
        with self.transaction() as session:
            family_id = tokens.family_of(session, token)
            if family_id is not None:
                tokens.revoke_family(session, family_id)

    def _pair(self, session, user, *, now: float, login: tokens.Login | None = None) -> TokenPair:
        """A new token pair; a new login (`login` None) ends GATEWAY_SESSION_SECONDS from now, however refreshed."""
        identity = accounts.identity_of(user)
        if login is None:
            login = tokens.new_login(now=int(now), lifetime=self.settings.session_seconds_of(user.role))
        refresh, refresh_expires = tokens.new_refresh_token(
            session, user, login, now=int(now), lifetime=self.settings.refresh_token_seconds
        )
        lifetime = max(1, min(self.settings.access_token_seconds, login.ends_at - int(now)))
        access = tokens.issue_access_token(identity, self.keys.access_token, now=now, lifetime=lifetime)
        return TokenPair(access, lifetime, refresh, max(0, refresh_expires - int(now)), identity)

    # ------------------------------------------------------------ requests

    async def authorize(
        self, incoming: Incoming, service: str, path: str, body: bytes, run_blocking: RunBlocking
    ) -> Identity | None:
        """The caller of a forwarded request, allowed by the route table and within its rate; None if public.

        For the proxy's event loop: whatever may wait on the database or the network
        (a signed request's nonce, a new rate lease, the revocations' reload, an external
        provider's keys) goes through `run_blocking`, which runs it in a thread.
        """
        roles = allowed_roles(service, incoming.method, path)
        if roles == PUBLIC:
            await self.limit(f"addr:{incoming.remote_addr}", run_blocking)
            return None
        token = _credential(incoming)
        if token is None:
            identity = await run_blocking(self._signed, incoming, body)
        else:
            if self.revocations.due():
                await run_blocking(self.revocations.reload)
            identity = (
                self._bearer(token)
                if self.external is None or tokens.is_own_token(token)
                else await run_blocking(self._bearer, token)
            )
        if identity.role not in roles:
            raise Problem(
                FORBIDDEN,
                _("The role {role} may not {method} this {service} route.").format(
                    role=identity.role, method=incoming.method, service=service
                ),
            )
        await self.limit(f"subject:{identity.subject}", run_blocking, self.rate_limits.get(identity.role))
        return identity

    def identify(self, incoming: Incoming, body: bytes = b"") -> Identity:
        """The caller, from a bearer token or an institution system's signature; 401 otherwise."""
        token = _credential(incoming)
        return self._signed(incoming, body) if token is None else self._bearer(token)

    def _bearer(self, token: str) -> Identity:
        try:
            if self.external is not None and not tokens.is_own_token(token) and self.external.claims_issuer(token):
                return self.external.read(token)
            return tokens.read_access_token(token, self.keys.access_token, self.revocations.valid_after)
        except tokens.TokenRefused as exc:
            raise Problem(UNAUTHORIZED, _("Token refused: {exc}.").format(exc=exc), headers=BEARER_CHALLENGE) from None

    def _signed(self, incoming: Incoming, body: bytes) -> Identity:
        now, headers = time.time(), incoming.headers
        reason = signatures.problem_with(headers, now)
        if reason is not None:
            raise Problem(UNAUTHORIZED, _("Signed request refused: {reason}.").format(reason=reason))
        key_id = headers[signatures.KEY_HEADER.lower()]
        with self.transaction() as session:
            # Read on every request: a client disabled or rotated in any gateway process is refused by all at once.
            client = session.get(MachineClient, key_id)
            if (
                client is None
                or not client.active
                or not any(
                    signatures.genuine(
                        self.keys.client_secret(key_id, generation), headers, incoming.method, incoming.target, body
                    )
                    for generation in accounts.accepted_generations(client, utcnow())
                )
            ):
                raise Problem(UNAUTHORIZED, "Signed request refused: unknown key or wrong signature.")
            expires_at = int(headers[signatures.TIMESTAMP_HEADER.lower()]) + signatures.MAX_AGE_SECONDS + 1
            nonce = headers[signatures.NONCE_HEADER.lower()]
            if not first_use(session, f"{key_id}:{nonce}", expires_at=expires_at):
                raise Problem(UNAUTHORIZED, "Signed request refused: this nonce was already used (a replay).")
            accounts.note_use(client, utcnow())
            return accounts.machine_identity(client)

    async def limit(self, client_key: str, run_blocking: RunBlocking, per_minute: int | None = None) -> None:
        """Within the client's allowance a minute: its role's (GATEWAY_RATE_LIMITS_BY_ROLE) or the default."""
        key, per_minute = f"rate:{client_key}", per_minute or self.settings.rate_limit_per_minute
        # The clock is read afresh after each wait: a request that began in a window another request has
        # since ended would otherwise ask for that ended window's lease, which never comes, for ever.
        while (verdict := self.rates.spend(key, window=RATE_WINDOW_SECONDS, now=(now := time.time()))) is None:
            await self._lease(key, now, run_blocking, per_minute)
        if self.rates.running_low(key, limit=per_minute, window=RATE_WINDOW_SECONDS, now=now):
            self._lease(key, now, run_blocking, per_minute)  # in the background: nobody waits for it
        if self.sweeper.due():
            await run_blocking(self._sweep, now)
        _refuse_when_over([verdict], "Too many requests; slow down.", "requests")

    def _lease(self, key: str, now: float, run_blocking: RunBlocking, per_minute: int) -> asyncio.Future:
        """The lease being taken for `key`, started if none is: one at a time per client and process.

        A lease done is never handed out again, though `_lease_done` may not have run yet: awaiting it returns at
        once, and a request whose window has turned since would ask for it again and again without ever letting
        the loop run `_lease_done` (every gateway worker's event loop hung so at a minute's turn under load)."""
        pending = self._leasing.get(key)
        if pending is None or pending.done():
            pending = asyncio.ensure_future(
                run_blocking(
                    self.rates.lease,
                    key,
                    window=RATE_WINDOW_SECONDS,
                    now=now,
                    limit=per_minute,
                )
            )
            self._leasing[key] = pending
            pending.add_done_callback(lambda done: self._lease_done(key, done))
        return pending

    def _lease_done(self, key: str, done: asyncio.Future) -> None:
        if self._leasing.get(key) is done:  # not the next lease, started before this callback ran
            del self._leasing[key]
        if not done.cancelled() and done.exception() is not None:  # a waiting request answers for it (503 if outage)
            log.warning("rate lease failed", extra={"error": type(done.exception()).__name__})

    def _sweep(self, now: float) -> None:
        with self.transaction() as session:
            self.sweeper.sweep(session, now)
            tokens.purge_expired(session, int(now))
            machine_requests.forget_old(session, utcnow())

    def note_machine_request(self, key_id: str, method: str, path: str, status: int, request_id: str) -> None:
        """Keep a signed request's outcome for its institution's IT staff; a failure to keep it fails no request."""
        try:
            with self.transaction() as session:
                machine_requests.record(session, key_id, method, path, status, request_id, utcnow())
        except Exception:
            log.warning("machine request not recorded", exc_info=True)

    # ------------------------------------------------------------ set-up

    def ensure_bootstrap_admin(self) -> None:
        """The federation admin named by GATEWAY_BOOTSTRAP_ADMIN, made once (every worker may try)."""
        if not self.settings.bootstrap_admin:
            return
        try:
            with self.transaction() as session:
                if accounts.find_user(session, self.settings.bootstrap_admin) is None:
                    accounts.create_user(
                        session,
                        username=self.settings.bootstrap_admin,
                        password=self.settings.bootstrap_password,
                        role="federation_admin",
                        created_by="bootstrap",
                        employee_key=self.employee_key,
                    )
        except IntegrityError:
            pass  # another process made it first


def _refuse_when_over(verdicts, detail: str, limit: str) -> None:
    refused = [verdict for verdict in verdicts if not verdict.allowed]
    if refused:
        RATE_LIMITED.labels(limit).inc()
        retry_after = max(verdict.retry_after for verdict in refused)
        raise Problem(TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(retry_after)})


def _credential(incoming: Incoming) -> str | None:
    """The bearer token, or None for a signed request; 401 when the request carries neither."""
    scheme, _, token = (incoming.headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    if incoming.headers.get(signatures.KEY_HEADER.lower()):
        return None
    raise Problem(
        UNAUTHORIZED, "Log in (POST /auth/token) and send the access token as a Bearer token.", headers=BEARER_CHALLENGE
    )


def current_guard() -> Guard:
    return current_app.extensions[EXTENSION]


def caller() -> Identity:
    """The caller of one of the gateway's own (Flask) routes."""
    if "identity" not in g:
        guard = current_guard()
        g.identity = guard.identify(from_flask(guard.settings.trusted_proxies), request.get_data())
    return g.identity


def require(*roles: str) -> Identity:
    identity = caller()
    if identity.role not in roles:
        raise Problem(FORBIDDEN, _("The role {role} may not do this.").format(role=identity.role))
    return identity
