"""Use cases of classes (开班) and their rosters: forming, staffing, submission, review, publication, opening."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, and_, func, or_, select, update

from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Forbidden, Invalid, NotFound

from .access import INSTITUTION_ROLES, find_enrolment
from .catalogue import refuse_if_disqualified
from .domain import classes as rules
from .domain.enrolment import ADMITTED, REGISTERED
from .domain.people import mask_resident_id
from .domain.workdays import CalendarMissing, roster_deadline
from .lessons import timetable
from .listings import GROUPINGS
from .models import (
    Campaign,
    ClassPlacement,
    Employee,
    Enrolment,
    ExamResult,
    Institution,
    Programme,
    TrainingClass,
    Unit,
)
from .nominations import bump
from .problems import (
    CALENDAR_MISSING,
    CLASS_NOT_STAFFED,
    NO_STUDENT_WAITING,
    OUTSIDE_STUDY_WINDOW,
    ROSTER_TOO_LATE,
    UNKNOWN_REFERENCE,
    WRONG_STATUS,
    refuse_outside,
)
from .workcalendar import work_calendar

PAID = ("full", "over")


def _studying():
    """Registered skills students and admitted academic ones are the ones a class is for."""
    return or_(
        and_(Enrolment.kind == "academic", Enrolment.status == ADMITTED),
        and_(Enrolment.kind == "skills", Enrolment.status == REGISTERED),
    )


def groupings(session, identity: Identity, args: dict) -> tuple[list[dict], dict]:
    """Per institution and programme: registered, not yet in a class, of those paid (waiting), and the arrangement
    the rules ask for the students not yet in a class."""
    campaign_id = args["campaign_id"]
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("No campaign {campaign_id}.").format(campaign_id=campaign_id))
    paid, unplaced = Enrolment.payment_status.in_(PAID), Enrolment.class_id.is_(None)
    query = (
        select(
            Enrolment.institution_id,
            Enrolment.programme_id,
            func.count(),
            func.count().filter(unplaced),
            func.count().filter(paid, unplaced),
        )
        .where(Enrolment.campaign_id == campaign_id, _studying())
        .group_by(Enrolment.institution_id, Enrolment.programme_id)
    )
    if identity.role in INSTITUTION_ROLES:
        query = query.where(Enrolment.institution_id == identity.institution_id)

    def views(rows) -> list[dict]:
        return [
            {
                "institution_id": i,
                "programme_id": p,
                "registered": n,
                "unplaced": unplaced,
                "waiting": waiting,
                "arrangement": rules.arrangement(unplaced, campaign.dedicated_class_threshold),
            }
            for i, p, n, unplaced, waiting in rows
        ]

    return GROUPINGS.page(session, query, args, view=views)


def form_class(uow, identity: Identity, body: dict, today: date) -> TrainingClass:
    """Put every paid student of the programme waiting for a class into a new class."""
    session = uow.session
    campaign_id = body["campaign_id"]
    campaign = session.get(Campaign, campaign_id)
    programme = session.get(Programme, body["programme_id"])
    if campaign is None or programme is None or programme.institution_id != identity.institution_id:
        raise UNKNOWN_REFERENCE("No such campaign, or no such programme at your institution.")
    if body["opens_on"] <= today:
        raise Invalid(errors={"opens_on": [_("Must be after today.")]})
    refuse_if_disqualified(session, programme.institution_id)
    if campaign.study_start is not None:
        refuse_outside(
            body["opens_on"],
            "study",
            campaign.study_start,
            campaign.study_end,
            OUTSIDE_STUDY_WINDOW,
            _("Classes of {name} open from {study_start} to {study_end}.").format(
                name=campaign.name,
                study_start=campaign.study_start.isoformat(),
                study_end=campaign.study_end.isoformat(),
            ),
            "opens_on",
        )
    group = (
        Enrolment.campaign_id == campaign_id,
        Enrolment.programme_id == programme.programme_id,
        _studying(),
        Enrolment.class_id.is_(None),
    )
    registered = session.scalar(select(func.count()).where(*group))
    dedicated = rules.arrangement(registered, campaign.dedicated_class_threshold) == rules.DEDICATED
    if dedicated == bool(body.get("public_class_name")):
        raise Invalid(
            (
                _("{registered} registered (threshold {threshold}): a dedicated class, not a public one.")
                if dedicated
                else _(
                    "{registered} registered (threshold {threshold}): they join a class of public students: "
                    "name it, or propose a transfer."
                )
            ).format(registered=registered, threshold=campaign.dedicated_class_threshold),
            errors={"public_class_name": [_("Not for a dedicated class.") if dedicated else _("Required.")]},
        )
    waiting = list(
        session.scalars(select(Enrolment).where(*group, Enrolment.payment_status.in_(PAID)).with_for_update())
    )
    if not waiting:
        raise NO_STUDENT_WAITING()
    training_class = TrainingClass(
        class_id=str(uuid.uuid4()),
        campaign_id=campaign_id,
        institution_id=programme.institution_id,
        programme_id=programme.programme_id,
        dedicated=dedicated,
        public_class_name=body.get("public_class_name"),
        opens_on=body["opens_on"],
        on_site=body["on_site"],
        site=body["site"],
        head_teacher=body.get("head_teacher"),
        learning_assistant=body.get("learning_assistant"),
        status=rules.FORMING,
    )
    session.add(training_class)
    session.flush()
    for enrolment in waiting:
        enrolment.class_id = training_class.class_id
        session.add(
            ClassPlacement(
                placement_id=str(uuid.uuid4()),
                enrolment_id=enrolment.enrolment_id,
                class_id=training_class.class_id,
                placed_on=today,
            )
        )
        bump(enrolment)
    return training_class


def leave_class(session, enrolment: Enrolment, on: date, why: str) -> None:
    """The student leaves their class (retake, transfer, withdrawal, moved to another); the class history keeps
    it."""
    enrolment.class_id = None
    session.execute(
        update(ClassPlacement)
        .where(ClassPlacement.enrolment_id == enrolment.enrolment_id, ClassPlacement.left_on.is_(None))
        .values(left_on=on, ended_by=why)
    )


def place_student(uow, identity: Identity, class_id: str, body: dict, today: date) -> TrainingClass:
    """Put one student of the programme in this class, or move them here from another of its classes: both
    rosters still being made (forming or returned), as a reviewed roster stays as the federation saw it. Only a
    student studying and paid in full joins a class, as when a class is formed."""
    session = uow.session
    training_class = find_class(session, identity, class_id, lock=True)
    _expect(training_class, rules.FORMING, rules.RETURNED)
    enrolment = session.get(Enrolment, body["enrolment_id"], with_for_update=True)
    if enrolment is None or enrolment.institution_id != training_class.institution_id:
        raise NotFound(_("No student {enrolment_id} at your institution.").format(enrolment_id=body["enrolment_id"]))
    wrong = None
    if (enrolment.campaign_id, enrolment.programme_id) != (training_class.campaign_id, training_class.programme_id):
        wrong = _("The student is enrolled in another programme or campaign.")
    elif not session.scalar(select(_studying()).where(Enrolment.enrolment_id == enrolment.enrolment_id)):
        wrong = _("Only a registered (skills) or admitted (academic) student joins a class.")
    elif enrolment.payment_status not in PAID:
        wrong = _("Only a student who has paid in full joins a class.")
    elif enrolment.class_id == class_id:
        wrong = _("The student is in this class already.")
    if wrong:
        raise Invalid(wrong, errors={"enrolment_id": [wrong]})
    if enrolment.class_id is not None:
        _expect(find_class(session, identity, enrolment.class_id, lock=True), rules.FORMING, rules.RETURNED)
        leave_class(session, enrolment, today, "moved")
        session.flush()  # the old placement ends before the new one starts (one current class each)
    enrolment.class_id = class_id
    session.add(
        ClassPlacement(
            placement_id=str(uuid.uuid4()), enrolment_id=enrolment.enrolment_id, class_id=class_id, placed_on=today
        )
    )
    bump(enrolment)
    return training_class


def find_class(session, identity: Identity, class_id: str, *, lock: bool = False) -> TrainingClass:
    found = session.get(TrainingClass, class_id, with_for_update=lock)
    if found is None or not (
        identity.is_federation
        or (identity.role in INSTITUTION_ROLES and identity.institution_id == found.institution_id)
    ):
        raise NotFound(_("No class {class_id} that you may see.").format(class_id=class_id))
    return found


def own_class(session, identity: Identity, enrolment_id: str) -> dict:
    """The class an employee's enrolment is placed in now (their own enrolment only: `find_enrolment` scopes
    it), with its programme's and institution's names, the study window's end and its timetable; never its
    roster."""
    enrolment = find_enrolment(session, identity, enrolment_id)
    if enrolment.class_id is None:
        raise NotFound(_("Not placed in a class yet."))
    training_class = session.get(TrainingClass, enrolment.class_id)
    campaign = session.get(Campaign, training_class.campaign_id)
    placed_on = session.scalar(
        select(ClassPlacement.placed_on).where(
            ClassPlacement.enrolment_id == enrolment_id, ClassPlacement.left_on.is_(None)
        )
    )
    return {
        **{column.key: getattr(training_class, column.key) for column in TrainingClass.__table__.columns},
        "institution_name": session.scalar(
            select(Institution.name).where(Institution.institution_id == training_class.institution_id)
        ),
        "programme_name": session.scalar(
            select(Programme.name).where(Programme.programme_id == training_class.programme_id)
        ),
        "study_end": campaign.study_end if campaign else None,
        "placed_on": placed_on,
        "lessons": timetable(session, training_class.class_id),
    }


def classes_query(identity: Identity) -> Select:
    query = select(TrainingClass)
    if not identity.is_federation:
        query = query.where(TrainingClass.institution_id == identity.institution_id)
    return query


def _expect(training_class: TrainingClass, *statuses: str) -> None:
    if training_class.status not in statuses:
        raise WRONG_STATUS(
            _("The class is {status}; this needs {needed}.").format(
                status=training_class.status, needed=" or ".join(statuses)
            ),
        )


def _staffed(training_class: TrainingClass) -> None:
    gaps = rules.staffing_gaps(training_class.dedicated, training_class.head_teacher, training_class.learning_assistant)
    if gaps:
        raise CLASS_NOT_STAFFED(errors={gap: [_("Required for a dedicated class.")] for gap in gaps})


def set_staff(uow, identity: Identity, class_id: str, body: dict) -> TrainingClass:
    training_class = find_class(uow.session, identity, class_id, lock=True)
    _expect(training_class, rules.FORMING, rules.RETURNED)
    training_class.head_teacher, training_class.learning_assistant = body["head_teacher"], body["learning_assistant"]
    return training_class


def submit_roster(uow, identity: Identity, class_id: str, today: date) -> TrainingClass:
    """To the federation, at least the campaign's lead of Chinese working days before the class opens."""
    session = uow.session
    training_class = find_class(session, identity, class_id, lock=True)
    _expect(training_class, rules.FORMING, rules.RETURNED)
    _staffed(training_class)
    lead = session.get(Campaign, training_class.campaign_id).roster_lead_working_days
    try:
        deadline = roster_deadline(training_class.opens_on, lead, work_calendar(session).is_workday)
    except CalendarMissing as missing:
        raise CALENDAR_MISSING(str(missing)) from None
    if today > deadline:
        raise ROSTER_TOO_LATE(
            _("A class opening on {opens_on} needs its roster by {deadline} ({lead} working days before).").format(
                opens_on=training_class.opens_on.isoformat(), deadline=deadline.isoformat(), lead=lead
            ),
        )
    training_class.status, training_class.roster_submitted_on = rules.SUBMITTED, today
    return training_class


