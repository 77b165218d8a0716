"""The gateway's own tables: accounts, refresh tokens, and the counters shared by every gateway process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.audit import add_audit_table
from servicekit.paging import keyset_indexes

ID = String(64)  # the services' identifiers of units, unions, institutions and employees


class Base(DeclarativeBase):
    pass


audit_entries = add_audit_table(Base.metadata)  # user and machine client changes


class User(Base):
    """A person who logs in with a password: federation staff, officers, institution operators, employees."""

    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(40))
    unit_id: Mapped[str | None] = mapped_column(ID)
    grassroots_union_id: Mapped[str | None] = mapped_column(ID)
    institution_id: Mapped[str | None] = mapped_column(ID)
    employee_id: Mapped[str | None] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    # Access tokens issued before it are refused (gateway.revocations); None: never revoked.
    tokens_valid_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # The last password login (the next login's answer names it: what changed since the last visit)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("role <> 'institution_system'", name="ck_users_not_a_machine"),)


class MachineClient(Base):
    """An institution's system: signs each request with the secret derived from its key id and secret generation
    (gateway.keys); after a rotation the previous generation's secret works until `previous_secret_until`."""

    __tablename__ = "machine_clients"
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    institution_id: Mapped[str] = mapped_column(ID)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(100))
    secret_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    secret_rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # to the minute


class MachineRequest(Base):
    """A signed request of a known machine client and how it ended (the status answered), for the institution's
    IT staff; the path without its query (a query may carry personal data), kept MACHINE_REQUESTS_KEPT_DAYS."""

    __tablename__ = "machine_requests"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("machine_clients.key_id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    status: Mapped[int] = mapped_column(Integer)
    request_id: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_machine_requests_key_id_at", "key_id", "at"),)


class RefreshToken(Base):
    """One refresh token of a login's family; a token is used once, a reused one revokes the family."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[int] = mapped_column(Integer)  # epoch seconds
    # When the login ends, however often it is refreshed (epoch seconds; GATEWAY_SESSION_SECONDS after the login).
    session_ends_at: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[int | None] = mapped_column(Integer)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class RateCounter(Base):
    """Hits of one key (a client, a username, an address) in one fixed window."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int] = mapped_column(Integer, primary_key=True)  # epoch seconds
    expires_at: Mapped[int] = mapped_column(Integer, index=True)
    count: Mapped[int] = mapped_column(Integer)


class SeenNonce(Base):
    """A machine request already accepted: the same key id and nonce again is a replay."""

    __tablename__ = "seen_nonces"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_seen_nonces_expires_at", "expires_at"),)


class LoginFailure(Base):
    """Failed logins for one username from one client address, in the current window (gateway.guard's delays)."""

    __tablename__ = "login_failures"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)  # lower-case, as typed (maybe unknown)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[int] = mapped_column(Integer)  # epoch seconds
    expires_at: Mapped[int] = mapped_column(Integer, index=True)


# Keyset paging (servicekit.paging): an index per list sort key, (key, id); migrations 0003_list_indexes.py and
# 0008_machine_client_secrets.py (0009) and 0010_machine_requests.py make them.
keyset_indexes(
    Base.metadata,
    (
        ("users", ("created_at", "id")),
        ("users", ("username", "id")),
        ("machine_clients", ("created_at", "key_id")),
        ("machine_clients", ("name", "key_id")),
        ("machine_requests", ("at", "id")),
    ),
)


class ActivationCode(Base):
    """A one-time code an employee activates their account with (or sets a new password with): only its hash is
    kept; it works once, until it expires, and for a few wrong tries at most."""

    __tablename__ = "activation_codes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ID, index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    issued_by: Mapped[str] = mapped_column(String(100))  # the officer's user id
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)
