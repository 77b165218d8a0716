"""Read models from other services' events; a stale revision never overwrites a newer state."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select, update

from servicekit.db import among
from servicekit.service import Batched

from .models import (
    CalendarYear,
    Campaign,
    ClassOpening,
    Enrolment,
    FundTransfer,
    Institution,
    Payment,
    Programme,
    Reimbursement,
    SurveyTokenIssued,
)

ENROLMENT_FACTS = ("employee_id", "programme_id", "trade", "holder_name_masked", "grassroots_union_id")


def _apply(session, model, key: str, data: dict, values: dict, facts: tuple[str, ...] = ()) -> None:
    """Insert, or update when the event's revision is newer; an older one only fills facts still unknown."""
    _applied(session, model, key, session.get(model, data[key], with_for_update=True), data, values, facts)


def _applied(session, model, key: str, row, data: dict, values: dict, facts: tuple[str, ...] = ()):
    """`_apply` to the row read (locked) already, None if there is none yet: the row as it now is."""
    if row is None:
        row = model(**{key: data[key], "revision": data["revision"], **values})
        session.add(row)
    elif data["revision"] > row.revision:
        for name, value in {"revision": data["revision"], **values}.items():
            setattr(row, name, value)
    else:
        for name in facts:
            if getattr(row, name) is None and values.get(name) is not None:
                setattr(row, name, values[name])
    return row


def _insert_once(session, model, key: str, data: dict, values: dict) -> None:
    """Facts that never change (a payment, an opened class): the first copy wins."""
    if session.get(model, data[key]) is None:
        session.add(model(**{key: data[key], **values}))


def on_campaign_published(uow, event):
    d = event.data
    _apply(
        uow.session,
        Campaign,
        "campaign_id",
        d,
        {
            "name": d["name"],
            "year": d["year"],
            "exams_from": date.fromisoformat(d["windows"]["exams_from"]),
            "roster_lead_working_days": d["roster_lead_working_days"],
        },
    )


def on_campaign_closed(uow, event):
    """The campaign is read-only from now on (servicekit.closing refuses every request that would change it)."""
    campaign = uow.session.get(Campaign, event.data["campaign_id"], with_for_update=True)
    if campaign is None:
        raise LookupError(f"campaign {event.data['campaign_id']} not published yet")  # retried until it is
    campaign.closed_at = campaign.closed_at or datetime.fromisoformat(event.data["closed_at"])


def on_institution_registered(uow, event):
    _apply(uow.session, Institution, "institution_id", event.data, {"name": event.data["name"]})


def on_programme_published(uow, event):
    d = event.data
    _apply(
        uow.session,
        Programme,
        "programme_id",
        d,
        {
            "institution_id": d["institution_id"],
            "kind": d["kind"],
            "level": d["level"],
            "major": d.get("major"),
            "trade": d.get("trade"),
            "start_date": date.fromisoformat(d["start_date"]),
        },
    )


