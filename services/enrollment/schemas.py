"""The HTTP shapes of enrollment (marshmallow), documented in the OpenAPI."""

from __future__ import annotations

from datetime import datetime, time

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from servicekit.bulk import bulk_of
from servicekit.clock import china_today as today
from servicekit.i18n import _
from servicekit.money import Money

from .domain.enrolment import RECOMMENDATION_METHODS, REJECTIONS
from .domain.people import InvalidPersonalData, normalise_mobile, normalise_resident_id

ACADEMIC_LEVELS = ("大专", "本科")
KINDS = ("academic", "skills")
CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", error="Letters, digits, '.', '_' or '-' (at most 64).")


def Text(max_length: int, **kwargs) -> fields.String:
    return fields.String(
        validate=[validate.Length(min=1, max=max_length), validate.Regexp(r"\S", error="Must not be blank.")], **kwargs
    )


class Uuid(fields.UUID):
    """A UUID, validated, kept as its text (how the tables store ids, on PostgreSQL and SQLite alike)."""

    def _deserialize(self, value, attr, data, **kwargs):
        return str(super()._deserialize(value, attr, data, **kwargs))


class ResidentId(fields.String):
    """An 18-character resident ID number, check digit verified; loads normalised (upper-case X)."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalise_resident_id(super()._deserialize(value, attr, data, **kwargs), today())
        except InvalidPersonalData as exc:
            raise ValidationError(exc.args[0]) from None


class MobilePhone(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return normalise_mobile(str(super()._deserialize(value, attr, data, **kwargs)))
        except InvalidPersonalData as exc:
            raise ValidationError(exc.args[0]) from None


# ---- institutions and catalogue -------------------------------------------------------------


class InstitutionIn(Schema):
    institution_id = fields.String(required=True, validate=CODE)
    name = Text(200, required=True)


class InstitutionRename(Schema):
    name = Text(200, required=True)


class InstitutionOut(Schema):
    institution_id = fields.String()
    name = fields.String()
    revision = fields.Integer()
    disqualified = fields.Boolean(metadata={"description": "Disqualified by the federation: no new registrations"})
    disqualification_reason = fields.String(allow_none=True)


class NoticeOut(Schema):
    institution_id = fields.String()
    revision = fields.Integer(metadata={"description": "Of the institution's standing decisions, in order"})
    campaign_id = fields.String(metadata={"description": "The campaign whose evaluation led to the notice"})
    reason = fields.String()
    decided_at = fields.DateTime()


class FeeStandard(Schema):
    """The institution's published fee standard, one line per fee ("0.00" when not charged)."""

    tuition_or_training = Money(required=True)
    appraisal_exam = Money(required=True)
    textbook = Money(required=True)
    registration = Money(required=True)
    entrance_test = Money(required=True)


class ProgrammeBody(Schema):
    institution_id = fields.String(required=True, validate=CODE)
    name = Text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    level = Text(20, required=True, metadata={"description": "大专/本科 for academic; the skill level for skills"})
    major = Text(100, load_default=None, metadata={"description": "Academic only"})
    trade = Text(100, load_default=None, metadata={"description": "Skills only"})
    teaching_sites = fields.List(Text(200), required=True, validate=validate.Length(min=1, max=50))
    start_date = fields.Date(required=True)
    on_site_teaching = fields.Boolean(required=True, metadata={"description": "上门办学 offered"})
    fee_standard = fields.Nested(FeeStandard, required=True)

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        academic = data.get("kind") == "academic"
        errors = {}
        if academic and data.get("level") not in ACADEMIC_LEVELS:
            errors["level"] = [_("Must be one of: {values}.").format(values=", ".join(ACADEMIC_LEVELS))]
        wanted, unused = ("major", "trade") if academic else ("trade", "major")
        if data.get(wanted) is None:
            errors[wanted] = [_("Required for kind {kind}.").format(kind=data.get("kind"))]
        if data.get(unused) is not None:
            errors[unused] = [_("Not used for kind {kind}.").format(kind=data.get("kind"))]
        if errors:
            raise ValidationError(errors)


class ProgrammeIn(ProgrammeBody):
    programme_id = fields.String(required=True, validate=CODE)


