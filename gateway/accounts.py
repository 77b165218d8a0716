"""Users and machine clients: who may log in, with which role and scope; the federation's user management.

An employee's account is linked to enrollment's employee id: given the resident ID number,
the account stores only its keyed pseudonym (servicekit.pseudonym), never the number.
Disabling a user or resetting their password revokes their refresh tokens; those and a role
change also end the access tokens already issued (tokens_valid_after, gateway.revocations).
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit import audit as trail
from servicekit import pseudonym
from servicekit.audit import Actor
from servicekit.clock import china_today
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import (
    AUDITOR,
    EMPLOYEE,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    UNIT_OFFICER,
    Identity,
)
from servicekit.resident_id import InvalidPersonalData, normalise_resident_id

from .models import MachineClient, User, audit_entries
from .tokens import revoke_logins

# The scope fields each role must carry (a grassroots officer also names its first-level unit).
SCOPE_FIELDS = {
    FEDERATION_ADMIN: (),
    AUDITOR: (),
    UNIT_OFFICER: ("unit_id",),
    GRASSROOTS_OFFICER: ("grassroots_union_id", "unit_id"),
    INSTITUTION_OPERATOR: ("institution_id",),
    EMPLOYEE: ("employee_id",),
}
USER_ROLES = tuple(SCOPE_FIELDS)
ALL_SCOPE_FIELDS = ("unit_id", "grassroots_union_id", "institution_id", "employee_id")
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{2,99}")
MIN_PASSWORD_LENGTH = 10

audit_log = logging.getLogger("gateway.audit")

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): memory-hard, yet ~0.07 s a login
# on a 2-core machine. Hashes made with other parameters are upgraded at the next login.
hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_dummy_hash: list[str] = []  # made once per process: what an unknown user's password is checked against


class AccountError(ValueError):
    """Input a new account cannot be made from; `errors` maps fields to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def scope_errors(role: str, scope: dict[str, str | None]) -> dict[str, str]:
    """What is wrong with a role's scope: each required field present, no other."""
    if role not in SCOPE_FIELDS:
        return {"role": _("must be one of {roles}").format(roles=", ".join(USER_ROLES))}
    wanted = SCOPE_FIELDS[role]
    errors = {name: _("required for the role {role}").format(role=role) for name in wanted if not scope.get(name)}
    errors |= {
        name: _("not part of the role {role}").format(role=role)
        for name in ALL_SCOPE_FIELDS
        if scope.get(name) and name not in wanted
    }
    return errors


def role_scope(
    role: str, scope: dict[str, str | None], *, resident_id: str | None, employee_key: bytes
) -> tuple[dict[str, str | None], dict[str, str]]:
    """The scope to store for a role, and what is wrong with it.

    An employee may be named by resident ID number instead of employee_id: the account then
    gets the same pseudonym enrollment gives that person, and the number is not kept.
    """
    scope = {name: scope.get(name) or None for name in ALL_SCOPE_FIELDS}
    errors = {}
    if resident_id:
        if role != EMPLOYEE:
            errors["resident_id"] = _("not part of the role {role}").format(role=role)
        elif scope["employee_id"]:
            errors["resident_id"] = _("give the resident ID number or the employee_id, not both")
        else:
            try:
                number = normalise_resident_id(resident_id, china_today())
                scope["employee_id"] = pseudonym.employee_id(number, employee_key)
            except InvalidPersonalData as exc:
                errors["resident_id"] = exc.args[0]
    errors |= scope_errors(role, scope)
    if "resident_id" in errors:
        errors.pop("employee_id", None)  # the one mistake, said once
    return scope, errors


def password_errors(password: str) -> dict[str, str]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"password": _("at least {count} characters").format(count=MIN_PASSWORD_LENGTH)}
    return {}


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    created_by: str,
    employee_key: bytes,
    resident_id: str | None = None,
    **scope: str | None,
) -> User:
    scope, errors = role_scope(role, scope, resident_id=resident_id, employee_key=employee_key)
    errors |= password_errors(password)
    if not USERNAME.fullmatch(username):
        errors["username"] = _("3-100 letters, digits or . _ @ -, starting with a letter or digit")
    if errors:
        raise AccountError(errors)
    if find_user(session, username) is not None:
        raise AccountError({"username": _("already taken")})
    user = User(
        id=str(uuid.uuid4()),
        username=username.lower(),
        password_hash=hasher.hash(password),
        role=role,
        active=True,
        created_at=utcnow(),
        created_by=created_by,
        **scope,
    )
    session.add(user)
    session.flush()  # a racing duplicate fails here, on the unique username
    return user


