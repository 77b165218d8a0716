"""What finance knows of other services' aggregates, kept from their events.

Events of one aggregate may arrive out of order: a row only moves forward to a
higher revision; an older or repeated event changes nothing.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Allocation, Campaign, Certificate, Enrolment, Programme, Reimbursement, Unit


def apply_newer(session: Session, model, key, state: dict):
    """Store `state` (with its `revision`) unless what is held is as new; the row if applied, else None."""
    row = session.get(model, key, with_for_update=True)
    if row is None:
        row = model(**state)
        session.add(row)
        session.flush()
        return row
    if row.revision >= state["revision"]:
        return None
    for name, value in state.items():
        setattr(row, name, value)
    session.flush()
    return row


def apply_newer_many(session: Session, model, states: list[tuple]) -> list:
    """`apply_newer` for each (key, state) in order, the rows held read (locked) in one statement and the new ones
    inserted in one: per state, the row if applied, else None (a key twice: the second applies only if newer).
    For models keyed by one column."""
    [key_column] = model.__mapper__.primary_key
    held = {
        getattr(row, key_column.key): row
        for row in session.scalars(
            select(model)
            .where(key_column.in_(sorted({key for key, _ in states})))
            .order_by(key_column)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    applied = []
    for key, state in states:
        row = held.get(key)
        if row is None:
            row = held[key] = model(**state)
            session.add(row)
        elif row.revision >= state["revision"]:
            row = None
        else:
            for name, value in state.items():
                setattr(row, name, value)
        applied.append(row)
    session.flush()
    return applied


def campaign(session: Session, data: dict) -> Campaign | None:
    return apply_newer(
        session,
        Campaign,
        data["campaign_id"],
        dict(
            campaign_id=data["campaign_id"],
            revision=data["revision"],
            name=data["name"],
            year=data["year"],
            academic_fund=Decimal(data["fund_pools"]["academic"]),
            skills_fund=Decimal(data["fund_pools"]["skills"]),
            academic_subsidy=Decimal(data["academic_subsidy_per_student"]),
            skills_federation_rate=Decimal(data["skills_federation_rate"]),
            skills_rate_overrides=dict(data["skills_rate_overrides"]),
            transfer_deadline=_date(data["transfer_deadline"]) if data.get("transfer_deadline") else None,
            transfer_warning_days=data.get("transfer_warning_days"),
        ),
    )


def unit(session: Session, data: dict) -> Unit | None:
    return apply_newer(
        session,
        Unit,
        data["unit_id"],
        dict(
            unit_id=data["unit_id"],
            revision=data["revision"],
            name=data["name"],
            level=data["level"],
            parent_id=data.get("parent_id"),
        ),
    )


def allocation(session: Session, data: dict) -> Allocation | None:
    return apply_newer(
        session,
        Allocation,
        (data["allocation_id"], data["unit_id"]),
        dict(
            allocation_id=data["allocation_id"],
            revision=data["revision"],
            campaign_id=data["campaign_id"],
            unit_id=data["unit_id"],
            academic_seats=data["academic_seats"],
            skills_money=Decimal(data["skills_money"]),
        ),
    )


def programme(session: Session, data: dict) -> Programme | None:
    return apply_newer(
        session,
        Programme,
        data["programme_id"],
        dict(
            programme_id=data["programme_id"],
            revision=data["revision"],
            institution_id=data["institution_id"],
            kind=data["kind"],
            level=data["level"],
            major=data.get("major"),
            trade=data.get("trade"),
        ),
    )


def enrolments(session: Session, items: list[tuple[dict, str, str]]) -> list[Enrolment | None]:
    """Registrations or admissions, each (data, status, status_on) the full picture of the enrolment, applied
    in order if newer: the row, else None."""
    return apply_newer_many(
        session,
        Enrolment,
        [
            (
                data["enrolment_id"],
                dict(
                    enrolment_id=data["enrolment_id"],
                    revision=data["revision"],
                    campaign_id=data["campaign_id"],
                    kind=data["kind"],
                    unit_id=data["unit_id"],
                    grassroots_union_id=data["grassroots_union_id"],
                    institution_id=data["institution_id"],
                    programme_id=data["programme_id"],
                    trade=data.get("trade"),
                    employee_id=data["employee_id"],
                    status=status,
                    status_on=_date(status_on),
                    # kept through a withdrawal: a refund after admission follows the campaign's after-admission rule
                    **({"admitted_on": _date(status_on)} if status == "admitted" else {}),
                ),
            )
            for data, status, status_on in items
        ],
    )


def withdrawal(session: Session, data: dict) -> Enrolment | None:
    return apply_newer(
        session,
        Enrolment,
        data["enrolment_id"],
        dict(
            enrolment_id=data["enrolment_id"],
            revision=data["revision"],
            campaign_id=data["campaign_id"],
            kind=data["kind"],
            unit_id=data["unit_id"],
            institution_id=data["institution_id"],
            status="withdrawn",
            status_on=_date(data["withdrawn_on"]),
        ),
    )


def transfer(session: Session, data: dict) -> Enrolment | None:
    """A transfer of institution or programme, onto a known enrolment (else retried until it is known)."""
    if session.get(Enrolment, data["enrolment_id"]) is None:
        raise LookupError(f"enrolment {data['enrolment_id']} not registered yet")
    return apply_newer(
        session,
        Enrolment,
        data["enrolment_id"],
        dict(
            revision=data["revision"],
            institution_id=data["to_institution_id"],
            programme_id=data["to_programme_id"],
        ),
    )


def certificate(session: Session, data: dict, status: str, status_on: str) -> Certificate | None:
    return certificates(session, [(data, status, status_on)])[0]


def certificates(session: Session, items: list[tuple[dict, str, str]]) -> list[Certificate | None]:
    """Each (data, status, status_on) applied in order if newer: the row, else None."""
    return apply_newer_many(
        session,
        Certificate,
        [
            (
                data["certificate_id"],
                dict(
                    certificate_id=data["certificate_id"],
                    revision=data["revision"],
                    enrolment_id=data["enrolment_id"],
                    number=data["number"],
                    status=status,
                    status_on=_date(status_on),
                ),
            )
            for data, status, status_on in items
        ],
    )


def _date(text: str) -> date:
    return date.fromisoformat(text)


def employee_anonymised(session: Session, data: dict) -> None:
    """Past the retention period (enrollment's anonymise): the employee's enrolments re-keyed to an id that links
    to no one, and the bank accounts their reimbursements were paid to dropped; the money stays as it was."""
    mine = select(Enrolment.enrolment_id).where(Enrolment.employee_id == data["employee_id"])
    session.execute(
        update(Reimbursement).where(Reimbursement.enrolment_id.in_(mine)).values(bank_name=None, bank_account=None)
    )
    session.execute(
        update(Enrolment).where(Enrolment.employee_id == data["employee_id"]).values(employee_id=data["anonymised_id"])
    )