class ProgrammeRow(ProgrammeIn):
    """One line of a catalogue spreadsheet: flat columns, sites separated by ';' or '；'."""

    @pre_load
    def _from_columns(self, row, **kwargs):
        row = {key: value for key, value in row.items() if value not in (None, "")}
        if isinstance(row.get("teaching_sites"), str):
            row["teaching_sites"] = [
                s.strip() for s in row["teaching_sites"].replace("；", ";").split(";") if s.strip()
            ]
        if "on_site_teaching" in row:
            row["on_site_teaching"] = {"是": True, "否": False}.get(
                str(row["on_site_teaching"]), row["on_site_teaching"]
            )
        row["fee_standard"] = {
            line: str(row.pop(f"fee_{line}")) for line in FeeStandard().fields if f"fee_{line}" in row
        }
        return row


class ReturnedOut(Schema):
    reason = fields.String()
    returned_by = fields.String()
    returned_at = fields.DateTime()


class ProgrammeOut(ProgrammeIn):
    status = fields.String(metadata={"description": "draft or published"})
    revision = fields.Integer()
    returned = fields.Nested(
        ReturnedOut,
        allow_none=True,
        metadata={"description": "a draft the federation sent back, not edited since: its reason, who, when"},
    )


class ProgrammeReturnIn(Schema):
    reason = Text(500, required=True, metadata={"description": "what the institution must change (audited)"})


class UploadForm(Schema):
    """The form of a spreadsheet upload, as documented: the file (read from the files part) and the fields."""

    file = fields.Raw(
        load_default=None,
        metadata={"type": "string", "format": "binary", "description": ".xlsx or .csv, first row the headers"},
    )


class CatalogueImportForm(UploadForm):
    publish = fields.Boolean(load_default=False, metadata={"description": "Publish every imported programme"})


class UploadFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportOut(Schema):
    created = fields.List(fields.String())
    updated = fields.List(fields.String())
    published = fields.List(fields.String())


class PlanIn(Schema):
    programme_ids = fields.List(fields.String(validate=CODE), required=True, validate=validate.Length(max=500))


class PlanOut(Schema):
    unit_id = fields.String()
    campaign_id = fields.String()
    programmes = fields.List(fields.Nested(ProgrammeOut))
    institution_ids = fields.List(fields.String())


# ---- nominations and enrolments -----------------------------------------------------------


class Person(Schema):
    name = Text(50, required=True)
    resident_id = ResidentId(required=True, metadata={"description": "身份证号, 18 characters, check digit verified"})
    phone = MobilePhone(required=True, metadata={"description": "Mainland mobile number"})
    education = Text(50, required=True, metadata={"description": "Highest schooling, e.g. 高中, 中专, 大专"})
    attestation = Text(
        1000,
        required=True,
        metadata={"description": "Why the union finds the employee a front-line worker or backbone"},
    )
    programme_id = fields.String(required=True, validate=CODE)


class RecommendationIn(Schema):
    meeting_on = fields.Date(required=True, metadata={"description": "Day of the meeting, on or before the notice"})
    method = fields.String(
        required=True,
        validate=validate.OneOf(RECOMMENDATION_METHODS),
        metadata={"description": "vote (表决: give the votes), evaluation (民主评议) or consultation (民主协商)"},
    )
    voters = fields.Integer(load_default=None, validate=validate.Range(min=1, max=100000))
    votes_for = fields.Integer(load_default=None, validate=validate.Range(min=0, max=100000))
    votes_against = fields.Integer(load_default=None, validate=validate.Range(min=0, max=100000))
    votes_abstained = fields.Integer(load_default=None, validate=validate.Range(min=0, max=100000))


class NominationIn(Person):
    campaign_id = Uuid(required=True)
    notice_start = fields.Date(
        load_default=None, metadata={"description": "Day the public notice was posted; today if omitted"}
    )
    recommendation = fields.Nested(
        RecommendationIn,
        load_default=None,
        metadata={"description": "The democratic recommendation (or PUT it later): needed before confirmation"},
    )


class NoticeQuery(Schema):
    campaign_id = Uuid(required=True)
    grassroots_union_id = fields.String(required=True, validate=CODE)


class NoticeEntry(Schema):
    enrolment_id = fields.String(metadata={"description": "Give it to object (an employee's objection)"})
    campaign_id = fields.String()
    grassroots_union_id = fields.String()
    grassroots_union_name = fields.String()
    name = fields.String()
    resident_id = fields.String(metadata={"description": "Masked"})
    kind = fields.String()
    programme_id = fields.String()
    programme_name = fields.String()
    institution_id = fields.String()
    notice_start = fields.Date()
    notice_end = fields.Date(metadata={"description": "The notice is over on this day"})
    recommendation = fields.Nested(RecommendationIn, allow_none=True)


