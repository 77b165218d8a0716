"""The enrollment service's tables (its own database; no other service reads it)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from servicekit.audit import add_audit_table
from servicekit.bus.tables import add_messaging_tables
from servicekit.encrypted import EncryptedPersonalData, EncryptedResidentId
from servicekit.paging import keyset_indexes
from servicekit.sagas import add_saga_table

from .domain.enrolment import INACTIVE
from .domain.status_changes import UNFINISHED

MONEY = Numeric(14, 2)
FEE_LINES = ("tuition_or_training", "appraisal_exam", "textbook", "registration", "entrance_test")


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
saga_waits = add_saga_table(Base.metadata)
audit_entries = add_audit_table(Base.metadata)


class Institution(Base):
    __tablename__ = "institutions"
    institution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    revision: Mapped[int] = mapped_column(Integer)


class InstitutionStanding(Base):
    """Evaluation's latest decision on an institution (kept apart: it may arrive before the institution)."""

    __tablename__ = "institution_standings"
    institution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    disqualified: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)


class InstitutionNotice(Base):
    """A notice (通报) the federation gave an institution after its evaluation, as evaluation announced it."""

    __tablename__ = "institution_notices"
    institution_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)  # of the institution's standing decisions
    campaign_id: Mapped[str] = mapped_column(String(36), index=True)
    reason: Mapped[str] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Programme(Base):
    __tablename__ = "programmes"
    __table_args__ = (
        CheckConstraint("kind IN ('academic', 'skills')", name="ck_programme_kind"),
        CheckConstraint("status IN ('draft', 'published')", name="ck_programme_status"),
        *(CheckConstraint(f"fee_{line} >= 0", name=f"ck_programme_fee_{line}") for line in FEE_LINES),
    )
    programme_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.institution_id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    major: Mapped[str | None] = mapped_column(String(100))
    trade: Mapped[str | None] = mapped_column(String(100))
    teaching_sites: Mapped[list] = mapped_column(JSON)
    start_date: Mapped[date] = mapped_column(Date)
    on_site_teaching: Mapped[bool] = mapped_column(Boolean)
    fee_tuition_or_training: Mapped[Decimal] = mapped_column(MONEY)
    fee_appraisal_exam: Mapped[Decimal] = mapped_column(MONEY)
    fee_textbook: Mapped[Decimal] = mapped_column(MONEY)
    fee_registration: Mapped[Decimal] = mapped_column(MONEY)
    fee_entrance_test: Mapped[Decimal] = mapped_column(MONEY)
    status: Mapped[str] = mapped_column(String(10))
    revision: Mapped[int] = mapped_column(Integer)

    def fees(self) -> dict[str, Decimal]:
        return {line: getattr(self, f"fee_{line}") for line in FEE_LINES}


class PlanProgramme(Base):
    """A unit's plan for a campaign: the programmes (and so institutions) it chose."""

    __tablename__ = "plan_programmes"
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.programme_id"), primary_key=True)


class Campaign(Base):
    """Read model of quota's campaign.published: what enrollment's rules need."""

    __tablename__ = "campaigns"
    campaign_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    year: Mapped[int] = mapped_column(Integer)
    registration_start: Mapped[date] = mapped_column(Date)
    registration_end: Mapped[date] = mapped_column(Date)
    study_start: Mapped[date | None] = mapped_column(Date)  # classes open within the study window
    # the end of the study window: personal data is kept a retention period after it (domain/retention.py);
    # entrance tests end by it and classes open by it
    study_end: Mapped[date | None] = mapped_column(Date)
    public_notice_days: Mapped[int] = mapped_column(Integer)
    dedicated_class_threshold: Mapped[int] = mapped_column(Integer)
    roster_lead_working_days: Mapped[int] = mapped_column(Integer)
    skills_federation_rate: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    skills_rate_overrides: Mapped[dict] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # campaign.closed: read-only