def _enrolment(status: str) -> Batched:
    """Batched: registrations or admissions, the enrolments of the batch read (locked, in the order of their keys)
    in one statement, then each event applied in delivery order as `_apply` would (an enrolment twice in the
    batch: the second applied to what the first made), the rows written at the commit."""

    def handle(uow, events):
        ids = sorted({event.data["enrolment_id"] for event in events})
        rows = {
            row.enrolment_id: row
            for row in uow.session.scalars(
                select(Enrolment)
                .where(among(uow.session, Enrolment.enrolment_id, ids))
                .order_by(Enrolment.enrolment_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        }
        with uow.session.no_autoflush:  # the new rows are inserted together at the commit
            for d in (event.data for event in events):
                rows[d["enrolment_id"]] = _applied(
                    uow.session,
                    Enrolment,
                    "enrolment_id",
                    rows.get(d["enrolment_id"]),
                    d,
                    _enrolled(d, status),
                    ENROLMENT_FACTS,
                )

    return Batched(handle)


def _enrolled(d: dict, status: str) -> dict:
    # The name is optional in the contract: an event without it says nothing, so it never erases a known one.
    name = {"holder_name_masked": d["holder_name_masked"]} if d.get("holder_name_masked") else {}
    return {
        "campaign_id": d["campaign_id"],
        "kind": d["kind"],
        "unit_id": d["unit_id"],
        "grassroots_union_id": d["grassroots_union_id"],
        "institution_id": d["institution_id"],
        "status": status,
        "programme_id": d["programme_id"],
        "trade": d.get("trade"),
        "employee_id": d["employee_id"],
        **name,
    }


def on_enrollment_withdrawn(uow, event):
    """A withdrawal, or a registration the institution rejected (enrollment.registration_rejected): either way
    the enrolment has ended, and its student takes no exam or survey of it."""
    d = event.data
    _apply(
        uow.session,
        Enrolment,
        "enrolment_id",
        d,
        {
            "campaign_id": d["campaign_id"],
            "kind": d["kind"],
            "unit_id": d["unit_id"],
            "institution_id": d["institution_id"],
            "status": "withdrawn",
        },
    )


def on_enrollment_transferred(uow, event):
    d = event.data
    session = uow.session
    current = session.get(Enrolment, d["enrolment_id"])
    programme = session.get(Programme, d["to_programme_id"])
    _apply(
        session,
        Enrolment,
        "enrolment_id",
        d,
        {
            "campaign_id": d["campaign_id"],
            "kind": d["kind"],
            "unit_id": d["unit_id"],
            "institution_id": d["to_institution_id"],
            "programme_id": d["to_programme_id"],
            "status": current.status if current else "registered",
            "trade": programme.trade if programme else (current.trade if current else None),
        },
    )


def on_class_opened(uow, event):
    d = event.data
    _insert_once(
        uow.session,
        ClassOpening,
        "class_id",
        d,
        {
            "campaign_id": d["campaign_id"],
            "institution_id": d["institution_id"],
            "programme_id": d["programme_id"],
            "dedicated": d["dedicated"],
            "opens_on": date.fromisoformat(d["opens_on"]),
            "student_count": d["student_count"],
            "roster_submitted_on": date.fromisoformat(d["roster_submitted_on"])
            if d.get("roster_submitted_on")
            else None,
        },
    )


def on_payment_recorded(uow, event):
    d = event.data
    _insert_once(
        uow.session,
        Payment,
        "payment_id",
        d,
        {
            "enrolment_id": d["enrolment_id"],
            "amount": Decimal(d["amount"]),
            "paid_on": date.fromisoformat(d["paid_on"]),
            "status": d["status"],
        },
    )


def on_reimbursement_paid(uow, event):
    d = event.data
    _insert_once(
        uow.session,
        Reimbursement,
        "reimbursement_id",
        d,
        {
            "enrolment_id": d["enrolment_id"],
            "campaign_id": d["campaign_id"],
            "share": d["share"],
            "amount": Decimal(d["amount"]),
            "paid_on": date.fromisoformat(d["paid_on"]),
        },
    )


def on_funds_transferred(uow, event):
    _funds_moved(uow, event.data, "to_unit", event.data["transferred_on"])


def on_funds_reclaimed(uow, event):
    """Money taken back from a unit (beyond its allocation, or unspent at the close): the net transferred drops."""
    _funds_moved(uow, event.data, "reclaimed", event.data["reclaimed_on"])


def _funds_moved(uow, d: dict, direction: str, day: str) -> None:
    _insert_once(
        uow.session,
        FundTransfer,
        "transfer_id",
        d,
        {
            "campaign_id": d["campaign_id"],
            "unit_id": d["unit_id"],
            "kind": d["kind"],
            "amount": Decimal(d["amount"]),
            "transferred_on": date.fromisoformat(day),
            "direction": direction,
        },
    )


def on_calendar_loaded(uow, event):
    """A year's working-day calendar, replaced whole by a later load (an older one redelivered changes nothing)."""
    d = event.data
    loaded_at = datetime.fromisoformat(d["loaded_at"]).astimezone(UTC)
    row = uow.session.get(CalendarYear, d["year"], with_for_update=True)
    days = {day["day"]: day["workday"] for day in d["days"]}
    if row is None:
        uow.session.add(CalendarYear(year=d["year"], loaded_at=loaded_at, days=days))
    elif loaded_at > (row.loaded_at if row.loaded_at.tzinfo else row.loaded_at.replace(tzinfo=UTC)):  # SQLite: naive
        row.loaded_at, row.days = loaded_at, days


def on_employee_corrected(uow, event):
    """The employee's corrected name (masked, as public verification shows it) on every enrolment of theirs."""
    d = event.data
    uow.session.execute(
        update(Enrolment)
        .where(Enrolment.employee_id == d["employee_id"])
        .values(holder_name_masked=d["holder_name_masked"])
    )


def on_employee_anonymised(uow, event):
    """Past the retention period: the employee's rows are re-keyed to an id that links to no one, and the
    masked name goes."""
    d = event.data
    uow.session.execute(
        update(Enrolment)
        .where(Enrolment.employee_id == d["employee_id"])
        .values(employee_id=d["anonymised_id"], holder_name_masked=None)
    )
    uow.session.execute(
        update(SurveyTokenIssued)
        .where(SurveyTokenIssued.employee_id == d["employee_id"])
        .values(employee_id=d["anonymised_id"])
    )


HANDLERS = {
    "campaign.published": on_campaign_published,
    "campaign.closed": on_campaign_closed,
    "institution.registered": on_institution_registered,
    "programme.published": on_programme_published,
    "enrollment.registered": _enrolment("registered"),
    "enrollment.admitted": _enrolment("admitted"),
    "enrollment.withdrawn": on_enrollment_withdrawn,
    "enrollment.registration_rejected": on_enrollment_withdrawn,
    "enrollment.transferred": on_enrollment_transferred,
    "employee.corrected": on_employee_corrected,
    "employee.anonymised": on_employee_anonymised,
    "class.opened": on_class_opened,
    "calendar.loaded": on_calendar_loaded,
    "payment.recorded": on_payment_recorded,
    "reimbursement.paid": on_reimbursement_paid,
    "funds.transferred": on_funds_transferred,
    "funds.reclaimed": on_funds_reclaimed,
}
