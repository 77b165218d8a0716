"""The finance service's tables (its own database; no other service reads it).

Read models (campaigns, units, allocations, programmes, enrolments,
certificates) are filled only from events and keep the aggregate's revision
so that a stale event is ignored. Money is Numeric(14, 2): exact to the fen.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.audit import add_audit_table
from servicekit.bus.tables import SEQUENCE, add_messaging_tables
from servicekit.idempotency import add_idempotency_table
from servicekit.paging import keyset_indexes
from servicekit.sagas import add_saga_table

MONEY = Numeric(14, 2)
RATE = Numeric(6, 4)
ID = String(64)
UUID = String(36)


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
idempotency_keys = add_idempotency_table(Base.metadata)
saga_waits = add_saga_table(Base.metadata)
audit_entries = add_audit_table(Base.metadata)


class Campaign(Base):
    __tablename__ = "campaigns"
    campaign_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    year: Mapped[int] = mapped_column(Integer)
    academic_fund: Mapped[Decimal] = mapped_column(MONEY)
    skills_fund: Mapped[Decimal] = mapped_column(MONEY)
    academic_subsidy: Mapped[Decimal] = mapped_column(MONEY)
    skills_federation_rate: Mapped[Decimal] = mapped_column(RATE)
    skills_rate_overrides: Mapped[dict] = mapped_column(JSON)  # trade -> rate as a string
    # earmarked funds are transferred to units by this day; None when quota's event did not say (older events)
    transfer_deadline: Mapped[date | None] = mapped_column(Date)
    transfer_warning_days: Mapped[int | None] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # campaign.closed: read-only


class Unit(Base):
    __tablename__ = "units"
    unit_id: Mapped[str] = mapped_column(ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(ID)


class Allocation(Base):
    __tablename__ = "allocations"
    allocation_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    unit_id: Mapped[str] = mapped_column(ID, primary_key=True)  # one row per unit line of the allocation
    revision: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[str] = mapped_column(UUID, index=True)
    academic_seats: Mapped[int] = mapped_column(Integer)
    skills_money: Mapped[Decimal] = mapped_column(MONEY)


class Programme(Base):
    __tablename__ = "programmes"
    programme_id: Mapped[str] = mapped_column(ID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(ID)
    kind: Mapped[str] = mapped_column(String(10))
    level: Mapped[str] = mapped_column(String(20))
    major: Mapped[str | None] = mapped_column(String(100))
    trade: Mapped[str | None] = mapped_column(String(100))


class Enrolment(Base):
    __tablename__ = "enrolments"
    enrolment_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    campaign_id: Mapped[str] = mapped_column(UUID, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[str] = mapped_column(ID, index=True)
    institution_id: Mapped[str] = mapped_column(ID, index=True)
    # Unknown when a withdrawal arrived before the registration (which is then stale and ignored).
    grassroots_union_id: Mapped[str | None] = mapped_column(ID)
    programme_id: Mapped[str | None] = mapped_column(ID)
    trade: Mapped[str | None] = mapped_column(String(100))
    employee_id: Mapped[str | None] = mapped_column(ID, index=True)
    status: Mapped[str] = mapped_column(String(20))  # registered / admitted / withdrawn
    status_on: Mapped[date] = mapped_column(Date)
    admitted_on: Mapped[date | None] = mapped_column(Date)  # stays after a withdrawal (which refund rule applies)


class Certificate(Base):
    __tablename__ = "certificates"
    certificate_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    enrolment_id: Mapped[str] = mapped_column(UUID, index=True)
    number: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # issued / revoked
    status_on: Mapped[date] = mapped_column(Date)


class UnitPolicyRow(Base):
    """A unit's cost-sharing policy; absent means the defaults of rules.UnitPolicy."""

    __tablename__ = "unit_policies"
    unit_id: Mapped[str] = mapped_column(ID, primary_key=True)
    academic_mode: Mapped[str] = mapped_column(String(12))
    academic_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    skills_unit_rate: Mapped[Decimal] = mapped_column(RATE)
    unit_share_timing: Mapped[str] = mapped_column(String(20))
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Breakdown(Base):
    """The fee breakdown of one enrolment: totals here, lines in breakdown_lines."""

    __tablename__ = "breakdowns"
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)  # +1 per change, announced by breakdown.settled
    status: Mapped[str] = mapped_column(String(12))  # active / cancelled
    total: Mapped[Decimal] = mapped_column(MONEY)
    federation: Mapped[Decimal] = mapped_column(MONEY)
    unit: Mapped[Decimal] = mapped_column(MONEY)
    employee: Mapped[Decimal] = mapped_column(MONEY)
    paid: Mapped[Decimal] = mapped_column(MONEY)  # what the employee paid the institution so far
    payment_status: Mapped[str] = mapped_column(String(10))  # unpaid / partial / full / over
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("federation + unit + employee = total", name="ck_breakdown_shares_sum"),
        CheckConstraint("paid >= 0", name="ck_breakdown_paid"),
    )