def review_roster(uow, identity: Identity, class_id: str, body: dict) -> TrainingClass:
    training_class = find_class(uow.session, identity, class_id, lock=True)
    _expect(training_class, rules.SUBMITTED)
    training_class.status = rules.APPROVED if body["decision"] == "approve" else rules.RETURNED
    training_class.review_comments, training_class.reviewed_by = body.get("comments"), identity.subject
    return training_class


def publish_roster(uow, identity: Identity, class_id: str, today: date) -> TrainingClass:
    training_class = find_class(uow.session, identity, class_id, lock=True)
    _expect(training_class, rules.APPROVED)
    training_class.status, training_class.published_on = rules.PUBLISHED, today
    return training_class


def open_class(uow, identity: Identity, class_id: str, today: date) -> TrainingClass:
    if identity.role != "institution_operator":
        raise Forbidden("The institution opens its classes.")
    session = uow.session
    training_class = find_class(session, identity, class_id, lock=True)
    _expect(training_class, rules.PUBLISHED)
    _staffed(training_class)
    training_class.status, training_class.opened_on = rules.OPENED, today
    students = session.scalar(select(func.count()).where(Enrolment.class_id == class_id))
    uow.publish(
        "class.opened",
        {
            "class_id": class_id,
            "campaign_id": training_class.campaign_id,
            "institution_id": training_class.institution_id,
            "programme_id": training_class.programme_id,
            "dedicated": training_class.dedicated,
            "opens_on": training_class.opens_on.isoformat(),
            "student_count": students,
            "roster_submitted_on": training_class.roster_submitted_on.isoformat(),
        },
    )
    return training_class