class Unit(Base):
    """Read model of quota's unit.upserted: first-level units and grassroots unions."""

    __tablename__ = "units"
    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="active")  # retired: takes no new nominations


class Employee(Base):
    """A nominated employee; `employee_id` is the opaque id events carry instead of personal data."""

    __tablename__ = "employees"
    employee_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # encrypted at rest (AES-256-GCM, RESIDENT_ID_ENCRYPTION_KEY); found by employee_id, its keyed pseudonym
    resident_id: Mapped[str] = mapped_column(EncryptedResidentId(), unique=True)
    # the last four characters in clear: what those who see the number search by (lists' q)
    resident_id_tail: Mapped[str | None] = mapped_column(String(4), index=True)
    name: Mapped[str] = mapped_column(String(50))  # in clear: lists search by it (q)
    phone: Mapped[str] = mapped_column(EncryptedPersonalData())  # encrypted at rest like the resident ID number
    # set when the retention period of every campaign they took part in was over (python -m ... anonymise)
    anonymised_on: Mapped[date | None] = mapped_column(Date)

    @validates("resident_id")
    def _keep_tail(self, _key: str, number: str) -> str:
        self.resident_id_tail = number[-4:]
        return number


class PersonalDataView(Base):
    """Every time a full resident ID number was shown: who, when, whose, and why (the route, and the caller's
    X-Purpose when given). Never updated nor deleted by any API."""

    __tablename__ = "personal_data_views"
    __table_args__ = (Index("ix_personal_data_views_employee", "employee_id", "at"),)
    view_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor_id: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(40))
    employee_id: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(100))


class CorrectionRequest(Base):
    """An employee's request to correct what is held about them (PIPL art. 46), and the decision on it.

    The nominating grassroots union (any that nominated them) or the federation decides, with a reason;
    an accepted one changes the record (name and phone: the employee's; schooling: their enrolments')."""

    __tablename__ = "correction_requests"
    __table_args__ = (
        Index(
            "ux_one_open_correction",
            "employee_id",
            "field",
            unique=True,
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
        CheckConstraint("field IN ('name', 'phone', 'education')", name="ck_correction_field"),
        CheckConstraint("state IN ('open', 'accepted', 'rejected')", name="ck_correction_state"),
    )
    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    requested_value: Mapped[str] = mapped_column(EncryptedPersonalData())  # a name or phone: encrypted at rest
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_role: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str | None] = mapped_column(Text)


INACTIVE_SQL = ", ".join(f"'{status}'" for status in INACTIVE)
UNFINISHED_SQL = ", ".join(f"'{state}'" for state in UNFINISHED)


class NominationList(Base):
    """A grassroots union's confirmed nominees, sent to the institutions by its first-level unit on one day."""

    __tablename__ = "nomination_lists"
    list_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.campaign_id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    grassroots_union_id: Mapped[str] = mapped_column(String(64), index=True)
    sent_on: Mapped[date] = mapped_column(Date)
    sent_by: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    nominees: Mapped[int] = mapped_column(Integer)