class BreakdownLine(Base):
    __tablename__ = "breakdown_lines"
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("breakdowns.enrolment_id"), primary_key=True)
    line: Mapped[str] = mapped_column(String(30), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    federation: Mapped[Decimal] = mapped_column(MONEY)
    unit: Mapped[Decimal] = mapped_column(MONEY)
    employee: Mapped[Decimal] = mapped_column(MONEY)
    __table_args__ = (
        CheckConstraint("federation + unit + employee = amount", name="ck_line_shares_sum"),
        CheckConstraint("federation >= 0 AND unit >= 0 AND employee >= 0", name="ck_line_shares_non_negative"),
    )


class Charge(Base):
    """An extra fee the employee alone pays (re-exam, retake, practice), recorded by the institution."""

    __tablename__ = "charges"
    charge_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"))  # uq_charge_reference leads
    line: Mapped[str] = mapped_column(String(30))  # re_exam / retake / practice
    amount: Mapped[Decimal] = mapped_column(MONEY)
    charged_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("enrolment_id", "reference", name="uq_charge_reference"),
        CheckConstraint("amount > 0", name="ck_charge_amount"),
    )


class RateRaise(Base):
    """The federation raising its skills rate for one trade within the skills surplus (audited)."""

    __tablename__ = "rate_raises"
    raise_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    campaign_id: Mapped[str] = mapped_column(UUID, index=True)
    trade: Mapped[str] = mapped_column(String(100))
    rate_before: Mapped[Decimal] = mapped_column(RATE)
    rate_after: Mapped[Decimal] = mapped_column(RATE)
    extra_cost: Mapped[Decimal] = mapped_column(MONEY)  # federation shares added to enrolments already settled
    enrolments: Mapped[int] = mapped_column(Integer)  # breakdowns recomputed
    surplus_before: Mapped[Decimal] = mapped_column(MONEY)
    surplus_after: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(String(500))
    raised_by: Mapped[str] = mapped_column(String(100))
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("rate_after > rate_before AND rate_after <= 1", name="ck_raise_rate"),
        CheckConstraint(
            "surplus_after = surplus_before - extra_cost AND surplus_after >= 0", name="ck_raise_within_surplus"
        ),
    )


class Payment(Base):
    __tablename__ = "payments"
    payment_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))  # full / partial / over, after this payment
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("amount > 0", name="ck_payment_amount"),)


class Transfer(Base):
    """Federation money moved into a unit's earmarked account (or returned from it: direction)."""

    __tablename__ = "transfers"
    transfer_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    # to_unit / returned / reclaimed / closed_out (a unit's free balance back to the pool when the campaign closed)
    direction: Mapped[str] = mapped_column(String(10))
    campaign_id: Mapped[str] = mapped_column(UUID, index=True)
    unit_id: Mapped[str] = mapped_column(ID, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    transferred_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("amount > 0", name="ck_transfer_amount"),)


class Reimbursement(Base):
    """A share owed to a student: the federation's (from the earmarked account) or the unit's own.

    One row per enrolment and share, so a certificate delivered twice owes once.
    """

    __tablename__ = "reimbursements"
    reimbursement_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"))
    share: Mapped[str] = mapped_column(String(10))  # federation / unit
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # awaiting_funds (earmarked balance short) / payable / paid / cancelled / recovered (paid, then
    # the certificate was revoked and the money came back)
    status: Mapped[str] = mapped_column(String(16))
    certificate_id: Mapped[str | None] = mapped_column(UUID)
    certificate_revoked: Mapped[bool] = mapped_column(default=False)  # revoked after payment: to recover
    paid_on: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100))
    bank_name: Mapped[str | None] = mapped_column(String(100))
    bank_account: Mapped[str | None] = mapped_column(String(40))  # personal data: masked when shown
    paid_by: Mapped[str | None] = mapped_column(String(100))
    payment_cause: Mapped[str | None] = mapped_column(String(120))  # the paying request
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("enrolment_id", "share", name="uq_reimbursement_share"),
        CheckConstraint("amount > 0", name="ck_reimbursement_amount"),
    )


class Recovery(Base):
    """Money a student paid back after their certificate was revoked; once per share and certificate."""

    __tablename__ = "recoveries"
    recovery_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    reimbursement_id: Mapped[str] = mapped_column(ForeignKey("reimbursements.reimbursement_id"))  # uq_recovery_once
    certificate_id: Mapped[str | None] = mapped_column(UUID)  # the revoked certificate
    amount: Mapped[Decimal] = mapped_column(MONEY)
    recovered_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        UniqueConstraint("reimbursement_id", "certificate_id", name="uq_recovery_once"),
        CheckConstraint("amount > 0", name="ck_recovery_amount"),
    )


