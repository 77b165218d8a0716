"""What evaluation holds about one employee (GET /me/data, servicekit.subject_access): their enrolments as
evaluation knows them, exam results, certificates, and the surveys they were given a token for.

Survey answers are not part of it: nothing links an answer to the employee (RFC 9474 blind tokens)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.subject_access import rows_of

from .models import Certificate, Enrolment, ExamResult, Payment, Reimbursement, SurveyTokenIssued


def my_data(session: Session, employee_id: str) -> dict[str, list[dict]]:
    mine = select(Enrolment.enrolment_id).where(Enrolment.employee_id == employee_id).scalar_subquery()
    parts: dict[str, list[dict]] = {"enrolments": rows_of(session, Enrolment, Enrolment.employee_id == employee_id)}
    for name, model in (
        ("exam_results", ExamResult),
        ("certificates", Certificate),
        ("payments", Payment),
        ("reimbursements", Reimbursement),
    ):
        parts[name] = rows_of(session, model, model.enrolment_id.in_(mine))
    parts["survey_tokens"] = rows_of(session, SurveyTokenIssued, SurveyTokenIssued.employee_id == employee_id)
    return parts
