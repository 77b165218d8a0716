"""The reservation saga with enrollment: reserve, refuse, consume, release, spend.

Several workers handle events at once, so every change of a unit's counters
is one conditional UPDATE on its allocation line (the row lock serialises
racers; the WHERE clause refuses an overbooking), and the reservation row is
keyed by the enrolment id (unique), so a redelivered or repeated request
never reserves twice.
"""
from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from servicekit.clock import china_date
from servicekit.db import upsert, utcnow
from servicekit.money import money, show

from .models import Allocation, AllocationLine, Campaign, Reservation, Unit
from .rules import in_window

log = logging.getLogger(__name__)
REFUSALS = {  # the detail people see next to the reason code
    "campaign_not_published": "The campaign is not published (yet) / 计划年度尚未发布",
    "unit_unknown": "Not a first-level unit that holds quota / 非持有名额的一级单位",
    "window_closed": "Outside the campaign's registration window / 不在报名时间内",
    "no_quota_left": "The unit's quota for this kind is used up / 本单位该类名额或补助额度已用完",
}
ACTIVE = ("reserved", "consumed")  # holding quota that a release gives back
HOLDING = ("reserved", "consumed", "spent")


class UnknownEnrolment(LookupError):
    """An event about an enrolment never requested here: retried, as its request may still be on its way."""


def request(uow, event) -> None:
    data = event.data
    reservation = _claim(uow.session, data)
    if reservation.status != "pending" and data["revision"] < reservation.revision:
        log.info("stale request ignored", extra={"enrolment_id": data["enrolment_id"]})
        return
    fresh = reservation.status == "pending" or (
        reservation.status in ("refused", "released") and data["revision"] > reservation.revision)
    if fresh:
        _decide(uow.session, reservation, data, datetime.fromisoformat(event.occurred_at))
    _answer(uow, reservation)  # a repeated request gets the same answer again


def consume(uow, event) -> None:
    """Admission (academic) or registration (skills): the reserved quota is now used."""
    reservation = _known(uow.session, event.data)
    if reservation and reservation.status == "reserved":
        _move(uow.session, reservation, "reserved", "consumed")
        reservation.status = "consumed"


def release(uow, event) -> None:
    """Withdrawal: the quota goes back to the unit (a withdrawal before the request leaves a tombstone)."""
    data = event.data
    reservation = _claim(uow.session, data)
    if reservation.status != "pending" and data["revision"] <= reservation.revision:
        return
    if reservation.status in ACTIVE:
        _move(uow.session, reservation, reservation.status, "released")
    if reservation.status != "spent":
        reservation.status = "released"
    _touch(reservation, data["revision"])


def transfer(uow, event) -> None:
    """A transfer of institution keeps the unit's quota; a transfer out of the unit gives it back."""
    data = event.data
    reservation = _known(uow.session, data)
    if reservation is None:
        return
    if reservation.unit_id != data["unit_id"] and reservation.status in ACTIVE:
        _move(uow.session, reservation, reservation.status, "released")
        reservation.status = "released"


def spend(uow, event) -> None:
    """A certificate: the federation's share is paid, the quota is spent for good."""
    reservation = _locked(uow.session, event.data["enrolment_id"])
    if reservation is None:
        raise UnknownEnrolment(f"no reservation for enrolment {event.data['enrolment_id']}")
    if reservation.status in ACTIVE:
        _move(uow.session, reservation, reservation.status, "spent")
        reservation.status = "spent"
        reservation.updated_at = utcnow()


def _claim(session, data: dict) -> Reservation:
    """The enrolment's reservation row, locked; created (pending) if this is the first word of it."""
    session.execute(upsert(session.bind, Reservation).values(
        enrolment_id=data["enrolment_id"], campaign_id=data["campaign_id"], unit_id=data["unit_id"],
        kind=data["kind"], seats=0, amount=Decimal("0.00"), status="pending", revision=data["revision"],
        updated_at=utcnow()).on_conflict_do_nothing(index_elements=["enrolment_id"]))
    return _locked(session, data["enrolment_id"])


def _locked(session, enrolment_id: str) -> Reservation | None:
    return session.scalars(select(Reservation).where(Reservation.enrolment_id == enrolment_id)
                           .with_for_update().execution_options(populate_existing=True)).one_or_none()