class ListSendIn(Schema):
    campaign_id = Uuid(required=True)
    grassroots_union_id = fields.String(required=True, validate=CODE)


class NominationListOut(Schema):
    list_id = fields.String()
    campaign_id = fields.String()
    unit_id = fields.String()
    unit_name = fields.String(allow_none=True)
    grassroots_union_id = fields.String()
    grassroots_union_name = fields.String(allow_none=True)
    sent_on = fields.Date()
    sent_by = fields.String()
    sent_at = fields.DateTime()
    nominees = fields.Integer(metadata={"description": "How many nominees the list sent"})


class NominationRow(Person):
    @pre_load
    def _cells_as_text(self, row, **kwargs):
        # Spreadsheets give numbers for digit-only cells (phones, ID numbers without X).
        return {
            key: str(value) if isinstance(value, int) else value
            for key, value in row.items()
            if value not in (None, "")
        }


class NominationImportForm(UploadForm):
    campaign_id = Uuid(required=True)
    notice_start = fields.Date(load_default=None)
    meeting_on = fields.Date(
        load_default=None, metadata={"description": "The democratic recommendation's meeting, for every row"}
    )
    method = fields.String(
        load_default=None,
        validate=validate.OneOf(RECOMMENDATION_METHODS),
        metadata={"description": "How it recommended them (a vote's votes are recorded per nominee: PUT)"},
    )

    @validates_schema
    def _both_or_neither(self, data, **kwargs):
        if (data.get("meeting_on") is None) != (data.get("method") is None):
            raise ValidationError(_("Give the meeting day and the method together."), "meeting_on")


class ObjectionIn(Schema):
    raised_on = fields.Date(
        load_default=None, metadata={"description": "Union: the day it was raised (today if omitted); employee: today"}
    )
    summary = Text(2000, required=True)
    objector_name = Text(
        50,
        load_default=None,
        metadata={"description": "Who objects (an employee: required); seen only by the union and the federation"},
    )


class OutcomeIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("upheld", "dismissed")))
    note = Text(2000, required=True)


class OutcomeItem(OutcomeIn):
    enrolment_id = fields.String(required=True, validate=validate.Length(min=1, max=36))
    objection_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class ConsentIn(Schema):
    written_consent_on = fields.Date(
        load_default=None, metadata={"description": "Officers only: date of the employee's written consent"}
    )


class AttendanceIn(Schema):
    hours_planned = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10000))
    hours_attended = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10000))
    note = fields.String(load_default=None, validate=validate.Length(max=2000))


class AttendanceOut(Schema):
    enrolment_id = fields.String()
    hours_planned = fields.Integer()
    hours_attended = fields.Integer()
    note = fields.String(allow_none=True)
    reported_on = fields.Date()
    reported_by = fields.String()


class EntranceTestIn(Schema):
    held_on = fields.Date(required=True)
    score = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=1000), as_string=True)
    passed = fields.Boolean(required=True)


class RegistrationRejectionIn(Schema):
    reason = fields.String(
        required=True,
        validate=validate.OneOf(REJECTIONS),
        metadata={"description": "entrance_test_failed (academic, after a failed test) or documents_missing"},
    )
    note = fields.String(validate=validate.Length(min=1, max=500))


class ObjectionOut(ObjectionIn):
    objection_id = fields.String()
    recorded_by = fields.String(allow_none=True, metadata={"description": "Seen by the union and the federation"})
    objector_employee_id = fields.String(
        allow_none=True, metadata={"description": "An employee's own objection; seen by the union and the federation"}
    )
    outcome = fields.String(allow_none=True)
    outcome_note = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)


class ClassPlacementOut(Schema):
    class_id = fields.String()
    placed_on = fields.Date()
    left_on = fields.Date(allow_none=True)
    ended_by = fields.String(allow_none=True, metadata={"description": "retake, transfer, withdrawal or moved"})


