"""Anonymising the personal data of campaigns past their retention period (PIPL art. 19, 47).

`python -m services.enrollment anonymise [--dry-run] [--retention-days N]`: employees whose every campaign was
closed more than the retention period ago (PERSONAL_DATA_RETENTION_DAYS, default 3 years: domain/retention.py) lose
their name, resident ID number and phone, the nominations' copies of them and free text about them, and their
pseudonymous id (replaced by one that links to no one: `employee.anonymised` re-keys finance's and evaluation's
rows, and finance drops the bank accounts of their reimbursements); enrolments,
fees, payments, results and shares stay (counts and money). An employee still in a live (not closed) campaign is kept whole.
Run again, it changes nothing (anonymised employees are marked); each run that changes something is audited.
"""

from __future__ import annotations

import argparse
import json
import os
import uuid
from datetime import date

from sqlalchemy import delete, func, or_, select, update

from servicekit import Runtime
from servicekit.audit import SYSTEM, Actor
from servicekit.clock import china_today
from servicekit.service import Command

from .domain import retention as rules
from .models import Campaign, CorrectionRequest, Employee, Enrolment, Objection, PersonalDataView

RETENTION_SETTING = "PERSONAL_DATA_RETENTION_DAYS"
CHUNK = 500  # ids per IN list


def anonymise(uow, today: date, retention_days: int, *, dry_run: bool) -> dict:
    """Counts of what is (or, with dry_run, would be) anonymised; changes and its audit entry in `uow`."""
    session = uow.session
    cutoff = rules.closed_before(today, retention_days)
    expired = select(Campaign.campaign_id).where(Campaign.closed_at < cutoff)
    live = select(Campaign.campaign_id).where(or_(Campaign.closed_at.is_(None), Campaign.closed_at >= cutoff))
    employees = list(
        session.scalars(
            select(Employee)
            .where(
                Employee.anonymised_on.is_(None),
                Employee.employee_id.in_(select(Enrolment.employee_id).where(Enrolment.campaign_id.in_(expired))),
                Employee.employee_id.not_in(select(Enrolment.employee_id).where(Enrolment.campaign_id.in_(live))),
            )
            .order_by(Employee.employee_id)
            .with_for_update()
        )
    )
    ids = [employee.employee_id for employee in employees]
    chunks = [ids[start : start + CHUNK] for start in range(0, len(ids), CHUNK)]
    counts = {
        "campaigns_past_retention": session.scalar(select(func.count()).select_from(expired.subquery())),
        "employees": len(ids),
        "enrolments": sum(
            session.scalar(select(func.count()).where(Enrolment.employee_id.in_(chunk))) for chunk in chunks
        ),
    }
    if dry_run or not ids:
        return counts
    anonymised = {employee.employee_id: f"anon-{uuid.uuid4().hex}" for employee in employees}
    for employee in employees:
        # a new id that links to no one (the old one is the keyed pseudonym of the ID number); rows re-keyed
        session.add(
            Employee(
                employee_id=anonymised[employee.employee_id],
                resident_id=rules.ANONYMOUS_RESIDENT_ID,
                resident_id_tail=None,
                name=rules.ANONYMOUS_NAME,
                phone=rules.ANONYMOUS_PHONE,
                anonymised_on=today,
            )
        )
    session.flush()
    for chunk in chunks:
        theirs = select(Enrolment.enrolment_id).where(Enrolment.employee_id.in_(chunk))
        session.execute(
            update(Objection).where(Objection.enrolment_id.in_(theirs)).values(summary=rules.ANONYMOUS_TEXT)
        )
        session.execute(
            update(CorrectionRequest)
            .where(CorrectionRequest.employee_id.in_(chunk))
            .values(requested_value=rules.ANONYMOUS_TEXT, reason=rules.ANONYMOUS_TEXT)
        )
        session.execute(
            update(Enrolment)
            .where(Enrolment.employee_id.in_(chunk))
            .values(nominated_name=None, nominated_phone=None, attestation=rules.ANONYMOUS_TEXT)
        )
    for old, new in anonymised.items():
        for model in (Enrolment, CorrectionRequest, PersonalDataView):
            session.execute(update(model).where(model.employee_id == old).values(employee_id=new))
        # objections they raised against others: the objection stays, who raised it goes
        session.execute(
            update(Objection)
            .where(Objection.objector_employee_id == old)
            .values(objector_employee_id=new, objector_name=rules.ANONYMOUS_NAME)
        )
        session.execute(delete(Employee).where(Employee.employee_id == old))
        uow.publish("employee.anonymised", {"employee_id": old, "anonymised_id": new})
    session.expire_all()
    uow.audit(
        "personal_data.anonymised",
        "employees",
        None,
        after={**counts, "retention_days": retention_days, "campaigns_ended_before": cutoff.isoformat()},
        reason="PIPL: retention period over",
        actor=Actor("cli", SYSTEM),
    )
    return counts


def retention_days(given: int | None) -> int:
    if given is not None:
        return given
    configured = os.environ.get(RETENTION_SETTING, "").strip()
    return int(configured) if configured else rules.DEFAULT_RETENTION_DAYS


def _run(runtime: Runtime, args) -> int:
    days = retention_days(args.retention_days)
    with runtime.unit_of_work() as uow:
        counts = anonymise(uow, china_today(), days, dry_run=args.dry_run)
        if not args.dry_run:
            uow.commit()
    print(json.dumps({"dry_run": args.dry_run, "retention_days": days, **counts}))
    return 0


def _days(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError("a number of days, 0 or more")
    return int(text)


def _arguments(parser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="print what would be anonymised, change nothing")
    parser.add_argument(
        "--retention-days",
        type=_days,
        help=f"days kept after a campaign's end (default: {RETENTION_SETTING}, else {rules.DEFAULT_RETENTION_DAYS})",
    )


COMMANDS = {
    "anonymise": Command(
        help="anonymise the personal data of campaigns past their retention period (PIPL)",
        run=_run,
        arguments=_arguments,
    ),
}