def list_users(
    session: Session, *, limit: int | None = None, offset: int = 0, active: bool | None = None, **filters: str | None
) -> list[User]:
    """Users by username (all of them without `limit`); `filters`: role and scope fields to match exactly."""
    query = select(User).order_by(User.username).limit(limit).offset(offset)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(User, name) == value)
    if active is not None:
        query = query.where(User.active.is_(active))
    return list(session.scalars(query))


def set_active(session: Session, user: User, active: bool) -> None:
    """Enable or disable; a disabled user can neither log in nor refresh, nor use a token still unexpired."""
    user.active = active
    if not active:
        revoke_logins(session, user.id)
        user.tokens_valid_after = utcnow()


def reset_password(session: Session, user: User, password: str) -> None:
    """A new password; every login made with the old one ends at its next refresh."""
    errors = password_errors(password)
    if errors:
        raise AccountError(errors)
    user.password_hash = hasher.hash(password)
    revoke_logins(session, user.id)
    user.tokens_valid_after = utcnow()


def change_role(
    session: Session, user: User, *, role: str, employee_key: bytes, resident_id: str | None = None, **scope: str | None
) -> None:
    """Role and scope replaced together, checked as at creation; refreshed tokens carry the new ones
    and the access tokens carrying the old ones are refused."""
    scope, errors = role_scope(role, scope, resident_id=resident_id, employee_key=employee_key)
    if errors:
        raise AccountError(errors)
    user.role = role
    for name, value in scope.items():
        setattr(user, name, value)
    user.tokens_valid_after = utcnow()


def user_state(user: User) -> dict:
    """What an audit entry keeps of a user: ids, role, scope and whether active (no username, no number)."""
    return {"id": user.id, "role": user.role, "active": user.active} | {
        name: getattr(user, name) for name in ALL_SCOPE_FIELDS if getattr(user, name)
    }


ACTIONS = {  # the log line's action -> the audit entry's
    "user created": "user.created",
    "user disabled": "user.disabled",
    "user enabled": "user.enabled",
    "password reset": "user.password_reset",
    "role changed": "user.role_changed",
    "password changed": "user.own_password_changed",
}


def record(session: Session, action: str, user: User, before: dict | None, actor: Actor) -> None:
    """The account change in the gateway's audit trail, in the change's own transaction (servicekit.audit)."""
    trail.record(
        session,
        audit_entries,
        ACTIONS.get(action, action),
        "user",
        user.id,
        before=before,
        after=user_state(user),
        actor=actor,
        only_changes=before is not None,
    )


def record_client(session: Session, client: MachineClient, actor: Actor) -> None:
    """A new machine client in the gateway's audit trail (its key id and institution, never its secret)."""
    after = {"key_id": client.key_id, "name": client.name, "institution_id": client.institution_id, "active": True}
    trail.record(
        session, audit_entries, "machine_client.created", "machine_client", client.key_id, after=after, actor=actor
    )


def audit(action: str, user: User, *, by: str) -> None:
    """The log line of a committed account change: ids and role only, never a username or number."""
    audit_log.info(action, extra={"user_id": user.id, "user_role": user.role, "active": user.active, "by_user_id": by})


