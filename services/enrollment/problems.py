"""Enrollment's refusals (domain errors, servicekit.refusals: codes with English and Chinese titles)."""

from datetime import date

from sqlalchemy.exc import IntegrityError

from servicekit.i18n import _
from servicekit.refusals import IMPORT_REJECTED, Conflict, DomainError, Invalid, refusal

UNIT_RETIRED_FOR_NOMINATION = refusal(
    Conflict,
    "enrollment_unit_retired",
    "The first-level unit is retired: it takes no new nominations",
    "该一级单位已撤销，不再接受新的推荐",
)
ALREADY_EXISTS = refusal(Conflict, "enrollment_already_exists", "It already exists", "该记录已存在")
UNKNOWN_REFERENCE = refusal(
    Invalid,
    "enrollment_unknown_reference",
    "It refers to something this service does not know",
    "引用的对象不存在或尚未同步",
)
NOT_IN_PLAN = refusal(
    Conflict,
    "enrollment_programme_not_in_plan",
    "The programme is not in the unit's plan for this campaign",
    "所选培训项目不在本单位本批次的培训计划内",
)
ALREADY_ENROLLED = refusal(
    Conflict,
    "enrollment_already_enrolled",
    "The employee already has an active enrolment of this kind in this campaign",
    "该职工在本批次同类培训中已有有效报名",
)
WRONG_STATUS = refusal(
    Conflict, "enrollment_wrong_status", "Not possible in the current status", "当前状态下不能执行此操作"
)
NOT_CONFIRMABLE = refusal(
    Conflict, "enrollment_not_confirmable", "The nomination cannot be confirmed yet", "推荐人选暂不能确认"
)
WINDOW_CLOSED = refusal(
    Conflict,
    "enrollment_registration_window_closed",
    "Outside the campaign's registration window",
    "不在本批次报名时间内",
)
OUTSIDE_STUDY_WINDOW = refusal(
    Invalid, "enrollment_outside_study_window", "Outside the campaign's study window", "不在本批次学习服务时间内"
)
INSTITUTION_DISQUALIFIED = refusal(
    Conflict,
    "enrollment_institution_disqualified",
    "The institution is disqualified: it takes no new nominations, registrations, classes or plans",
    "该培训机构已被取消培训资格，不再接受新的推荐、报名、开班和培训计划",
)
ENTRANCE_TEST_NOT_PASSED = refusal(
    Conflict, "enrollment_entrance_test_not_passed", "Admission needs a passed entrance test", "入学测试通过后方可录取"
)
CLASS_NOT_STAFFED = refusal(
    Conflict,
    "enrollment_class_not_staffed",
    "A dedicated class needs a head teacher and a learning assistant",
    "专班须配备班主任和学习助理",
)
NO_STUDENT_WAITING = refusal(
    Conflict,
    "enrollment_no_student_waiting",
    "No paid, registered student of this programme is waiting for a class",
    "该项目没有已缴费、待分班的学员",
)
ROSTER_TOO_LATE = refusal(
    Conflict,
    "enrollment_roster_too_late",
    "The roster comes too late for the opening date",
    "花名册须在开班前规定的工作日数之前报送",
)
CALENDAR_MISSING = refusal(
    Conflict,
    "enrollment_calendar_missing",
    "No working-day calendar for that year",
    "缺少该年度的工作日历（节假日安排）",
)
NOTHING_TO_SEND = refusal(
    Conflict,
    "enrollment_nothing_to_send",
    "The grassroots union has no confirmed nominee waiting to be sent",
    "该基层工会没有已确认、待报送的推荐人选",
)

LESSON_OVERLAP = refusal(
    Conflict,
    "enrollment_lesson_overlap",
    "The lesson overlaps another lesson of the class",
    "该课程与本班其他课程时间重叠",
)
OUTSIDE_CLASS_PERIOD = refusal(
    Invalid,
    "enrollment_lesson_outside_class_period",
    "The lesson is outside the class's period (its opening day to the study end)",
    "课程日期不在本班学习期内（开班日至学习服务截止日）",
)


def refuse_outside(
    day: date, window: str, start: date, end: date, refused: type[DomainError], detail: str, field: str | None = None
) -> None:
    """The campaign's window that governs an action: a day outside it is refused, the window in the error's
    `window` member ({"name", "start", "end"}) and, for a field of the request, a message next to it."""
    if start <= day <= end:
        return
    bounds = {"start": start.isoformat(), "end": end.isoformat()}
    errors = {field: [_("Must be from {start} to {end}.").format(**bounds)]} if field else None
    raise refused(detail, errors=errors, window={"name": window, **bounds})


class ConcurrentChange(Conflict):
    """The database refused a write another request made first; the transaction is spent."""


class ConcurrentEnrolment(ConcurrentChange):
    """Another request enrolled the employee first (ALREADY_ENROLLED's code and titles)."""

    code, title_en, title_zh = ALREADY_ENROLLED.code, ALREADY_ENROLLED.title_en, ALREADY_ENROLLED.title_zh


class ConcurrentLesson(ConcurrentChange):
    """Another request set a lesson of the class at this time first (LESSON_OVERLAP's code and titles)."""

    code, title_en, title_zh = LESSON_OVERLAP.code, LESSON_OVERLAP.title_en, LESSON_OVERLAP.title_zh


def every_row_or_none(rows: list[tuple[int, dict]], one, refused: str) -> list:
    """A spreadsheet's rows (row number, row) through `one(row)`: every result, or IMPORT_REJECTED with each
    refused row's errors (`refused`: the message, of {bad} and {total}). A race lost to another request (the
    transaction is spent) ends the import at once."""
    done, errors = [], []
    for number, row in rows:
        try:
            done.append(one(row))
        except ConcurrentChange:
            raise
        except DomainError as problem:
            errors.append({"row": number, "errors": problem.errors or {"row": [problem.detail]}})
    if errors:
        raise IMPORT_REJECTED(refused.format(bad=len(errors), total=len(rows)), errors={"rows": errors})
    return done


def flush_or_conflict(session, detail: str = "Changed concurrently; try again.") -> None:
    """Let the database's constraints decide races between requests: a clear 409, never a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        if "ux_one_active_enrolment" in str(exc.orig):
            raise ConcurrentEnrolment(
                "The employee holds another active enrolment of this kind in this campaign."
            ) from None
        raise ConcurrentChange(detail) from None


PROGRAMME_PUBLISHED = refusal(
    Conflict,
    "enrollment_programme_published",
    "The programme is published: only a draft is sent back",
    "该培训项目已发布，只有草稿可以退回修改",
)