def _known(session, data: dict) -> Reservation | None:
    """The locked reservation of an enrolment event, None when the event is stale."""
    reservation = _locked(session, data["enrolment_id"])
    if reservation is None or reservation.status == "pending":
        raise UnknownEnrolment(f"no reservation for enrolment {data['enrolment_id']}")
    if data["revision"] <= reservation.revision:
        return None
    _touch(reservation, data["revision"])
    return reservation


def _decide(session, reservation: Reservation, data: dict, requested_at: datetime) -> None:
    reservation.campaign_id, reservation.unit_id, reservation.kind = data["campaign_id"], data["unit_id"], data["kind"]
    reservation.seats = 1 if data["kind"] == "academic" else 0
    reservation.amount = money(data["amount"]) if data["kind"] == "skills" else Decimal("0.00")
    reservation.line_id = None
    _touch(reservation, data["revision"])
    refusal = _refusal(session, reservation, requested_at)
    if refusal:
        reservation.status, reservation.refusal_reason = "refused", refusal
        return
    reservation.status, reservation.refusal_reason = "reserved", None


def _refusal(session, reservation: Reservation, requested_at: datetime) -> str | None:
    """Why the request cannot be met, or None once the quota is reserved."""
    campaign = session.get(Campaign, reservation.campaign_id)
    if campaign is None or campaign.status != "published":
        return "campaign_not_published"
    unit = session.get(Unit, reservation.unit_id)
    if unit is None or unit.level != "first_level":
        return "unit_unknown"
    if not in_window(china_date(requested_at), campaign.registration_start, campaign.registration_end):
        return "window_closed"
    line_id = session.scalars(
        select(AllocationLine.id).join(Allocation, Allocation.id == AllocationLine.allocation_id)
        .where(Allocation.campaign_id == campaign.id, Allocation.status == "published",
               AllocationLine.unit_id == unit.id)).one_or_none()
    if line_id is None:
        return "no_quota_left"
    reservation.line_id = line_id
    reserved = session.execute(_taking(reservation)).first()
    return None if reserved else "no_quota_left"


def _taking(reservation: Reservation):
    """Reserve only if the line still has that much available: one atomic, conditional UPDATE."""
    line = AllocationLine
    if reservation.kind == "academic":
        need, allocated, used = reservation.seats, line.academic_seats, (
            line.seats_reserved + line.seats_consumed + line.seats_spent)
        values = {"seats_reserved": line.seats_reserved + need}
    else:
        need, allocated, used = reservation.amount, line.skills_money, (
            line.money_reserved + line.money_consumed + line.money_spent)
        values = {"money_reserved": line.money_reserved + need}
    return update(line).where(line.id == reservation.line_id, allocated - used >= need).values(**values) \
        .returning(line.id)


def _move(session, reservation: Reservation, source: str, target: str) -> None:
    """Move the reservation's seats or money from one counter of its line to another."""
    prefix, size = ("seats", reservation.seats) if reservation.kind == "academic" else ("money", reservation.amount)
    line = AllocationLine.__table__.c
    session.execute(update(AllocationLine).where(AllocationLine.id == reservation.line_id).values({
        f"{prefix}_{source}": line[f"{prefix}_{source}"] - size,
        f"{prefix}_{target}": line[f"{prefix}_{target}"] + size,
    }))
    reservation.updated_at = utcnow()


def _touch(reservation: Reservation, revision: int) -> None:
    reservation.revision = max(reservation.revision, revision)
    reservation.updated_at = utcnow()


def _answer(uow, reservation: Reservation) -> None:
    if reservation.status not in HOLDING and reservation.status != "refused":
        return  # released or pending: nobody waits for an answer
    data = {"enrolment_id": reservation.enrolment_id, "campaign_id": reservation.campaign_id,
            "unit_id": reservation.unit_id, "kind": reservation.kind}
    if reservation.kind == "academic":
        data["seats"] = reservation.seats
    else:
        data["amount"] = show(reservation.amount)
    if reservation.status == "refused":
        reason = reservation.refusal_reason
        uow.publish("quota.refused", {**data, "reason": reason, "detail": REFUSALS[reason]})
    else:
        uow.publish("quota.reserved", data)