def roster(session, class_id: str) -> list[dict]:
    """The students of a class as lists show them: masked ID numbers, never phones."""
    rows = session.execute(
        select(Enrolment.enrolment_id, Employee.name, Employee.resident_id, Enrolment.unit_id, Unit.name)
        .join(Employee, Employee.employee_id == Enrolment.employee_id)
        .outerjoin(Unit, Unit.unit_id == Enrolment.unit_id)
        .where(Enrolment.class_id == class_id)
        .order_by(Employee.name, Enrolment.enrolment_id)
    )
    return [
        {
            "enrolment_id": e,
            "name": name,
            "resident_id": mask_resident_id(number),
            "unit_id": unit_id,
            "unit_name": unit_name,
        }
        for e, name, number, unit_id, unit_name in rows
    ]


def class_view(session, training_class: TrainingClass, calendar=None) -> dict:
    """The class with its roster and its roster deadline (None while the loaded calendar lacks the year)."""
    return {
        **{column.key: getattr(training_class, column.key) for column in TrainingClass.__table__.columns},
        "roster_deadline": _roster_deadline(session, training_class, calendar or work_calendar(session)),
        "students": roster(session, training_class.class_id),
    }


def _roster_deadline(session, training_class: TrainingClass, calendar) -> date | None:
    campaign = session.get(Campaign, training_class.campaign_id)
    if campaign is None:
        return None
    try:
        return roster_deadline(training_class.opens_on, campaign.roster_lead_working_days, calendar.is_workday)
    except CalendarMissing:
        return None


