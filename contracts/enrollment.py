"""Events produced by the enrollment service: catalogue, the registration saga, status changes, classes.

Employees appear only as an opaque `employee_id`: never a name, resident ID number or phone.
The one exception is a *masked* name (`holder_name_masked`, e.g. "张*明"), which is what
a public certificate verification may show of its holder.
"""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import event
from .common import UUID, Amount, Bool, Code, Date, FeeLines, Int, Kind, MaskedName, Part, Revision, Text, Timestamp

PRODUCER = "enrollment"
ACADEMIC_LEVELS = ("大专", "本科")


def _require_for_kind(data: dict, academic: tuple[str, ...], skills: tuple[str, ...], errors=None) -> None:
    """Fields only one kind uses: required for that kind, absent for the other."""
    wanted, unused = (academic, skills) if data["kind"] == "academic" else (skills, academic)
    errors = dict(errors or {})
    errors |= {name: [f"Required for kind {data['kind']}."] for name in wanted if name not in data}
    errors |= {name: [f"Not used for kind {data['kind']}."] for name in unused if name in data}
    if errors:
        raise ValidationError(errors)


@event("institution.registered", 1, PRODUCER)
class InstitutionRegistered(Schema):
    institution_id = Code(required=True)
    revision = Revision(required=True)
    name = Text(required=True)


@event("programme.published", 1, PRODUCER)
class ProgrammePublished(Schema):
    programme_id = Code(required=True)
    revision = Revision(required=True)
    institution_id = Code(required=True)
    kind = Kind(required=True)
    level = Text(required=True, max_length=20)  # 大专 / 本科 for academic, the skill level for skills
    major = Text(max_length=100)  # academic only
    trade = Text(max_length=100)  # skills only
    teaching_sites = fields.List(Text(max_length=200), required=True, validate=validate.Length(min=1))
    start_date = Date(required=True)
    on_site_teaching = Bool(required=True)
    fee_standard = Part(FeeLines, required=True)

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        errors = {}
        if data["kind"] == "academic" and data["level"] not in ACADEMIC_LEVELS:
            errors["level"] = [f"Must be one of: {', '.join(ACADEMIC_LEVELS)}."]
        _require_for_kind(data, academic=("major",), skills=("trade",), errors=errors)


@event("enrollment.requested", 1, PRODUCER)
class EnrollmentRequested(Schema):
    """Asks quota for a seat (academic) or for subsidy money (skills, `amount`).

    Asked again with a higher revision while the quota is held, it asks to change
    what is held (a transfer to a programme with another fee): quota answers
    with the revision it answers, and a refusal leaves what was held untouched.
    """

    enrolment_id = UUID(required=True)
    revision = Revision(required=True)
    campaign_id = UUID(required=True)
    kind = Kind(required=True)
    unit_id = Code(required=True)  # the first-level unit that holds the quota
    grassroots_union_id = Code(required=True)
    institution_id = Code(required=True)
    programme_id = Code(required=True)
    amount = Amount(above_zero=True)
    # Added in place: the day the institution registered; a request asked again later (servicekit.sagas)
    # is judged against the registration window on that day, not on the day it is asked again.
    requested_on = Date()

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        _require_for_kind(data, academic=(), skills=("amount",))


class _Enrolment(Schema):
    """What finance and evaluation need to know of an enrolment."""

    enrolment_id = UUID(required=True)
    revision = Revision(required=True)
    campaign_id = UUID(required=True)
    kind = Kind(required=True)
    unit_id = Code(required=True)
    grassroots_union_id = Code(required=True)
    institution_id = Code(required=True)
    programme_id = Code(required=True)
    trade = Text(max_length=100)  # skills only: per-trade federation rates depend on it
    fees = Part(FeeLines, required=True)  # the fee standard that applies to this enrolment
    employee_id = Code(required=True)
    holder_name_masked = MaskedName()  # added in place: shown by public certificate verification

    @validates_schema
    def _kind_fields(self, data, **kwargs):
        _require_for_kind(data, academic=(), skills=("trade",))


@event("enrollment.registered", 1, PRODUCER)
class EnrollmentRegistered(_Enrolment):
    registered_on = Date(required=True)


