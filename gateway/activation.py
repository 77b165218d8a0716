"""Employees activate their own accounts: no clerk makes a million of them.

The grassroots union that nominated an employee asks for a one-time activation code (and again when the
employee forgets the password: never a reset by ID number alone). The code is shown to the officer, to print or
hand over, and sent to the nominee's phone through one `gateway.sms.Sender`, the provider chosen by
GATEWAY_SMS_PROVIDER (locally `log`: the message goes to the log with the phone masked). Only the code's hash is kept; it works once,
until it expires (GATEWAY_ACTIVATION_CODE_HOURS), for at most MAX_FAILURES wrong tries, and a new code replaces
any earlier one. The employee activates with the resident ID number, the code and a password of their own: a new
account (role employee, the keyed pseudonym of the ID number as its employee id), or, for an account that
exists, a new password that ends every login made with the old one.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from servicekit import pseudonym
from servicekit.clock import china_today
from servicekit.i18n import _
from servicekit.identity import EMPLOYEE
from servicekit.resident_id import InvalidPersonalData, normalise_resident_id

from . import accounts
from .models import ActivationCode, User

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I: read aloud or copied from paper
CODE_LENGTH = 10  # 32^10: about 10^15 codes
MAX_FAILURES = 5  # wrong tries of one code before it stops working


def normal_code(code: str) -> str:
    """As typed: spaces and dashes dropped, lower case raised."""
    return "".join(code.split()).replace("-", "").upper()


@dataclass(frozen=True)
class Issued:
    code: str
    expires_at: datetime


def issue(session: Session, *, employee_id: str, issued_by: str, now: datetime, hours: int) -> Issued:
    """A new code for the employee; any earlier one that still works stops working."""
    session.execute(
        update(ActivationCode)
        .where(
            ActivationCode.employee_id == employee_id,
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at > now,
        )
        .values(expires_at=now)
    )
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    row = ActivationCode(
        id=str(uuid.uuid4()),
        employee_id=employee_id,
        code_hash=accounts.hasher.hash(code),
        issued_by=issued_by,
        issued_at=now,
        expires_at=now + timedelta(hours=hours),
        used_at=None,
        failures=0,
    )
    session.add(row)
    return Issued(code, row.expires_at)


class Refused(Exception):
    """Wrong ID number or code, or the code used, expired or tried too often: one answer for all."""


def employee_of(resident_id: str, employee_key: bytes) -> str:
    try:
        return pseudonym.employee_id(normalise_resident_id(resident_id, china_today()), employee_key)
    except InvalidPersonalData as exc:
        raise accounts.AccountError({"resident_id": exc.args[0]}) from None


def check_code(session: Session, *, employee_id: str, code: str, now: datetime) -> ActivationCode:
    """The employee's live code if `code` is it (then used up); Refused otherwise, a wrong try counted (the
    caller commits the count before answering)."""
    live = session.scalar(
        select(ActivationCode)
        .where(
            ActivationCode.employee_id == employee_id,
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at > now,
            ActivationCode.failures < MAX_FAILURES,
        )
        .order_by(ActivationCode.issued_at.desc())
        .limit(1)
        .with_for_update()
    )
    if live is None:
        raise Refused
    try:
        accounts.hasher.verify(live.code_hash, normal_code(code))
    except (VerificationError, InvalidHashError):
        live.failures += 1
        raise Refused from None
    live.used_at = now
    return live


def activate(
    session: Session, *, employee_id: str, used: ActivationCode, username: str | None, password: str
) -> tuple[User, bool]:
    """The employee's account with `password`: made now (True) or, when it exists, its password replaced."""
    existing = session.scalar(select(User).where(User.role == EMPLOYEE, User.employee_id == employee_id))
    if existing is not None:
        if not existing.active:
            raise accounts.AccountError({"code": _("This account is disabled: ask the federation.")})
        accounts.reset_password(session, existing, password)
        return existing, False
    if not username:
        raise accounts.AccountError({"username": _("Choose a username.")})
    user = accounts.create_user(
        session,
        username=username,
        password=password,
        role=EMPLOYEE,
        created_by=f"activation:{used.id}",
        employee_key=b"",
        employee_id=employee_id,
    )
    return user, True