def published_rosters_query() -> Select:
    """The federation's public list: per published class, its institution's and programme's names."""
    return (
        select(TrainingClass, Institution.name, Programme.name)
        .join(Institution, Institution.institution_id == TrainingClass.institution_id)
        .join(Programme, Programme.programme_id == TrainingClass.programme_id)
        .where(TrainingClass.status.in_((rules.PUBLISHED, rules.OPENED)))
    )


def published_roster_views(session, rows) -> list[dict]:
    """Names with masked ID numbers, unit, institution; never phones."""
    return [
        {
            "class_id": c.class_id,
            "campaign_id": c.campaign_id,
            "institution": institution,
            "programme": programme,
            "opens_on": c.opens_on,
            "published_on": c.published_on,
            "students": [{k: v for k, v in s.items() if k != "enrolment_id"} for s in roster(session, c.class_id)],
        }
        for c, institution, programme in rows
    ]


def in_a_class(session, enrolment_ids: set[str]) -> set[str]:
    """Which of the enrolments are in a class now, all of them locked (in one order) as `exam_result` locks its
    one: what a batch of results asks before recording those of students in no class together."""
    return {
        enrolment_id
        for enrolment_id, class_id in session.execute(
            select(Enrolment.enrolment_id, Enrolment.class_id)
            .where(Enrolment.enrolment_id.in_(sorted(enrolment_ids)))
            .order_by(Enrolment.enrolment_id)
            .with_for_update()
        )
        if class_id is not None
    }


def exam_result(session, data: dict) -> None:
    """A failed skills student of an opened class goes back to wait for a later class of the same programme."""
    enrolment = session.get(Enrolment, data["enrolment_id"], with_for_update=True)
    if enrolment is None or enrolment.class_id is None:
        return
    passed_before = (
        session.scalar(select(func.count()).where(ExamResult.enrolment_id == enrolment.enrolment_id, ExamResult.passed))
        > 0
    )
    opened = session.get(TrainingClass, enrolment.class_id).status == rules.OPENED
    if rules.retakes_after(enrolment.kind, not data["passed"], passed_before, opened):
        leave_class(session, enrolment, date.fromisoformat(data["held_on"]), "retake")
        enrolment.retaking = True
        bump(enrolment)