class EnrolmentOut(Schema):
    enrolment_id = fields.String()
    revision = fields.Integer()
    status = fields.String(
        metadata={
            "description": "nominated, confirmed (by the union), sent (on a list its unit sent), requested, registered, admitted, "
            "refused, rejected, withdrawn"
        }
    )
    campaign_id = fields.String()
    kind = fields.String()
    employee_id = fields.String()
    name = fields.String()
    resident_id = fields.String(metadata={"description": "Masked except for the nominating union and the employee"})
    phone = fields.String(metadata={"description": "Masked except for the nominating union and the employee"})
    unit_id = fields.String()
    grassroots_union_id = fields.String()
    institution_id = fields.String()
    programme_id = fields.String()
    education = fields.String()
    attestation = fields.String()
    notice_start = fields.Date()
    notice_end = fields.Date(metadata={"description": "The notice is over on this day; confirmation possible from it"})
    objections = fields.List(fields.Nested(ObjectionOut))
    recommendation = fields.Nested(RecommendationIn, allow_none=True)
    confirmed_on = fields.Date(allow_none=True)
    list_id = fields.String(allow_none=True, metadata={"description": "The list its unit sent it on"})
    consent_method = fields.String(allow_none=True)
    consent_on = fields.Date(allow_none=True)
    sent_on = fields.Date(allow_none=True)
    requested_on = fields.Date(allow_none=True)
    fees = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True)
    subsidy_requested = Money(allow_none=True)
    registered_on = fields.Date(allow_none=True)
    refusal_reason = fields.String(allow_none=True)
    refusal_detail = fields.String(allow_none=True)
    entrance_test_on = fields.Date(allow_none=True)
    entrance_test_score = fields.Decimal(as_string=True, allow_none=True)
    entrance_test_passed = fields.Boolean(allow_none=True)
    admitted_on = fields.Date(allow_none=True)
    payment_status = fields.String(allow_none=True, metadata={"description": "From finance: full, partial or over"})
    class_id = fields.String(allow_none=True)
    withdrawn_on = fields.Date(allow_none=True)
    retaking = fields.Boolean(metadata={"description": "Skills: failed, waits for a later class, training fee waived"})
    classes = fields.List(fields.Nested(ClassPlacementOut), metadata={"description": "Every class placement"})


# ---- classes, rosters, the working-day calendar ------------------------------------------


class ClassIn(Schema):
    campaign_id = Uuid(required=True)
    programme_id = fields.String(required=True, validate=CODE)
    opens_on = fields.Date(required=True)
    site = Text(200, required=True, metadata={"description": "Where the class is taught"})
    on_site = fields.Boolean(load_default=False, metadata={"description": "上门办学 / 送教上门 at the unit"})
    public_class_name = Text(
        200,
        load_default=None,
        metadata={"description": "Fewer than the threshold: the class of public students joined"},
    )
    head_teacher = Text(50, load_default=None)
    learning_assistant = Text(50, load_default=None)


class PlacementIn(Schema):
    enrolment_id = Uuid(required=True, metadata={"description": "The student to put in (or move to) the class"})


class StaffIn(Schema):
    head_teacher = Text(50, required=True, metadata={"description": "班主任"})
    learning_assistant = Text(50, required=True, metadata={"description": "学习助理"})


class ReviewIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "return")))
    comments = Text(
        2000, load_default=None, metadata={"description": "Why (required, audited): returned, what must change"}
    )

    @validates_schema
    def _comments_always(self, data, **kwargs):
        if data["decision"] == "return" and not data.get("comments"):
            raise ValidationError("Say what must change.", "comments")
        if not data.get("comments"):
            raise ValidationError(_("A reason is required for this decision."), "comments")


class RosterLine(Schema):
    enrolment_id = fields.String()
    name = fields.String()
    resident_id = fields.String(metadata={"description": "Masked"})
    unit_id = fields.String()
    unit_name = fields.String(allow_none=True)


class ClassOut(Schema):
    class_id = fields.String()
    campaign_id = fields.String()
    institution_id = fields.String()
    programme_id = fields.String()
    dedicated = fields.Boolean()
    public_class_name = fields.String(allow_none=True)
    opens_on = fields.Date()
    on_site = fields.Boolean()
    site = fields.String()
    head_teacher = fields.String(allow_none=True)
    learning_assistant = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "forming, submitted, returned, approved, published, opened"})
    roster_submitted_on = fields.Date(allow_none=True)
    roster_deadline = fields.Date(
        allow_none=True,
        metadata={
            "description": "the last day to submit the roster: the campaign's lead of Chinese working days before "
            "the opening, from the loaded calendar; null while the calendar lacks the year"
        },
    )
    review_comments = fields.String(allow_none=True)
    reviewed_by = fields.String(allow_none=True)
    published_on = fields.Date(allow_none=True)
    opened_on = fields.Date(allow_none=True)
    students = fields.List(fields.Nested(RosterLine))


