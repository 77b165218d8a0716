"""Evaluation's lists as servicekit.paging declares them, and the listing of rows tied to an enrolment."""

from __future__ import annotations

from sqlalchemy import select

from servicekit.identity import EMPLOYEE, GRASSROOTS_OFFICER, UNIT_OFFICER, Identity
from servicekit.paging import Listing, memory_query

from .models import Certificate, Enrolment, ExamResult, Inspection, Survey, as_dict
from .schemas import EnrolmentQuery, ReportQuery

ENROLMENT_FILTERS = {
    "campaign_id": Enrolment.campaign_id,
    "unit_id": Enrolment.unit_id,
    "grassroots_union_id": Enrolment.grassroots_union_id,
    "programme_id": Enrolment.programme_id,
}

RESULTS = Listing(
    "Results",
    id=ExamResult.result_id,
    sorts={"held_on": ExamResult.held_on, "recorded_at": ExamResult.recorded_at, "exam": ExamResult.exam},
    default_sort="recorded_at",
    filters={
        **ENROLMENT_FILTERS,
        "institution_id": ExamResult.institution_id,
        "passed": ExamResult.passed,
        "exam": ExamResult.exam,
    },
    ranges={"held_on": ExamResult.held_on},
    base=EnrolmentQuery,
)
CERTIFICATES = Listing(
    "Certificates",
    id=Certificate.certificate_id,
    sorts={"issued_on": Certificate.issued_on, "number": Certificate.number},
    default_sort="issued_on",
    filters={**ENROLMENT_FILTERS, "institution_id": Certificate.institution_id, "kind": Certificate.kind},
    ranges={"issued_on": Certificate.issued_on},
    search=lambda q: Certificate.number.startswith(q, autoescape=True),
    search_help="the certificate number's beginning",
    base=EnrolmentQuery,
)
SURVEYS = Listing(
    "Surveys",
    id=Survey.survey_id,
    sorts={"closes_on": Survey.closes_on},
    default_sort="closes_on",
    filters={"campaign_id": Survey.campaign_id, "institution_id": Survey.institution_id},
    ranges={"closes_on": Survey.closes_on},
)
INSPECTIONS = Listing(
    "Inspections",
    id=Inspection.inspection_id,
    sorts={"inspected_on": Inspection.inspected_on},
    default_sort="inspected_on",
    filters={"campaign_id": Inspection.campaign_id, "institution_id": Inspection.institution_id},
    ranges={"inspected_on": Inspection.inspected_on},
)
# The score report is computed per institution: paged by institution id, in memory (a campaign has dozens).
SCORES_QUERY = memory_query("Scores", sorts=(), default_sort="id", base=ReportQuery)


def by_enrolment(session, identity: Identity, listing: Listing, model, args: dict) -> tuple[list[dict], dict]:
    """An employee sees their own rows, a grassroots union's officer its employees', a first-level unit's officer
    its unions' employees', an institution its own, the federation all; each row with the holder's masked name;
    `args`: enrolment_id, page."""
    query = select(model, Enrolment.holder_name_masked).join(Enrolment, Enrolment.enrolment_id == model.enrolment_id)
    if identity.role == EMPLOYEE:
        query = query.where(Enrolment.employee_id == identity.employee_id)
    elif identity.role == GRASSROOTS_OFFICER:
        query = query.where(Enrolment.grassroots_union_id == identity.grassroots_union_id)
    elif identity.role == UNIT_OFFICER:
        query = query.where(Enrolment.unit_id == identity.unit_id)
    elif not identity.is_federation:
        query = query.where(model.institution_id == identity.institution_id)
    if args.get("enrolment_id"):
        query = query.where(model.enrolment_id == str(args["enrolment_id"]))
    return listing.page(
        session, query, args, view=lambda rows: [{**as_dict(row), "holder_name_masked": name} for row, name in rows]
    )