@event("enrollment.admitted", 1, PRODUCER)
class EnrollmentAdmitted(_Enrolment):
    admitted_on = Date(required=True)


@event("enrollment.withdrawn", 1, PRODUCER)
class EnrollmentWithdrawn(Schema):
    enrolment_id = UUID(required=True)
    revision = Revision(required=True)
    campaign_id = UUID(required=True)
    kind = Kind(required=True)
    unit_id = Code(required=True)
    institution_id = Code(required=True)
    reason = Text(required=True)
    withdrawn_on = Date(required=True)


@event("enrollment.registration_rejected", 1, PRODUCER)
class EnrollmentRegistrationRejected(Schema):
    """The institution rejected a registration before admission (entrance test failed, documents missing):
    the seat or subsidy goes back to the unit, which may use it again."""

    enrolment_id = UUID(required=True)
    revision = Revision(required=True)
    campaign_id = UUID(required=True)
    kind = Kind(required=True)
    unit_id = Code(required=True)
    institution_id = Code(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(("entrance_test_failed", "documents_missing")))
    note = Text()
    rejected_on = Date(required=True)


@event("enrollment.transferred", 1, PRODUCER)
class EnrollmentTransferred(Schema):
    """A transfer of institution (or a change of major within one): the new programme's fees apply."""

    enrolment_id = UUID(required=True)
    revision = Revision(required=True)
    campaign_id = UUID(required=True)
    kind = Kind(required=True)
    unit_id = Code(required=True)
    from_institution_id = Code(required=True)
    to_institution_id = Code(required=True)
    from_programme_id = Code(required=True)
    to_programme_id = Code(required=True)
    fees = Part(FeeLines, required=True)
    reason = Text(required=True)
    transferred_on = Date(required=True)
    amount = Amount()  # added in place (skills): the federation subsidy quota now holds for the enrolment

    @validates_schema
    def _changes_something(self, data, **kwargs):
        if (data["from_institution_id"], data["from_programme_id"]) == (
            data["to_institution_id"],
            data["to_programme_id"],
        ):
            raise ValidationError("A transfer must change the institution or the programme.", "to_programme_id")


@event("class.opened", 1, PRODUCER)
class ClassOpened(Schema):
    class_id = UUID(required=True)
    campaign_id = UUID(required=True)
    institution_id = Code(required=True)
    programme_id = Code(required=True)
    dedicated = Bool(required=True)  # False: the students joined a class of public students
    opens_on = Date(required=True)
    student_count = Int(required=True, validate=validate.Range(min=1))
    roster_submitted_on = Date()  # lets evaluation judge whether the roster came in time


class CalendarDay(Schema):
    day = Date(required=True)
    workday = Bool(required=True)  # a public holiday on a weekday (False) or a make-up working day (True)
    name = Text(100, required=True)


@event("calendar.loaded", 1, PRODUCER)
class CalendarLoaded(Schema):
    """The federation loaded (replaced) a year's working-day calendar: its exceptions to the weekdays. Every
    service that counts working days counts on it; `loaded_at` orders loads of one year (the latest wins)."""

    year = Int(required=True, validate=validate.Range(min=2000, max=2100))
    loaded_at = Timestamp(required=True)
    days = fields.List(Part(CalendarDay), required=True, validate=validate.Length(max=366))

    @validates_schema
    def _days_of_the_year(self, data, **kwargs):
        wrong = [d["day"].isoformat() for d in data.get("days", []) if d["day"].year != data["year"]]
        if wrong:
            raise ValidationError({"days": [f"Not in {data['year']}: {', '.join(wrong)}."]})


@event("employee.corrected", 1, PRODUCER)
class EmployeeCorrected(Schema):
    """An employee's name corrected at their request (PIPL art. 46): services showing it update their copy,
    which is only ever the masked form."""

    employee_id = Code(required=True)
    holder_name_masked = MaskedName(required=True)


@event("employee.anonymised", 1, PRODUCER)
class EmployeeAnonymised(Schema):
    """An employee's personal data anonymised after the retention period (PIPL): their pseudonymous id is
    replaced by one that links to no one; services re-key their rows and drop what identifies the person."""

    employee_id = Code(required=True)
    anonymised_id = Code(required=True)