class Enrolment(Base):
    """One employee's path in one campaign, from nomination to admission."""

    __tablename__ = "enrolments"
    __table_args__ = (
        Index(
            "ux_one_active_enrolment",
            "campaign_id",
            "kind",
            "employee_id",
            unique=True,
            postgresql_where=text(f"status NOT IN ({INACTIVE_SQL})"),
            sqlite_where=text(f"status NOT IN ({INACTIVE_SQL})"),
        ),
        # counts by campaign and status read the index alone (migration 0023_enrolment_counts.py)
        Index("ix_enrolments_campaign_status", "campaign_id", "status"),
        CheckConstraint(
            "consent_method IS NULL OR consent_method IN ('employee', 'written')", name="ck_enrolment_consent_method"
        ),
    )
    enrolment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # its keyset index (status, enrolment_id) finds a status's
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.campaign_id"))
    kind: Mapped[str] = mapped_column(String(10))
    employee_id: Mapped[str] = mapped_column(ForeignKey("employees.employee_id"))
    unit_id: Mapped[str] = mapped_column(String(64), index=True)
    grassroots_union_id: Mapped[str] = mapped_column(String(64), index=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.institution_id"), index=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.programme_id"))
    education: Mapped[str] = mapped_column(String(50))
    attestation: Mapped[str] = mapped_column(Text)  # why the union finds them front-line/backbone
    nominated_by: Mapped[str] = mapped_column(String(200))
    # The name and phone this nomination gave. The employee's record is never overwritten by another
    # office's nomination: where these differ from it, they are a proposed change for review.
    nominated_name: Mapped[str | None] = mapped_column(EncryptedPersonalData())  # both encrypted at rest
    nominated_phone: Mapped[str | None] = mapped_column(EncryptedPersonalData())
    nominated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    notice_start: Mapped[date] = mapped_column(Date)
    notice_end: Mapped[date] = mapped_column(Date)
    consent_method: Mapped[str | None] = mapped_column(String(10))
    consent_on: Mapped[date | None] = mapped_column(Date)
    consent_recorded_by: Mapped[str | None] = mapped_column(String(200))
    # The democratic recommendation (民主推荐) that chose the nominee, held before the public notice
    recommended_on: Mapped[date | None] = mapped_column(Date)
    recommendation_method: Mapped[str | None] = mapped_column(String(20))
    voters: Mapped[int | None] = mapped_column(Integer)  # present at the meeting, where voted
    votes_for: Mapped[int | None] = mapped_column(Integer)
    votes_against: Mapped[int | None] = mapped_column(Integer)
    votes_abstained: Mapped[int | None] = mapped_column(Integer)
    confirmed_on: Mapped[date | None] = mapped_column(Date)  # the union confirmed it after the notice
    list_id: Mapped[str | None] = mapped_column(ForeignKey("nomination_lists.list_id"), index=True)
    sent_on: Mapped[date | None] = mapped_column(Date)
    requested_on: Mapped[date | None] = mapped_column(Date)
    fees: Mapped[dict | None] = mapped_column(JSON)  # the fee standard applied, fixed when registration is asked
    subsidy_requested: Mapped[Decimal | None] = mapped_column(MONEY)
    registered_on: Mapped[date | None] = mapped_column(Date)
    refusal_reason: Mapped[str | None] = mapped_column(String(50))
    refusal_detail: Mapped[str | None] = mapped_column(Text)
    entrance_test_on: Mapped[date | None] = mapped_column(Date)
    entrance_test_score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    entrance_test_passed: Mapped[bool | None] = mapped_column(Boolean)
    admitted_on: Mapped[date | None] = mapped_column(Date)
    payment_status: Mapped[str | None] = mapped_column(String(10))
    class_id: Mapped[str | None] = mapped_column(ForeignKey("classes.class_id"), index=True)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    # Skills, failed the exam: waits for a later class of the same programme, training fee not charged again.
    retaking: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class Objection(Base):
    __tablename__ = "objections"
    __table_args__ = (
        CheckConstraint("outcome IS NULL OR outcome IN ('upheld', 'dismissed')", name="ck_objection_outcome"),
    )
    objection_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), index=True)
    raised_on: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    # Who objected (identified): seen only by the nominee's union and the federation
    objector_name: Mapped[str | None] = mapped_column(String(50))
    objector_employee_id: Mapped[str | None] = mapped_column(String(64))  # an employee who objected themself
    outcome: Mapped[str | None] = mapped_column(String(10))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)


