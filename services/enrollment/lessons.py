"""Use cases of a class's timetable (课表): its lessons, added, changed, cancelled with a reason, imported.

Only the operator of the class's institution changes them; the federation and the auditor read them; the
employee reads their own class's (classes.own_class). A lesson lies within the class's period (its opening day to
the campaign's study end, when known), on any day of the week, and never overlaps another lesson of the class:
the class row is locked while its timetable changes, and the database refuses an overlap too (models.Lesson).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from servicekit.clock import CHINA
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Forbidden, NotFound

from .access import INSTITUTION_ROLES
from .models import Campaign, Lesson, TrainingClass
from .problems import (
    LESSON_OVERLAP,
    OUTSIDE_CLASS_PERIOD,
    WRONG_STATUS,
    ConcurrentChange,
    ConcurrentLesson,
    every_row_or_none,
)

SCHEDULED, CANCELLED = "scheduled", "cancelled"


def find_class(session, identity: Identity, class_id: str, *, lock: bool = False) -> TrainingClass:
    """The class whose timetable is read or changed: the federation's and auditor's to read, its institution's
    own otherwise (another institution's is refused, 403)."""
    found = session.get(TrainingClass, class_id, with_for_update=lock)
    if found is None:
        raise NotFound(_("No class {class_id}.").format(class_id=class_id))
    if not identity.is_federation and not (
        identity.role in INSTITUTION_ROLES and identity.institution_id == found.institution_id
    ):
        raise Forbidden(_("The class's timetable belongs to its institution."))
    return found


def _writable(session, identity: Identity, class_id: str) -> TrainingClass:
    training_class = find_class(session, identity, class_id, lock=True)  # one timetable change at a time
    if identity.role != "institution_operator":
        raise Forbidden(_("The operator of the class's institution keeps its timetable."))
    return training_class


def lessons_query(session, identity: Identity, class_id: str | None) -> Select:
    """The lessons the caller may read: a class's (another institution's refused, 403), or all of its
    institution's classes (the federation's and the auditor's: every class's)."""
    if class_id is not None:
        find_class(session, identity, class_id)
        return select(Lesson)
    if identity.is_federation:
        return select(Lesson)
    return (
        select(Lesson)
        .join(TrainingClass, TrainingClass.class_id == Lesson.class_id)
        .where(TrainingClass.institution_id == identity.institution_id)
    )


def add_lesson(uow, identity: Identity, class_id: str, body: dict) -> Lesson:
    session = uow.session
    training_class = _writable(session, identity, class_id)
    lesson = Lesson(lesson_id=str(uuid.uuid4()), class_id=class_id)
    _set(session, training_class, lesson, body)
    session.add(lesson)
    _flush(session)
    return lesson


def change_lesson(uow, identity: Identity, class_id: str, lesson_id: str, body: dict) -> Lesson:
    """Move a lesson, or change its place, course or teacher (why, when given, is audited)."""
    session = uow.session
    training_class = _writable(session, identity, class_id)
    lesson = _lesson(session, class_id, lesson_id)
    _set(session, training_class, lesson, body)
    _flush(session)
    return lesson


def cancel_lesson(uow, identity: Identity, class_id: str, lesson_id: str, body: dict, today: date) -> Lesson:
    """The lesson does not take place: kept in the timetable as cancelled, with the reason the students see."""
    session = uow.session
    _writable(session, identity, class_id)
    lesson = _lesson(session, class_id, lesson_id)
    lesson.cancelled_on, lesson.cancel_reason = today, body["reason"]
    return lesson


def import_lessons(uow, identity: Identity, class_id: str, rows: list[tuple[int, dict]]) -> list[Lesson]:
    """A spreadsheet of lessons (row number, row): every one is added, or none and each bad row is reported (outside
    the class's period, overlapping a lesson of the class or another row)."""
    session = uow.session
    training_class = _writable(session, identity, class_id)

    def add(row: dict) -> Lesson:
        lesson = Lesson(lesson_id=str(uuid.uuid4()), class_id=class_id)
        _set(session, training_class, lesson, row)
        session.add(lesson)
        _flush(session)  # the next rows see this one
        return lesson

    return every_row_or_none(rows, add, _("{bad} of {total} rows cannot be added to the timetable."))


def _lesson(session, class_id: str, lesson_id: str) -> Lesson:
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.class_id != class_id:
        raise NotFound(_("No lesson {lesson_id} in this class.").format(lesson_id=lesson_id))
    if lesson.cancelled_on is not None:
        raise WRONG_STATUS(_("The lesson was cancelled on {day}.").format(day=lesson.cancelled_on.isoformat()))
    return lesson


def _set(session, training_class: TrainingClass, lesson: Lesson, body: dict) -> None:
    """The lesson's values after the class's rules: within its period, apart from its other lessons."""
    day = body["day"]
    _within_period(session, training_class, day)
    starts, ends = datetime.combine(day, body["starts"]), datetime.combine(day, body["ends"])
    clash = session.scalars(
        select(Lesson)
        .where(
            Lesson.class_id == training_class.class_id,
            Lesson.cancelled_on.is_(None),
            Lesson.lesson_id != lesson.lesson_id,
            Lesson.starts_at < ends,
            Lesson.ends_at > starts,
        )
        .order_by(Lesson.starts_at)
        .limit(1)
    ).first()
    if clash is not None:
        message = _("Overlaps {course} on {day}, {starts}–{ends}.").format(
            course=clash.course,
            day=clash.starts_at.date().isoformat(),
            starts=clash.starts_at.strftime("%H:%M"),
            ends=clash.ends_at.strftime("%H:%M"),
        )
        raise LESSON_OVERLAP(message, errors={"starts": [message]})
    lesson.starts_at, lesson.ends_at = starts, ends
    lesson.place = body.get("place") or training_class.site
    lesson.course, lesson.teacher = body["course"], body["teacher"]


def _within_period(session, training_class: TrainingClass, day: date) -> None:
    campaign = session.get(Campaign, training_class.campaign_id)
    end = campaign.study_end if campaign is not None else None
    if day < training_class.opens_on or (end is not None and day > end):
        bounds = {"start": training_class.opens_on.isoformat(), "end": end.isoformat() if end else None}
        message = (
            _("Must be from {start} to {end}.").format(**bounds)
            if end
            else _("Must be on or after {start}.").format(**bounds)
        )
        raise OUTSIDE_CLASS_PERIOD(
            _("The class is taught from its opening day to the campaign's study end."),
            errors={"day": [message]},
            window={"name": "class", **bounds},
        )


def _flush(session) -> None:
    """The database's word on an overlap another request made at the same moment: a 409, never a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        if "lesson" in str(exc.orig):
            raise ConcurrentLesson(_("Another lesson of the class was set at this time just now.")) from None
        raise ConcurrentChange("Changed concurrently; try again.") from None


def lesson_view(lesson: Lesson, now: datetime | None = None) -> dict:
    now = now or datetime.now(CHINA).replace(tzinfo=None)
    return {
        "lesson_id": lesson.lesson_id,
        "class_id": lesson.class_id,
        "day": lesson.starts_at.date(),
        "starts": lesson.starts_at.time(),
        "ends": lesson.ends_at.time(),
        "place": lesson.place,
        "course": lesson.course,
        "teacher": lesson.teacher,
        "status": CANCELLED if lesson.cancelled_on is not None else SCHEDULED,
        "cancelled_on": lesson.cancelled_on,
        "cancel_reason": lesson.cancel_reason,
        "past": lesson.ends_at <= now,
    }


def present(session, lesson: Lesson) -> dict:
    return lesson_view(lesson)


def timetable(session, class_id: str) -> list[dict]:
    """The whole timetable in date order (what the employee's class shows)."""
    now = datetime.now(CHINA).replace(tzinfo=None)
    query = select(Lesson).where(Lesson.class_id == class_id).order_by(Lesson.starts_at)
    return [lesson_view(lesson, now) for lesson in session.scalars(query)]
