"""Enrollment's lists as servicekit.paging declares them: sort keys, filters, date ranges, search."""

from __future__ import annotations

from marshmallow import Schema, fields, validate
from sqlalchemy import select

from servicekit.identity import current_identity
from servicekit.paging import Listing, resident_id_tail

from .models import (
    CorrectionRequest,
    Employee,
    Enrolment,
    Institution,
    InstitutionNotice,
    Lesson,
    NominationList,
    Objection,
    Programme,
    StatusChange,
    TrainingClass,
)
from .schemas import GroupingQuery, NoticeQuery

# Who may search enrolments by the ID number's last digits: those who see the full number (access.py).
SEES_RESIDENT_IDS = ("grassroots_officer", "employee")


def _enrolment_search(q: str):
    """By the employee's name; by the ID number's last digits only for those who see the number in clear."""
    tail = resident_id_tail(q)
    if tail is not None and current_identity().role in SEES_RESIDENT_IDS:
        # the stored number is encrypted: its last four characters are kept apart to search by
        people = select(Employee.employee_id).where(Employee.resident_id_tail == tail[-4:])
    else:
        people = select(Employee.employee_id).where(Employee.name.contains(q, autoescape=True))
    return Enrolment.employee_id.in_(people)


ENROLMENTS = Listing(
    "Enrolments",
    id=Enrolment.enrolment_id,
    sorts={"nominated_at": Enrolment.nominated_at, "status": Enrolment.status, "notice_end": Enrolment.notice_end},
    default_sort="nominated_at",
    filters={
        "campaign_id": Enrolment.campaign_id,
        "status": Enrolment.status,
        "kind": Enrolment.kind,
        "unit_id": Enrolment.unit_id,
        "grassroots_union_id": Enrolment.grassroots_union_id,
        "institution_id": Enrolment.institution_id,
        "programme_id": Enrolment.programme_id,
        "class_id": Enrolment.class_id,
        "payment_status": Enrolment.payment_status,
        # what a union's worklist counts (the portal's 工作台): consent recorded, an objection still undecided
        "consent_recorded": Enrolment.consent_method.is_not(None),
        "objection_open": Enrolment.enrolment_id.in_(select(Objection.enrolment_id).where(Objection.outcome.is_(None))),
    },
    ranges={
        "nominated_at": Enrolment.nominated_at,
        "registered_on": Enrolment.registered_on,
        "notice_end": Enrolment.notice_end,
    },
    search=_enrolment_search,
    search_help="the employee's name; the resident ID number's last digits (4 or more) for the nominating union "
    "and the employee",
)

LESSONS = Listing(
    "Lessons",
    id=Lesson.lesson_id,
    sorts={"starts_at": Lesson.starts_at},
    default_sort="starts_at",
    filters={
        "class_id": Lesson.class_id,
        "cancelled": Lesson.cancelled_on.is_not(None),
        "teacher": Lesson.teacher,
    },
)

CLASSES = Listing(
    "Classes",
    id=TrainingClass.class_id,
    sorts={"opens_on": TrainingClass.opens_on, "status": TrainingClass.status},
    default_sort="opens_on",
    filters={
        "campaign_id": TrainingClass.campaign_id,
        "institution_id": TrainingClass.institution_id,
        "programme_id": TrainingClass.programme_id,
        "status": TrainingClass.status,
        "dedicated": TrainingClass.dedicated,
    },
    ranges={"opens_on": TrainingClass.opens_on},
    search=lambda q: TrainingClass.public_class_name.contains(q, autoescape=True),
    search_help="the public class's name",
)


class PublicRosterQuery(Schema):
    """A public roster is read one campaign at a time: never enumerable across campaigns (PIPL)."""

    campaign_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=36),
        metadata={"description": "The campaign (required: public rosters are read one campaign at a time)"},
    )


PUBLISHED_ROSTERS = Listing(
    "PublishedRosters",
    id=TrainingClass.class_id,
    sorts={"opens_on": TrainingClass.opens_on},
    default_sort="opens_on",
    filters={
        "campaign_id": TrainingClass.campaign_id,
        "class_id": TrainingClass.class_id,
        "institution_id": TrainingClass.institution_id,
        "programme_id": TrainingClass.programme_id,
    },
    ranges={"opens_on": TrainingClass.opens_on},
    base=PublicRosterQuery,
)

GROUPINGS = Listing(
    "Groupings",
    id=(Enrolment.institution_id, Enrolment.programme_id),
    filters={"institution_id": Enrolment.institution_id, "programme_id": Enrolment.programme_id},
    base=GroupingQuery,
)

INSTITUTIONS = Listing(
    "Institutions",
    id=Institution.institution_id,
    sorts={"name": Institution.name},
    default_sort="id",
    search=lambda q: Institution.name.contains(q, autoescape=True),
)

NOTICES = Listing(
    "Notices",
    id=(InstitutionNotice.institution_id, InstitutionNotice.revision),
    sorts={"decided_at": InstitutionNotice.decided_at},
    default_sort="-decided_at",
    filters={"institution_id": InstitutionNotice.institution_id, "campaign_id": InstitutionNotice.campaign_id},
    ranges={"decided_at": InstitutionNotice.decided_at},
)

PROGRAMMES = Listing(
    "Programmes",
    id=Programme.programme_id,
    sorts={"name": Programme.name, "start_date": Programme.start_date},
    default_sort="id",
    filters={
        "institution_id": Programme.institution_id,
        "kind": Programme.kind,
        "level": Programme.level,
        "status": Programme.status,
    },
    ranges={"start_date": Programme.start_date},
    search=lambda q: Programme.name.contains(q, autoescape=True),
)

STATUS_CHANGES = Listing(
    "StatusChanges",
    id=StatusChange.change_id,
    sorts={"requested_at": StatusChange.requested_at},
    default_sort="requested_at",
    filters={"kind": StatusChange.kind, "state": StatusChange.state},
    ranges={"requested_at": StatusChange.requested_at},
)

CORRECTIONS = Listing(
    "Corrections",
    id=CorrectionRequest.request_id,
    sorts={"requested_at": CorrectionRequest.requested_at},
    default_sort="requested_at",
    filters={"state": CorrectionRequest.state, "field": CorrectionRequest.field},
    ranges={"requested_at": CorrectionRequest.requested_at},
)

NOMINATION_LISTS = Listing(
    "NominationLists",
    id=NominationList.list_id,
    sorts={"sent_on": NominationList.sent_on},
    default_sort="-sent_on",
    filters={
        "campaign_id": NominationList.campaign_id,
        "unit_id": NominationList.unit_id,
        "grassroots_union_id": NominationList.grassroots_union_id,
    },
    ranges={"sent_on": NominationList.sent_on},
)

# The public notice: one campaign and one grassroots union at a time (never enumerable across them)
PUBLIC_NOTICE = Listing("PublicNotice", id=Enrolment.enrolment_id, base=NoticeQuery)