class RefundPolicyRow(Base):
    """The federation's refund rule of a campaign (absent: rules.RefundPolicy's defaults): per stage, the
    fraction of each line refunded, as strings ("1", "0.5")."""

    __tablename__ = "refund_policies"
    campaign_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    fractions: Mapped[dict] = mapped_column(JSON)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Refund(Base):
    """What the institution paid back after a withdrawal, once per enrolment, and where it went: the federation's
    earmarked account (its share reimbursed beyond what is still due), the unit, the employee."""

    __tablename__ = "refunds"
    refund_id: Mapped[str] = mapped_column(UUID, primary_key=True)
    enrolment_id: Mapped[str] = mapped_column(ForeignKey("enrolments.enrolment_id"), unique=True)
    cause: Mapped[str] = mapped_column(String(120), unique=True)
    stage: Mapped[str] = mapped_column(String(20))  # before_admission / after_admission
    exam_taken: Mapped[bool] = mapped_column()
    textbooks_issued: Mapped[bool] = mapped_column()
    refunded: Mapped[Decimal] = mapped_column(MONEY)  # paid back by the institution
    to_federation: Mapped[Decimal] = mapped_column(MONEY)
    to_unit: Mapped[Decimal] = mapped_column(MONEY)
    to_employee: Mapped[Decimal] = mapped_column(MONEY)
    left_to_recover: Mapped[Decimal] = mapped_column(MONEY)  # reimbursed beyond the shares, beyond the refund
    lines: Mapped[list] = mapped_column(JSON)  # per line: amount refunded and each payer's part, as strings
    refunded_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(100))
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint("to_federation + to_unit + to_employee = refunded", name="ck_refund_destinations_sum"),
        CheckConstraint(
            "refunded >= 0 AND to_federation >= 0 AND to_unit >= 0 AND to_employee >= 0 AND left_to_recover >= 0",
            name="ck_refund_not_negative",
        ),
    )


# Accounts whose balance must never go below zero (money cannot be spent twice).
NON_NEGATIVE_ACCOUNTS = ("pool", "earmarked", "payable")


class Account(Base):
    """A ledger account. Balances are signed: the campaign `fund` is the source (negative),
    every other account holds a positive balance; all balances together sum to zero."""

    __tablename__ = "accounts"
    account_id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(200), unique=True)
    # fund / pool (federation, per kind) / earmarked / payable / paid_out / returned (per unit and kind)
    type: Mapped[str] = mapped_column(String(12))
    campaign_id: Mapped[str] = mapped_column(UUID, index=True)
    kind: Mapped[str] = mapped_column(String(10))
    unit_id: Mapped[str | None] = mapped_column(ID)
    balance: Mapped[Decimal] = mapped_column(MONEY)
    __table_args__ = (
        CheckConstraint(f"type NOT IN {NON_NEGATIVE_ACCOUNTS} OR balance >= 0", name="ck_account_not_negative"),
    )


class Posting(Base):
    """One balanced movement of money; `cause` (event or request) makes it idempotent."""

    __tablename__ = "postings"
    posting_id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    cause: Mapped[str] = mapped_column(String(160), unique=True)
    memo: Mapped[str] = mapped_column(String(200))
    campaign_id: Mapped[str] = mapped_column(UUID)
    enrolment_id: Mapped[str | None] = mapped_column(UUID, index=True)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Entry(Base):
    __tablename__ = "entries"
    entry_id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    posting_id: Mapped[int] = mapped_column(ForeignKey("postings.posting_id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.account_id"), index=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    __table_args__ = (CheckConstraint("amount <> 0", name="ck_entry_not_zero"),)


# Keyset paging (servicekit.paging): an index per list sort key, (key, id); migration 0007_list_indexes.py makes them.
keyset_indexes(
    Base.metadata,
    (
        ("accounts", ("code", "account_id")),
        ("breakdowns", ("computed_at", "enrolment_id")),
        ("payments", ("amount", "payment_id")),
        ("payments", ("paid_on", "payment_id")),
        ("payments", ("recorded_at", "payment_id")),
        ("reimbursements", ("amount", "reimbursement_id")),
        ("reimbursements", ("created_at", "reimbursement_id")),
        ("transfers", ("amount", "transfer_id")),
        ("transfers", ("recorded_at", "transfer_id")),
        ("transfers", ("transferred_on", "transfer_id")),
        ("saga_waits", ("waiting_since", "saga", "item_id")),
    ),
)
