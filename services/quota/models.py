"""The quota service's tables (its own database; no other service reads it)."""

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
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from servicekit.audit import add_audit_table
from servicekit.bus.tables import SEQUENCE, add_messaging_tables
from servicekit.paging import keyset_indexes

MONEY = Numeric(14, 2)
RATE = Numeric(6, 4)


class Base(DeclarativeBase):
    pass


outbox, inbox = add_messaging_tables(Base.metadata)
audit_entries = add_audit_table(Base.metadata)


class Campaign(Base):
    """A programme year with its funds, rates, windows and thresholds (every rule a setting)."""

    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'closed')", name="ck_campaign_status"),
        CheckConstraint("academic_pool >= 0 AND skills_pool >= 0", name="ck_campaign_pools"),
        CheckConstraint("academic_subsidy_per_student > 0", name="ck_campaign_subsidy"),
        CheckConstraint(
            "registration_start <= registration_end AND study_start <= study_end", name="ck_campaign_windows"
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    revision: Mapped[int] = mapped_column(Integer, default=0)  # of campaign.published; 0 while draft
    academic_pool: Mapped[Decimal] = mapped_column(MONEY)
    skills_pool: Mapped[Decimal] = mapped_column(MONEY)
    academic_subsidy_per_student: Mapped[Decimal] = mapped_column(MONEY)
    skills_federation_rate: Mapped[Decimal] = mapped_column(RATE)
    skills_rate_overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    key_industry_weight: Mapped[Decimal] = mapped_column(RATE)
    registration_start: Mapped[date] = mapped_column(Date)
    registration_end: Mapped[date] = mapped_column(Date)
    study_start: Mapped[date] = mapped_column(Date)
    study_end: Mapped[date] = mapped_column(Date)
    exams_from: Mapped[date] = mapped_column(Date)
    dedicated_class_threshold: Mapped[int] = mapped_column(Integer)
    public_notice_days: Mapped[int] = mapped_column(Integer)
    roster_lead_working_days: Mapped[int] = mapped_column(Integer)
    transfer_deadline: Mapped[date] = mapped_column(Date)  # earmarked funds transferred to units by this day
    transfer_warning_days: Mapped[int] = mapped_column(Integer)
    # The federation's close: read-only in every service from then on (campaign.closed)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(100))
    close_reason: Mapped[str | None] = mapped_column(Text)
    unspent_funds: Mapped[str | None] = mapped_column(String(20))  # return_to_pool / keep_with_units
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Unit(Base):
    """A first-level unit (which holds quota) or a grassroots union under one."""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint("headcount >= 0", name="ck_unit_headcount"),
        CheckConstraint("(level = 'grassroots') = (parent_id IS NOT NULL)", name="ck_unit_parent"),
        CheckConstraint("(level = 'grassroots') = (category = 'grassroots')", name="ck_unit_category"),
        CheckConstraint("status IN ('active', 'retired')", name="ck_unit_status"),
        CheckConstraint("successor_id IS NULL OR status = 'retired'", name="ck_unit_successor_retired"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(30))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"), index=True)
    headcount: Mapped[int] = mapped_column(Integer)
    key_industry: Mapped[bool] = mapped_column(Boolean, default=False)
    key_industry_weight: Mapped[Decimal | None] = mapped_column(RATE)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Units are never deleted: a retired unit keeps its history and takes no new allocation or reservation;
    # a merged one names its successor (which took over its grassroots unions).
    status: Mapped[str] = mapped_column(String(10), default="active")
    successor_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))


class CampaignParticipant(Base):
    """A first-level unit taking part in a campaign: chosen by the federation, or all active units when the
    allocation was first saved (later headcount imports never change the set; only an explicit choice does)."""

    __tablename__ = "campaign_participants"

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"), primary_key=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)


