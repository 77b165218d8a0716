"""Users and machine clients: who may log in, with which role and scope."""
from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.db import utcnow
from servicekit.identity import (AUDITOR, EMPLOYEE, FEDERATION_ADMIN, GRASSROOTS_OFFICER, INSTITUTION_OPERATOR,
                                 INSTITUTION_SYSTEM, UNIT_OFFICER, Identity)

from .models import MachineClient, User

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
        return {"role": f"must be one of {', '.join(USER_ROLES)}"}
    wanted = SCOPE_FIELDS[role]
    errors = {name: f"required for the role {role}" for name in wanted if not scope.get(name)}
    errors |= {name: f"not part of the role {role}" for name in ALL_SCOPE_FIELDS
               if scope.get(name) and name not in wanted}
    return errors


def password_errors(password: str) -> dict[str, str]:
    if len(password) < MIN_PASSWORD_LENGTH:
        return {"password": f"at least {MIN_PASSWORD_LENGTH} characters"}
    return {}


def create_user(session: Session, *, username: str, password: str, role: str, created_by: str,
                **scope: str | None) -> User:
    errors = scope_errors(role, scope) | password_errors(password)
    if not USERNAME.fullmatch(username):
        errors["username"] = "3-100 letters, digits or . _ @ -, starting with a letter or digit"
    if errors:
        raise AccountError(errors)
    if find_user(session, username) is not None:
        raise AccountError({"username": "already taken"})
    user = User(id=str(uuid.uuid4()), username=username.lower(), password_hash=hasher.hash(password), role=role,
                active=True, created_at=utcnow(), created_by=created_by,
                **{name: scope.get(name) or None for name in ALL_SCOPE_FIELDS})
    session.add(user)
    session.flush()  # a racing duplicate fails here, on the unique username
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username.lower()))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this password, or None; as slow for an unknown user as for a wrong password."""
    user = find_user(session, username)
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
    return Identity(subject=user.username, role=user.role,
                    **{name: getattr(user, name) for name in ALL_SCOPE_FIELDS})


@dataclass(frozen=True)
class NewClient:
    client: MachineClient
    secret: str  # shown once, when the client is made


def create_client(session: Session, *, name: str, institution_id: str, created_by: str,
                  secret_of) -> NewClient:
    errors = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = "1-200 characters"
    if not institution_id.strip() or len(institution_id) > 64:
        errors["institution_id"] = "1-64 characters"
    if errors:
        raise AccountError(errors)
    client = MachineClient(key_id="ik_" + secrets.token_hex(12), name=name.strip(), institution_id=institution_id,
                           active=True, created_at=utcnow(), created_by=created_by)
    session.add(client)
    session.flush()
    return NewClient(client, secret_of(client.key_id))


def machine_identity(client: MachineClient) -> Identity:
    return Identity(subject=f"client:{client.key_id}", role=INSTITUTION_SYSTEM, institution_id=client.institution_id)