class OwnClassOut(ClassOut):
    """The class an employee studies in, as they see it: where, when and with whom; never the other students nor
    the roster's review."""

    class Meta:
        exclude = (
            "roster_submitted_on",
            "roster_deadline",
            "review_comments",
            "reviewed_by",
            "published_on",
            "students",
        )

    institution_name = fields.String(allow_none=True)
    programme_name = fields.String(allow_none=True)
    study_end = fields.Date(allow_none=True, metadata={"description": "The campaign's study window ends on this day"})
    placed_on = fields.Date(metadata={"description": "The day the employee was placed in the class"})
    lessons = fields.List(
        fields.Nested(lambda: TimetableLesson()),
        metadata={"description": "The timetable in date order, cancelled lessons too (with why), past ones marked"},
    )


class LessonIn(Schema):
    """A lesson of the class's timetable: the day (weekends too), the start and end (China time), where, what, who."""

    day = fields.Date(required=True, metadata={"description": "On or after the class's opening day, by the study end"})
    starts = fields.Time(required=True, metadata={"description": "HH:MM, China time"})
    ends = fields.Time(required=True, metadata={"description": "HH:MM, after the start, the same day"})
    place = Text(200, load_default=None, metadata={"description": "Where; the class's site when not given"})
    course = Text(200, required=True, metadata={"description": "The course or topic (课程)"})
    teacher = Text(50, required=True, metadata={"description": "Who teaches it (授课教师)"})

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data["ends"] <= data["starts"]:
            raise ValidationError(_("Must be after the start."), "ends")


class LessonChangeIn(LessonIn):
    reason = Text(1000, load_default=None, metadata={"description": "Why it changes (audited)"})


class LessonCancelIn(Schema):
    reason = Text(1000, required=True, metadata={"description": "Why the lesson is cancelled (audited, shown)"})


class LessonRow(LessonIn):
    """A line of a timetable spreadsheet: 日期 / 开始 / 结束 / 地点 / 课程 / 授课教师."""

    @pre_load
    def _from_cells(self, row, **kwargs):
        row = {key: value for key, value in row.items() if value not in (None, "")}
        for key in ("starts", "ends"):
            value = row.get(key)
            if isinstance(value, time | datetime):  # a time cell
                row[key] = value.strftime("%H:%M")
            elif isinstance(value, str) and len(value) == 4 and value[1] == ":":
                row[key] = "0" + value  # 9:00
        for key in ("place", "course", "teacher"):
            if isinstance(row.get(key), int):
                row[key] = str(row[key])
        return row


