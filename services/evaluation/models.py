"""The evaluation service's tables (its own database; no other service reads it).

Read models (campaigns ... fund transfers) are filled only from other services' events.
"""

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
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.audit import add_audit_table
from servicekit.bus.tables import add_messaging_tables
from servicekit.idempotency import add_idempotency_table
from servicekit.paging import keyset_indexes

ID = String(36)
CODE = String(64)
MONEY = Numeric(14, 2)


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)
audit_entries = add_audit_table(Base.metadata)


# --- read models -------------------------------------------------------------------------------


class Campaign(Base):
    __tablename__ = "campaigns"
    campaign_id: Mapped[str] = mapped_column(ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    year: Mapped[int] = mapped_column(Integer)
    exams_from: Mapped[date] = mapped_column(Date)
    roster_lead_working_days: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # campaign.closed: read-only


class CalendarYear(Base):
    """A working-day calendar year the federation loaded in enrollment (calendar.loaded; the latest load wins):
    its exceptions to the weekdays, {"YYYY-MM-DD": workday}. Years not loaded follow the official calendar."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    loaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    days: Mapped[dict] = mapped_column(JSON)


class Institution(Base):
    __tablename__ = "institutions"
    institution_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))


class Programme(Base):
    __tablename__ = "programmes"
    programme_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(CODE)
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    major: Mapped[str | None] = mapped_column(String(100))
    trade: Mapped[str | None] = mapped_column(String(100))
    start_date: Mapped[date] = mapped_column(Date)


class Enrolment(Base):
    """Facts an event did not carry (a withdrawal seen before the registration) stay NULL until known."""

    __tablename__ = "enrolments"
    enrolment_id: Mapped[str] = mapped_column(ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[str] = mapped_column(CODE, index=True)  # the first-level unit
    # The nominating union: its officer sees its employees' results and certificates (NULL: not announced yet).
    grassroots_union_id: Mapped[str | None] = mapped_column(CODE, index=True)
    institution_id: Mapped[str] = mapped_column(CODE, index=True)
    status: Mapped[str] = mapped_column(String(12))  # registered | admitted | withdrawn
    programme_id: Mapped[str | None] = mapped_column(CODE)
    trade: Mapped[str | None] = mapped_column(String(100))
    employee_id: Mapped[str | None] = mapped_column(CODE, index=True)
    holder_name_masked: Mapped[str | None] = mapped_column(String(30))  # e.g. 张*明: all public verification shows


class ClassOpening(Base):
    __tablename__ = "classes"
    class_id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ID)
    institution_id: Mapped[str] = mapped_column(CODE, index=True)
    programme_id: Mapped[str] = mapped_column(CODE)
    dedicated: Mapped[bool] = mapped_column(Boolean)
    opens_on: Mapped[date] = mapped_column(Date)
    student_count: Mapped[int] = mapped_column(Integer)
    roster_submitted_on: Mapped[date | None] = mapped_column(Date)


class Payment(Base):
    __tablename__ = "payments"
    payment_id: Mapped[str] = mapped_column(ID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ID, index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10))


class Reimbursement(Base):
    __tablename__ = "reimbursements"
    reimbursement_id: Mapped[str] = mapped_column(ID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ID, index=True)
    campaign_id: Mapped[str] = mapped_column(ID)
    share: Mapped[str] = mapped_column(String(12))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)


class FundTransfer(Base):
    __tablename__ = "fund_transfers"
    transfer_id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ID, index=True)
    unit_id: Mapped[str] = mapped_column(CODE)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    transferred_on: Mapped[date] = mapped_column(Date)  # or the day it was reclaimed
    # to_unit (funds.transferred) or reclaimed (funds.reclaimed: back to the federation's pool)
    direction: Mapped[str] = mapped_column(String(10), default="to_unit", server_default="to_unit")


# --- exam results and certificates -------------------------------------------------------------


class ExamResult(Base):
    """One attempt at one exam; a retake is a new row with the next attempt number."""

    __tablename__ = "exam_results"
    result_id: Mapped[str] = mapped_column(ID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ID, ForeignKey("enrolments.enrolment_id"))  # both uniques lead
    institution_id: Mapped[str] = mapped_column(CODE)
    exam: Mapped[str] = mapped_column(String(200))
    held_on: Mapped[date] = mapped_column(Date)
    score: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    passed: Mapped[bool] = mapped_column(Boolean)
    attempt: Mapped[int] = mapped_column(Integer)
    retake: Mapped[str | None] = mapped_column(String(20))  # free_later_class | course_retake, after a fail
    batch_key: Mapped[str] = mapped_column(String(255))  # the Idempotency-Key it was sent with
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("enrolment_id", "exam", "attempt", name="uq_exam_results_attempt"),
        UniqueConstraint("enrolment_id", "exam", "held_on", name="uq_exam_results_sitting"),
        CheckConstraint("attempt >= 1", name="ck_exam_results_attempt"),
    )


class Certificate(Base):
    __tablename__ = "certificates"
    certificate_id: Mapped[str] = mapped_column(ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(CODE)
    number: Mapped[str] = mapped_column(String(64))
    enrolment_id: Mapped[str] = mapped_column(ID, ForeignKey("enrolments.enrolment_id"))
    kind: Mapped[str] = mapped_column(String(10))
    issued_on: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(200))
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revocation_reason: Mapped[str | None] = mapped_column(String(500))
    revoked_by: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        UniqueConstraint("institution_id", "number", name="uq_certificates_number"),
        # At most one certificate in force per enrolment.
        Index(
            "uq_certificates_valid_enrolment",
            "enrolment_id",
            unique=True,
            postgresql_where=text("revoked_on IS NULL"),
            sqlite_where=text("revoked_on IS NULL"),
        ),
    )


# --- anonymous surveys (see surveys.py for why these tables are shaped so) -------------------------


class Survey(Base):
    """One survey per campaign and institution, with its own RSA key for blind signatures (RFC 9474)."""

    __tablename__ = "surveys"
    survey_id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ID)
    institution_id: Mapped[str] = mapped_column(CODE)
    closes_on: Mapped[date] = mapped_column(Date)
    public_key_pem: Mapped[str] = mapped_column(Text)  # SubjectPublicKeyInfo: published
    # PKCS#8, encrypted under SURVEY_KEY_ENCRYPTION_KEY; never leaves the service
    private_key_pem: Mapped[str] = mapped_column(Text)
    opened_by: Mapped[str] = mapped_column(String(200))
    __table_args__ = (UniqueConstraint("campaign_id", "institution_id", name="uq_surveys_campaign_institution"),)


class SurveyTokenIssued(Base):
    """Who has had their one blind signature: no time, and nothing that could be matched to a token."""

    __tablename__ = "survey_tokens_issued"
    survey_id: Mapped[str] = mapped_column(ID, ForeignKey("surveys.survey_id"), primary_key=True)
    employee_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    # The blinded value is uniformly random whatever the token: kept only to answer a lost reply again.
    blinded_sha256: Mapped[str] = mapped_column(String(64))


class SurveyAnswer(Base):
    """An answer, keyed by the hash of its one-time token: no student, no serial id, the day only."""

    __tablename__ = "survey_answers"
    survey_id: Mapped[str] = mapped_column(ID, ForeignKey("surveys.survey_id"), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    teaching: Mapped[int] = mapped_column(Integer)
    service: Mapped[int] = mapped_column(Integer)
    organisation: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date] = mapped_column(Date)
    __table_args__ = tuple(
        CheckConstraint(f"{q} BETWEEN 1 AND 5", name=f"ck_survey_answers_{q}")
        for q in ("teaching", "service", "organisation")
    )


# --- inspections, scores, sanctions ------------------------------------------------------------


class Inspection(Base):
    """An on-site inspection (实地考察评估): scores 0-100 per criterion the inspector names."""

    __tablename__ = "inspections"
    inspection_id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ID)
    institution_id: Mapped[str] = mapped_column(CODE)
    inspector: Mapped[str] = mapped_column(String(200))
    inspected_on: Mapped[date] = mapped_column(Date)
    scores: Mapped[dict] = mapped_column(JSON)
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_inspections_campaign_institution", "campaign_id", "institution_id"),)


class ScoringSettings(Base):
    """The weights of the criteria and the notice threshold; one row, absent until the federation edits it."""

    __tablename__ = "scoring_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    weights: Mapped[dict] = mapped_column(JSON)  # criterion -> "0.25"
    notice_threshold: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("id = 1", name="ck_scoring_settings_single_row"),)


class InstitutionEvaluation(Base):
    """A score computed and kept, with the figures it came from, when the federation evaluates an institution."""

    __tablename__ = "institution_evaluations"
    evaluation_id: Mapped[str] = mapped_column(ID, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ID)
    institution_id: Mapped[str] = mapped_column(CODE)
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    report: Mapped[dict] = mapped_column(JSON)
    evaluated_by: Mapped[str] = mapped_column(String(200))
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InstitutionStanding(Base):
    """Whether an institution may take new registrations; `revision` orders every decision on it."""

    __tablename__ = "institution_standings"
    institution_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    disqualified: Mapped[bool] = mapped_column(Boolean)


class Decision(Base):
    """The audit trail of notices, disqualifications and reinstatements."""

    __tablename__ = "institution_decisions"
    institution_id: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(14))  # notified | disqualified | reinstated
    campaign_id: Mapped[str | None] = mapped_column(ID)
    reason: Mapped[str] = mapped_column(String(500))
    decided_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Notice(Base):
    """A notice (通报) given to an institution (its `notified` decision) and its rectification (整改): the date the
    federation wants the institution's report by, the report (the latest; `report_revision` counts them), and the
    federation's verdict on it. Each step is also in the audit trail (who, when, old, new, why)."""

    __tablename__ = "notices"
    notice_id: Mapped[str] = mapped_column(ID, primary_key=True)
    institution_id: Mapped[str] = mapped_column(CODE)  # uq_notices_decision leads with it
    revision: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[str | None] = mapped_column(ID, index=True)
    reason: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    respond_by: Mapped[date | None] = mapped_column(Date)  # NULL: notices given before rectification deadlines
    report: Mapped[str | None] = mapped_column(Text)
    report_revision: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    reported_by: Mapped[str | None] = mapped_column(String(200))
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verdict: Mapped[str | None] = mapped_column(String(14))  # accepted | not_accepted, on the latest report
    verdict_reason: Mapped[str | None] = mapped_column(String(500))
    verdict_by: Mapped[str | None] = mapped_column(String(200))
    verdict_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        ForeignKeyConstraint(
            ["institution_id", "revision"], ["institution_decisions.institution_id", "institution_decisions.revision"]
        ),
        UniqueConstraint("institution_id", "revision", name="uq_notices_decision"),
        CheckConstraint("verdict IN ('accepted', 'not_accepted')", name="ck_notices_verdict"),
        CheckConstraint("verdict IS NULL OR report IS NOT NULL", name="ck_notices_verdict_on_a_report"),
        CheckConstraint("(report IS NULL) = (report_revision = 0)", name="ck_notices_report_revision"),
    )


def as_dict(row: Base) -> dict:
    """A row's columns as a plain dict, still readable after its session has closed."""
    return {column.key: getattr(row, column.key) for column in row.__table__.columns}


# Keyset paging (servicekit.paging): an index per list sort key, (key, id); migration 0008_list_indexes.py makes them.
keyset_indexes(
    Base.metadata,
    (
        ("certificates", ("issued_on", "certificate_id")),
        ("certificates", ("number", "certificate_id")),
        ("exam_results", ("exam", "result_id")),
        ("exam_results", ("held_on", "result_id")),
        ("exam_results", ("recorded_at", "result_id")),
        ("inspections", ("inspected_on", "inspection_id")),
        ("notices", ("issued_at", "notice_id")),
        ("surveys", ("closes_on", "survey_id")),
    ),
)
