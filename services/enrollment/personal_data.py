"""What enrollment holds about one employee (GET /me/data, servicekit.subject_access): their record (the full
resident ID number: the read is recorded in personal_data_views like every view of it), nominations and
enrolments, classes, status changes, what it heard of their payments, results, certificates and shares, their
correction requests, and who was shown their full number when.

Objections to their nomination are given without their summary, who raised and who recorded them: that is the
objector's data. Objections they raised themself are given in full."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.identity import current_identity
from servicekit.subject_access import enrolment_parts, rows_of

from .access import record_full_views
from .models import (
    Breakdown,
    Certificate,
    ClassPlacement,
    CorrectionRequest,
    Employee,
    Enrolment,
    ExamResult,
    Objection,
    Payment,
    PersonalDataView,
    Recovery,
    Reimbursement,
    StatusChange,
)


def my_data(session: Session, employee_id: str) -> dict[str, list[dict]]:
    employee = rows_of(session, Employee, Employee.employee_id == employee_id, exclude=("resident_id_tail",))
    if employee:
        record_full_views(session, current_identity(), [employee_id])
        session.flush()
    parts = {
        "employee": employee,
        **enrolment_parts(
            session,
            Enrolment,
            employee_id,
            (
                ("class_placements", ClassPlacement),
                ("status_changes", StatusChange),
                ("payments", Payment),
                ("breakdowns", Breakdown),
                ("exam_results", ExamResult),
                ("certificates", Certificate),
                ("reimbursements", Reimbursement),
                ("recoveries", Recovery),
            ),
        ),
    }
    mine = select(Enrolment.enrolment_id).where(Enrolment.employee_id == employee_id)
    # objections to their nomination, without who objected and what they said (the objector's data) ...
    parts["objections"] = rows_of(
        session,
        Objection,
        Objection.enrolment_id.in_(mine),
        exclude=("summary", "recorded_by", "objector_name", "objector_employee_id"),
    )
    # ... and the objections they raised themself, in full
    parts["objections_raised"] = rows_of(session, Objection, Objection.objector_employee_id == employee_id)
    parts["correction_requests"] = rows_of(session, CorrectionRequest, CorrectionRequest.employee_id == employee_id)
    parts["personal_data_views"] = rows_of(session, PersonalDataView, PersonalDataView.employee_id == employee_id)
    return parts
