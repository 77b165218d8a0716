"""Activation codes on their own (the whole flow through the portal and the stack: tests/test_portal_institution.py):
hashed, single use, expiring, a few wrong tries at most, replaced by a newer code; the SMS goes to the log with the
phone masked."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gateway import activation, sms
from gateway.models import ActivationCode, Base

EMPLOYEE = "emp-0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session


def issue(session, now=NOW) -> str:
    return activation.issue(session, employee_id=EMPLOYEE, issued_by="officer", now=now, hours=24).code


def test_a_code_is_kept_hashed_and_works_once(session):
    code = issue(session)
    assert len(code) == activation.CODE_LENGTH and set(code) <= set(activation.ALPHABET)
    assert code not in session.scalar(select(ActivationCode.code_hash))
    typed = f" {code[:5].lower()}-{code[5:]} "  # as read from paper
    assert activation.check_code(session, employee_id=EMPLOYEE, code=typed, now=NOW).used_at == NOW
    with pytest.raises(activation.Refused):
        activation.check_code(session, employee_id=EMPLOYEE, code=code, now=NOW)


def test_a_code_expires_and_a_new_one_replaces_it(session):
    first = issue(session)
    with pytest.raises(activation.Refused):
        activation.check_code(session, employee_id=EMPLOYEE, code=first, now=NOW + timedelta(hours=24, seconds=1))
    second = issue(session, NOW + timedelta(hours=1))
    with pytest.raises(activation.Refused):  # the earlier code stopped working
        activation.check_code(session, employee_id=EMPLOYEE, code=first, now=NOW + timedelta(hours=2))
    assert activation.check_code(session, employee_id=EMPLOYEE, code=second, now=NOW + timedelta(hours=2))


def test_wrong_tries_stop_a_code(session):
    code = issue(session)
    for _ in range(activation.MAX_FAILURES):
        with pytest.raises(activation.Refused):
            activation.check_code(session, employee_id=EMPLOYEE, code="WRONGCODE2", now=NOW)
    with pytest.raises(activation.Refused):  # even the right code, now
        activation.check_code(session, employee_id=EMPLOYEE, code=code, now=NOW)
    with pytest.raises(activation.Refused):  # and another employee's try finds nothing
        activation.check_code(session, employee_id="emp-other", code=code, now=NOW)


def test_the_local_sms_goes_to_the_log_with_the_phone_masked(caplog):
    with caplog.at_level(logging.INFO, logger="gateway.activation"):
        sms.sender("log").send("13812345678", sms.Message("激活码 ABCDEFGH23", ("ABCDEFGH23",)))
    record = caplog.records[-1]
    assert record.phone == "138****5678" and "13812345678" not in caplog.text
    assert record.text == "激活码 ABCDEFGH23"