class Payment(Base):
    """Finance's payment.recorded; the latest recorded one gives the enrolment's payment status."""

    __tablename__ = "payments"
    payment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(String(36), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CalendarDay(Base):
    """A year loaded by the federation: its public holidays on weekdays and make-up working days at weekends."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    workday: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str] = mapped_column(String(100))


class CalendarYear(Base):
    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaded_by: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TrainingClass(Base):
    """A class (开班) of one programme at one institution: dedicated (>threshold) or joining public students."""

    __tablename__ = "classes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('forming', 'submitted', 'returned', 'approved', 'published', 'opened')", name="ck_class_status"
        ),
        CheckConstraint("dedicated OR public_class_name IS NOT NULL", name="ck_class_joins_public_class"),
    )
    class_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.campaign_id"))
    institution_id: Mapped[str] = mapped_column(ForeignKey("institutions.institution_id"), index=True)
    programme_id: Mapped[str] = mapped_column(ForeignKey("programmes.programme_id"))
    dedicated: Mapped[bool] = mapped_column(Boolean)
    public_class_name: Mapped[str | None] = mapped_column(String(200))
    opens_on: Mapped[date] = mapped_column(Date)
    on_site: Mapped[bool] = mapped_column(Boolean)  # 上门办学 / 送教上门
    site: Mapped[str] = mapped_column(String(200))
    head_teacher: Mapped[str | None] = mapped_column(String(50))
    learning_assistant: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(10))
    roster_submitted_on: Mapped[date | None] = mapped_column(Date)
    review_comments: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    published_on: Mapped[date | None] = mapped_column(Date)
    opened_on: Mapped[date | None] = mapped_column(Date)


class Lesson(Base):
    """A lesson of a class's timetable (课表): when (China time: a start and an end on one day), where, the course
    and who teaches it. Weekends are normal (the students work on weekdays). A cancelled lesson stays, with why.
    Two lessons of a class never overlap: the class row is locked while its timetable changes, a class cannot have
    two lessons starting together (ux_lesson_class_start), and on PostgreSQL an exclusion constraint
    (ex_lesson_no_overlap, migration enrollment_0022) refuses any overlap of the lessons not cancelled."""

    __tablename__ = "lessons"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ck_lesson_ends_after_start"),
        CheckConstraint("(cancelled_on IS NULL) = (cancel_reason IS NULL)", name="ck_lesson_cancelled"),
        Index(
            "ux_lesson_class_start",
            "class_id",
            "starts_at",
            unique=True,
            postgresql_where=text("cancelled_on IS NULL"),
            sqlite_where=text("cancelled_on IS NULL"),
        ),
    )
    lesson_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.class_id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime)  # China time, no zone: the day and the hour people read
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    place: Mapped[str] = mapped_column(String(200))
    course: Mapped[str] = mapped_column(String(200))
    teacher: Mapped[str] = mapped_column(String(50))
    cancelled_on: Mapped[date | None] = mapped_column(Date)
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class AttendanceSummary(Base):
    """The institution's summary of a student's attendance (hours planned and attended), the latest report."""

    __tablename__ = "attendance_summaries"
    __table_args__ = (
        CheckConstraint("hours_attended >= 0 AND hours_attended <= hours_planned", name="ck_attendance_hours"),
    )
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), primary_key=True)
    hours_planned: Mapped[int] = mapped_column(Integer)
    hours_attended: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    reported_on: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(200))


class ClassPlacement(Base):
    """Every class an enrolment was placed in, and why it left one: a retake, a transfer, a withdrawal or a move
    to another class of the programme before the rosters were submitted."""

    __tablename__ = "class_placements"
    __table_args__ = (
        Index(
            "ux_one_current_class",
            "enrolment_id",
            unique=True,
            postgresql_where=text("left_on IS NULL"),
            sqlite_where=text("left_on IS NULL"),
        ),
        CheckConstraint("(left_on IS NULL) = (ended_by IS NULL)", name="ck_class_placement_ended"),
        CheckConstraint(
            "ended_by IS NULL OR ended_by IN ('retake', 'transfer', 'withdrawal', 'moved')",
            name="ck_class_placement_ended_by",
        ),
    )
    placement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), index=True)
    class_id: Mapped[str] = mapped_column(ForeignKey("classes.class_id"))
    placed_on: Mapped[date] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    ended_by: Mapped[str | None] = mapped_column(String(20))


class StatusChange(Base):
    """A requested withdrawal, transfer or change of major, and the decisions on it."""

    __tablename__ = "status_changes"
    __table_args__ = (
        Index(
            "ux_one_open_status_change",
            "enrolment_id",
            unique=True,
            postgresql_where=text(f"state IN ({UNFINISHED_SQL})"),
            sqlite_where=text(f"state IN ({UNFINISHED_SQL})"),
        ),
        CheckConstraint("kind IN ('withdrawal', 'transfer', 'major_change')", name="ck_status_change_kind"),
        CheckConstraint("kind = 'withdrawal' OR to_programme_id IS NOT NULL", name="ck_status_change_target"),
    )
    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date] = mapped_column(Date)
    to_programme_id: Mapped[str | None] = mapped_column(ForeignKey("programmes.programme_id"))
    state: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unit_decision_by: Mapped[str | None] = mapped_column(String(200))
    federation_decision_by: Mapped[str | None] = mapped_column(String(200))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    # A skills transfer whose subsidy differs: the amount asked of quota and the request's revision it answers.
    subsidy_requested: Mapped[Decimal | None] = mapped_column(MONEY)
    quota_revision: Mapped[int | None] = mapped_column(Integer)
    refusal_reason: Mapped[str | None] = mapped_column(String(50))
    refusal_detail: Mapped[str | None] = mapped_column(Text)


class ExamResult(Base):
    """Evaluation's exam.result_recorded: one attempt at one exam (retakes are further rows)."""

    __tablename__ = "exam_results"
    result_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(String(36), index=True)
    exam: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    score: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    passed: Mapped[bool] = mapped_column(Boolean)
    attempt: Mapped[int] = mapped_column(Integer)


class Certificate(Base):
    """Evaluation's certificate.issued / certificate.revoked (revision orders them)."""

    __tablename__ = "certificates"
    certificate_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    enrolment_id: Mapped[str] = mapped_column(String(36), index=True)
    number: Mapped[str] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    revoked_on: Mapped[date | None] = mapped_column(Date)


class Reimbursement(Base):
    """Finance's reimbursement.paid: a share paid by the unit's union to the student."""

    __tablename__ = "reimbursements"
    reimbursement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(String(36), index=True)
    share: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)