def find_user(session: Session, username: str, *, share_lock: bool = False) -> User | None:
    query = select(User).where(User.username == username.lower())
    return session.scalar(query.with_for_update(read=True) if share_lock else query)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None; as slow for an unknown user as for a wrong password.

    The row stays share-locked until the caller commits: a revocation waits for the login's
    token to be issued, so stamps a later tokens_valid_after and refuses it.
    """
    user = find_user(session, username, share_lock=True)
    if user is None or not user.active:
        _verify(_dummy(), password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def _verify(hashed: str, password: str) -> bool:
    try:
        return hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def prepare() -> None:
    if not _dummy_hash:
        _dummy_hash.append(hasher.hash(secrets.token_urlsafe(16)))


def _dummy() -> str:
    prepare()
    return _dummy_hash[0]


def identity_of(user: User) -> Identity:
    return Identity(subject=user.username, role=user.role, **{name: getattr(user, name) for name in ALL_SCOPE_FIELDS})


@dataclass(frozen=True)
class NewClient:
    client: MachineClient
    secret: str  # shown once, when the client is made


def create_client(session: Session, *, name: str, institution_id: str, created_by: str, secret_of) -> NewClient:
    errors = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = _("1-200 characters")
    if not institution_id.strip() or len(institution_id) > 64:
        errors["institution_id"] = _("1-64 characters")
    if errors:
        raise AccountError(errors)
    client = MachineClient(
        key_id="ik_" + secrets.token_hex(12),
        name=name.strip(),
        institution_id=institution_id,
        active=True,
        created_at=utcnow(),
        created_by=created_by,
    )
    session.add(client)
    session.flush()
    return NewClient(client, secret_of(client.key_id))


def machine_identity(client: MachineClient) -> Identity:
    return Identity(subject=f"client:{client.key_id}", role=INSTITUTION_SYSTEM, institution_id=client.institution_id)


# Machine clients: disable / enable (a reason each), secret rotation with an overlap, last use.

DEFAULT_SECRET_OVERLAP_HOURS = 24
MAX_SECRET_OVERLAP_HOURS = 168
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute per client


def client_state(client: MachineClient) -> dict:
    return {
        "key_id": client.key_id,
        "name": client.name,
        "institution_id": client.institution_id,
        "active": client.active,
        "secret_generation": client.secret_generation,
        "previous_secret_until": client.previous_secret_until,
    }


def client_for_update(session: Session, key_id: str) -> MachineClient | None:
    return session.scalar(select(MachineClient).where(MachineClient.key_id == key_id).with_for_update())


def set_client_active(session: Session, client: MachineClient, active: bool, reason: str, actor: Actor) -> bool:
    """Disable or enable the client (row locked by the caller), audited with the reason; False: already so.
    Every signed request reads the row (gateway.guard), so every gateway process refuses a disabled client's
    next request."""
    if client.active == active:
        return False
    before = client_state(client)
    client.active = active
    _record_client_change(session, "enabled" if active else "disabled", client, before, reason, actor)
    return True


def rotate_client_secret(
    session: Session, client: MachineClient, overlap_hours: int, reason: str | None, actor: Actor, secret_of
) -> str:
    """The client's next secret generation (row locked by the caller): the new secret, shown once; the one it
    replaces keeps working `overlap_hours` (0: refused at once), any older one is refused from now."""
    before = client_state(client)
    now = utcnow()
    client.secret_generation += 1
    client.secret_rotated_at = now
    client.previous_secret_until = now + timedelta(hours=overlap_hours) if overlap_hours else None
    _record_client_change(session, "secret_rotated", client, before, reason, actor)
    return secret_of(client.key_id, client.secret_generation)


def _record_client_change(
    session: Session, what: str, client: MachineClient, before: dict, reason: str | None, actor: Actor
) -> None:
    after = client_state(client)
    trail.record(
        session,
        audit_entries,
        f"machine_client.{what}",
        "machine_client",
        client.key_id,
        before=before,
        after=after,
        reason=reason,
        actor=actor,
        only_changes=True,
    )


def accepted_generations(client: MachineClient, now: datetime) -> list[int]:
    """The secret generations a signed request of the client may use now: the current one, and the one before
    while its overlap lasts."""
    generations = [client.secret_generation]
    until = client.previous_secret_until
    if client.secret_generation > 0 and until is not None and _aware(until) > now:
        generations.append(client.secret_generation - 1)
    return generations


def note_use(client: MachineClient, now: datetime) -> None:
    """When the client last signed a request that was accepted (to the minute: one write a minute at most)."""
    if client.last_used_at is None or now - _aware(client.last_used_at) >= LAST_USED_RESOLUTION:
        client.last_used_at = now


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite gives them back naive