class Allocation(Base):
    """A campaign's allocation table; its row is locked while lines change so totals stay within the pools."""

    __tablename__ = "allocations"
    __table_args__ = (CheckConstraint("status IN ('draft', 'published')", name="ck_allocation_status"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    source: Mapped[str] = mapped_column(String(20))  # computed | imported
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AllocationLine(Base):
    """One unit's seats and money, the headcount it was computed from, and how much is in use.

    The database refuses a line that holds more in use than it was allocated:
    reservations race on these counters with conditional updates.
    """

    __tablename__ = "allocation_lines"
    __table_args__ = (
        UniqueConstraint("allocation_id", "unit_id", name="uq_allocation_line_unit"),
        CheckConstraint("academic_seats >= 0 AND skills_money >= 0", name="ck_line_allocated"),
        CheckConstraint(
            "seats_reserved >= 0 AND seats_consumed >= 0 AND seats_spent >= 0 AND seats_released >= 0",
            name="ck_line_seat_counters",
        ),
        CheckConstraint(
            "money_reserved >= 0 AND money_consumed >= 0 AND money_spent >= 0 AND money_released >= 0",
            name="ck_line_money_counters",
        ),
        CheckConstraint("seats_reserved + seats_consumed + seats_spent <= academic_seats", name="ck_line_seats_fit"),
        CheckConstraint("money_reserved + money_consumed + money_spent <= skills_money", name="ck_line_money_fits"),
        CheckConstraint("academic_received >= 0 AND skills_received >= 0", name="ck_line_received"),
    )

    id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    allocation_id: Mapped[str] = mapped_column(ForeignKey("allocations.id"))  # uq_allocation_line_unit leads with it
    unit_id: Mapped[str] = mapped_column(ForeignKey("units.id"))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # of this line's allocation.published
    headcount: Mapped[int] = mapped_column(Integer)  # snapshots: later unit edits never change them
    key_industry: Mapped[bool] = mapped_column(Boolean)
    weight: Mapped[Decimal] = mapped_column(RATE)
    academic_seats: Mapped[int] = mapped_column(Integer)
    skills_money: Mapped[Decimal] = mapped_column(MONEY)
    seats_reserved: Mapped[int] = mapped_column(Integer, default=0)
    seats_consumed: Mapped[int] = mapped_column(Integer, default=0)
    seats_spent: Mapped[int] = mapped_column(Integer, default=0)
    seats_released: Mapped[int] = mapped_column(Integer, default=0)
    money_reserved: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    money_consumed: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    money_spent: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    money_released: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    # Money finance has moved into the unit's earmarked accounts (funds.transferred less funds.reclaimed):
    # a line is never cut below what its unit already received.
    academic_received: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    skills_received: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))


class AllocationChange(Base):
    """The audit trail of an allocation: who changed which line, when, from what to what, and why."""

    __tablename__ = "allocation_changes"

    id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    allocation_id: Mapped[str] = mapped_column(ForeignKey("allocations.id"), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(20))  # edited | imported | reallocated
    old_seats: Mapped[int] = mapped_column(Integer)
    new_seats: Mapped[int] = mapped_column(Integer)
    old_money: Mapped[Decimal] = mapped_column(MONEY)
    new_money: Mapped[Decimal] = mapped_column(MONEY)
    reason: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Reservation(Base):
    """One enrolment's hold on its unit's quota; the unique enrolment id makes requests idempotent.

    status: reserved → consumed (admission) → spent (certificate); released on
    withdrawal or transfer-out; refused when the request could not be met.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'reserved', 'consumed', 'spent', 'released', 'refused')",
            name="ck_reservation_status",
        ),
        CheckConstraint("kind IN ('academic', 'skills')", name="ck_reservation_kind"),
    )

    id: Mapped[int] = mapped_column(SEQUENCE, primary_key=True, autoincrement=True)
    enrolment_id: Mapped[str] = mapped_column(String(36), unique=True)
    campaign_id: Mapped[str] = mapped_column(String(36), index=True)
    unit_id: Mapped[str] = mapped_column(String(64))  # its keyset index (unit_id, id) finds a unit's
    kind: Mapped[str] = mapped_column(String(20))
    seats: Mapped[int] = mapped_column(Integer, default=0)
    amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    status: Mapped[str] = mapped_column(String(20))
    # Why the last request was refused; on a held reservation, a refused change of amount (what was held stays).
    refusal_reason: Mapped[str | None] = mapped_column(String(40))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_lines.id"))
    revision: Mapped[int] = mapped_column(Integer)  # the enrolment's revision last applied
    # finance's breakdown revision last applied (its own counter, never compared with the enrolment's revision)
    breakdown_revision: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# Keyset paging (servicekit.paging): an index per list sort key, (key, id); migration 0004_list_indexes.py makes them.
keyset_indexes(
    Base.metadata,
    (
        ("allocation_changes", ("changed_at", "id")),
        ("allocation_changes", ("unit_id", "id")),
        ("campaigns", ("created_at", "id")),
        ("campaigns", ("name", "id")),
        ("campaigns", ("year", "id")),
        ("reservations", ("unit_id", "id")),
        ("reservations", ("updated_at", "id")),
        ("units", ("headcount", "id")),
        ("units", ("level", "id")),
        ("units", ("name", "id")),
        ("units", ("updated_at", "id")),
    ),
)
