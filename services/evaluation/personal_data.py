"""What evaluation holds about one employee (GET /me/data, servicekit.subject_access): their enrolments as
evaluation knows them, exam results, certificates, and the surveys they were given a token for.

Survey answers are not part of it: nothing links an answer to the employee (RFC 9474 blind tokens)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from servicekit.subject_access import enrolment_parts, rows_of

from .models import Certificate, Enrolment, ExamResult, Payment, Reimbursement, SurveyTokenIssued

KINDS = (
    ("exam_results", ExamResult),
    ("certificates", Certificate),
    ("payments", Payment),
    ("reimbursements", Reimbursement),
)


def my_data(session: Session, employee_id: str) -> dict[str, list[dict]]:
    parts = enrolment_parts(session, Enrolment, employee_id, KINDS)
    parts["survey_tokens"] = rows_of(session, SurveyTokenIssued, SurveyTokenIssued.employee_id == employee_id)
    return parts