class TimetableLesson(Schema):
    """A lesson as the class's students see it."""

    lesson_id = fields.String()
    day = fields.Date()
    starts = fields.Time(format="%H:%M")
    ends = fields.Time(format="%H:%M")
    place = fields.String()
    course = fields.String()
    teacher = fields.String()
    status = fields.String(metadata={"description": "scheduled or cancelled"})
    cancelled_on = fields.Date(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    past = fields.Boolean(metadata={"description": "Over already (ended before now, China time)"})


class LessonOut(TimetableLesson):
    class_id = fields.String()


class LessonImportOut(Schema):
    imported = fields.Integer()
    lessons = fields.List(fields.Nested(LessonOut))


class GroupingQuery(Schema):
    campaign_id = Uuid(required=True)


class GroupingOut(Schema):
    institution_id = fields.String()
    programme_id = fields.String()
    registered = fields.Integer()
    unplaced = fields.Integer(metadata={"description": "In no class yet (the arrangement counts these)"})
    waiting = fields.Integer(metadata={"description": "In no class yet and paid: they go into the next class"})
    arrangement = fields.String(metadata={"description": "dedicated, or join_public_class_or_transfer"})


class PublishedStudent(Schema):
    name = fields.String()
    resident_id = fields.String(metadata={"description": "Masked, e.g. 4401**********123X"})
    unit_id = fields.String()
    unit_name = fields.String(allow_none=True)


class PublishedRoster(Schema):
    class_id = fields.String()
    campaign_id = fields.String()
    institution = fields.String()
    programme = fields.String()
    opens_on = fields.Date()
    published_on = fields.Date()
    students = fields.List(fields.Nested(PublishedStudent))


class CalendarDayIn(Schema):
    day = fields.Date(required=True)
    workday = fields.Boolean(
        required=True, metadata={"description": "false: public holiday; true: make-up working day"}
    )
    name = Text(100, required=True, metadata={"description": "e.g. 春节, 国庆节调休上班"})


class CalendarRow(CalendarDayIn):
    """A line of a holiday spreadsheet: 日期 / 是否上班 (是 or 否) / 名称."""

    @pre_load
    def _from_cells(self, row, **kwargs):
        row = dict(row)
        row["workday"] = {"是": True, "否": False}.get(str(row.get("workday")), row.get("workday"))
        return row


class CalendarIn(Schema):
    days = fields.List(fields.Nested(CalendarDayIn), required=True, validate=validate.Length(max=366))


class CalendarOut(CalendarIn):
    year = fields.Integer()
    source = fields.String(metadata={"description": "federation, chinesecalendar, or missing"})


# ---- status changes ----------------------------------------------------------------------


class StatusChangeIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("withdrawal", "transfer", "major_change")))
    reason = Text(1000, required=True)
    effective_on = fields.Date(required=True)
    to_programme_id = fields.String(
        load_default=None, validate=CODE, metadata={"description": "Transfer or change of major: the new programme"}
    )


class DecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "decline")))
    note = Text(2000, load_default=None, metadata={"description": "Why: required when declining (audited)"})

    @validates_schema
    def _reason_when_declined(self, data, **kwargs):
        if data["decision"] == "decline" and not data.get("note"):
            raise ValidationError(_("A reason is required for this decision."), "note")


class StatusChangeOut(StatusChangeIn):
    change_id = fields.String()
    enrolment_id = fields.String()
    state = fields.String(
        metadata={
            "description": "requested, unit_agreed, awaiting_quota (approved, quota asked "
            "for the new subsidy), approved, declined or refused (by quota)"
        }
    )
    requested_by = fields.String()
    requested_at = fields.DateTime()
    unit_decision_by = fields.String(allow_none=True)
    federation_decision_by = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    decided_on = fields.Date(allow_none=True)
    subsidy_requested = Money(allow_none=True, metadata={"description": "Skills: the new subsidy asked of quota"})
    refusal_reason = fields.String(allow_none=True, metadata={"description": "Quota's reason, when it refused"})
    refusal_detail = fields.String(allow_none=True)


class LedgerQuery(Schema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(("xlsx", "csv", "json")))
    campaign_id = Uuid()
    unit_id = fields.String()
    institution_id = fields.String()
    programme_id = fields.String()
    status = fields.String()


class ReviewItem(ReviewIn):
    class_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class EnrolmentItem(Schema):
    enrolment_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


EnrolmentsIn = bulk_of(EnrolmentItem, "EnrolmentsIn")
OutcomesIn = bulk_of(OutcomeItem, "OutcomesIn")
ReviewsIn = bulk_of(ReviewItem, "ReviewsIn")


# ---- corrections of personal data (PIPL art. 46) ------------------------------------------


class CorrectionIn(Schema):
    field = fields.String(
        required=True,
        validate=validate.OneOf(("name", "phone", "education")),
        metadata={"description": "What to correct: name, phone (mobile) or education (schooling)"},
    )
    requested_value = Text(50, required=True, metadata={"description": "The correct value"})
    reason = Text(1000, required=True, metadata={"description": "Why the record is wrong"})


class CorrectionDecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("accept", "reject")))
    reason = Text(2000, required=True, metadata={"description": "Why (audited; shown to the employee)"})


class CorrectionOut(Schema):
    request_id = fields.String()
    employee_id = fields.String()
    name = fields.String(metadata={"description": "The employee's name (masked but for the employee)"})
    field = fields.String()
    current_value = fields.String(
        allow_none=True, metadata={"description": "What the record holds now (phone masked but for the employee)"}
    )
    requested_value = fields.String()
    reason = fields.String()
    state = fields.String(metadata={"description": "open, accepted or rejected"})
    requested_at = fields.DateTime()
    decided_by = fields.String(allow_none=True)
    decided_role = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_reason = fields.String(allow_none=True)