class Breakdown(Base):
    """Finance's breakdown.settled: an enrolment's fee shares as they now stand (cancelled: nothing payable)."""

    __tablename__ = "breakdowns"
    enrolment_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))
    total: Mapped[Decimal] = mapped_column(MONEY)
    federation: Mapped[Decimal] = mapped_column(MONEY)
    unit: Mapped[Decimal] = mapped_column(MONEY)
    employee: Mapped[Decimal] = mapped_column(MONEY)


class Recovery(Base):
    """Finance's reimbursement.recovered: a paid share paid back after its certificate was revoked."""

    __tablename__ = "recoveries"
    reimbursement_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(String(36), index=True)
    share: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    recovered_on: Mapped[date] = mapped_column(Date)


# Keyset paging (servicekit.paging): an index per list sort key, (key, id); migration 0010_list_indexes.py makes them.
keyset_indexes(
    Base.metadata,
    (
        ("classes", ("opens_on", "class_id")),
        ("classes", ("status", "class_id")),
        ("enrolments", ("nominated_at", "enrolment_id")),
        ("enrolments", ("notice_end", "enrolment_id")),
        ("enrolments", ("status", "enrolment_id")),
        ("institution_notices", ("decided_at", "institution_id", "revision")),
        ("institutions", ("name", "institution_id")),
        ("programmes", ("name", "programme_id")),
        ("programmes", ("start_date", "programme_id")),
        ("status_changes", ("requested_at", "change_id")),
        ("correction_requests", ("requested_at", "request_id")),
        ("saga_waits", ("waiting_since", "saga", "item_id")),
        ("nomination_lists", ("sent_on", "list_id")),  # migration 0015_recommendation_lists.py
    ),
)
