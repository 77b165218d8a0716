"""What finance holds about one employee (GET /me/data, servicekit.subject_access): their enrolments' fees,
shares, payments, charges, reimbursements (with the bank account they were paid to) and recoveries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.subject_access import enrolment_parts, rows_of

from .models import Breakdown, BreakdownLine, Certificate, Charge, Enrolment, Payment, Recovery, Reimbursement

KINDS = (
    ("breakdowns", Breakdown),
    ("breakdown_lines", BreakdownLine),
    ("charges", Charge),
    ("payments", Payment),
    ("certificates", Certificate),
    ("reimbursements", Reimbursement),
)


def my_data(session: Session, employee_id: str) -> dict[str, list[dict]]:
    parts = enrolment_parts(session, Enrolment, employee_id, KINDS)
    paid = select(Reimbursement.reimbursement_id).where(
        Reimbursement.enrolment_id.in_(select(Enrolment.enrolment_id).where(Enrolment.employee_id == employee_id))
    )
    parts["recoveries"] = rows_of(session, Recovery, Recovery.reimbursement_id.in_(paid))
    return parts
