"""What enrollment keeps of other services' facts, fed by their events (stale revisions ignored)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from servicekit.db import upsert

from .models import (
    Breakdown,
    Campaign,
    Certificate,
    Enrolment,
    ExamResult,
    InstitutionNotice,
    InstitutionStanding,
    Payment,
    Recovery,
    Reimbursement,
    Unit,
)


def _day(text: str):
    return datetime.strptime(text, "%Y-%m-%d").date()


def insert_once(session, model, key: str | tuple[str, ...], values: dict | list[dict]) -> None:
    """Facts that never change (a payment, an exam attempt; or many at once): a redelivered one is ignored."""
    if not values:
        return
    keys = [key] if isinstance(key, str) else list(key)
    # executemany: the statement is compiled once (SQLAlchemy cannot cache one with a VALUES list)
    session.execute(upsert(session.bind, model).on_conflict_do_nothing(index_elements=keys), values)


def upsert_newer(session, model, key: str, values: dict | list[dict]) -> None:
    """Insert, or overwrite only with a higher revision: concurrent and out-of-order events are safe. Many rows at
    once: only the newest of each key's is written, which is what applying them one after another leaves."""
    newest: dict = {}
    for row in [values] if isinstance(values, dict) else values:
        if row[key] not in newest or row["revision"] > newest[row[key]]["revision"]:
            newest[row[key]] = row
    if not newest:
        return
    rows = list(newest.values())
    statement = upsert(session.bind, model)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[key],
            set_={name: statement.excluded[name] for name in rows[0] if name != key},
            where=model.revision < statement.excluded.revision,
        ),
        rows,  # executemany, as insert_once
    )


def campaign_published(session, data: dict) -> None:
    windows = data["windows"]
    upsert_newer(
        session,
        Campaign,
        "campaign_id",
        {
            "campaign_id": data["campaign_id"],
            "revision": data["revision"],
            "name": data["name"],
            "year": data["year"],
            "registration_start": _day(windows["registration_start"]),
            "registration_end": _day(windows["registration_end"]),
            "study_start": _day(windows["study_start"]) if windows.get("study_start") else None,
            "study_end": _day(windows["study_end"]) if windows.get("study_end") else None,
            "public_notice_days": data["public_notice_days"],
            "dedicated_class_threshold": data["dedicated_class_threshold"],
            "roster_lead_working_days": data["roster_lead_working_days"],
            "skills_federation_rate": Decimal(data["skills_federation_rate"]),
            "skills_rate_overrides": data["skills_rate_overrides"],
        },
    )


def campaign_closed(session, data: dict) -> None:
    """The campaign is read-only from now on (servicekit.closing refuses every request that would change it)."""
    campaign = session.get(Campaign, data["campaign_id"], with_for_update=True)
    if campaign is None:
        raise LookupError(f"campaign {data['campaign_id']} not published yet")  # retried until it is
    campaign.closed_at = campaign.closed_at or datetime.fromisoformat(data["closed_at"])


def unit_upserted(session, data: dict) -> None:
    upsert_newer(
        session,
        Unit,
        "unit_id",
        {
            "unit_id": data["unit_id"],
            "revision": data["revision"],
            "name": data["name"],
            "level": data["level"],
            "parent_id": data.get("parent_id"),
            "status": data.get("status", "active"),
        },
    )


def institution_standing(session, data: dict, disqualified: bool) -> None:
    upsert_newer(
        session,
        InstitutionStanding,
        "institution_id",
        {
            "institution_id": data["institution_id"],
            "revision": data["revision"],
            "disqualified": disqualified,
            "reason": data["reason"],
        },
    )


def institution_notified(session, data: dict) -> None:
    insert_once(
        session,
        InstitutionNotice,
        ("institution_id", "revision"),
        {
            "institution_id": data["institution_id"],
            "revision": data["revision"],
            "campaign_id": data["campaign_id"],
            "reason": data["reason"],
            "decided_at": datetime.fromisoformat(data["decided_at"]),
        },
    )


def payment_recorded(session, data: dict, occurred_at: str) -> None:
    """Keep every payment; the one finance recorded last tells whether the enrolment is paid."""
    insert_once(
        session,
        Payment,
        "payment_id",
        {
            "payment_id": data["payment_id"],
            "enrolment_id": data["enrolment_id"],
            "amount": Decimal(data["amount"]),
            "paid_on": _day(data["paid_on"]),
            "status": data["status"],
            "recorded_at": datetime.fromisoformat(occurred_at),
        },
    )
    latest = session.scalar(
        select(Payment.status)
        .where(Payment.enrolment_id == data["enrolment_id"])
        .order_by(Payment.recorded_at.desc())
        .limit(1)
    )
    enrolment = session.get(Enrolment, data["enrolment_id"], with_for_update=True)
    if enrolment is not None:
        enrolment.payment_status = latest


def exam_results_recorded(session, items: list[dict]) -> None:
    """Evaluation's exam.result_recorded, one or many in one statement."""
    insert_once(
        session,
        ExamResult,
        "result_id",
        [
            {
                "result_id": data["result_id"],
                "enrolment_id": data["enrolment_id"],
                "exam": data["exam"],
                "held_on": _day(data["held_on"]),
                "score": Decimal(data["score"]),
                "passed": data["passed"],
                "attempt": data["attempt"],
            }
            for data in items
        ],
    )


def certificates_changed(session, items: list[dict], revoked: bool) -> None:
    """Evaluation's certificate.issued (or .revoked), one or many in one statement."""
    upsert_newer(session, Certificate, "certificate_id", [_certificate(data, revoked) for data in items])


def _certificate(data: dict, revoked: bool) -> dict:
    values = {
        "certificate_id": data["certificate_id"],
        "revision": data["revision"],
        "enrolment_id": data["enrolment_id"],
        "number": data["number"],
    }
    return values | (
        {"revoked_on": _day(data["revoked_on"])}
        if revoked
        else {"issued_on": _day(data["issued_on"]), "revoked_on": None}
    )


def reimbursement_paid(session, data: dict) -> None:
    insert_once(
        session,
        Reimbursement,
        "reimbursement_id",
        {
            "reimbursement_id": data["reimbursement_id"],
            "enrolment_id": data["enrolment_id"],
            "share": data["share"],
            "amount": Decimal(data["amount"]),
            "paid_on": _day(data["paid_on"]),
        },
    )


def breakdowns_settled(session, settled: list[dict]) -> None:
    """Finance's breakdowns (one a registration: a batch's in one statement)."""
    upsert_newer(
        session,
        Breakdown,
        "enrolment_id",
        [
            {
                "enrolment_id": data["enrolment_id"],
                "revision": data["revision"],
                "status": data["status"],
                **{name: Decimal(data[name]) for name in ("total", "federation", "unit", "employee")},
            }
            for data in settled
        ],
    )


def reimbursement_recovered(session, data: dict) -> None:
    insert_once(
        session,
        Recovery,
        "reimbursement_id",
        {
            "reimbursement_id": data["reimbursement_id"],
            "enrolment_id": data["enrolment_id"],
            "share": data["share"],
            "amount": Decimal(data["amount"]),
            "recovered_on": _day(data["recovered_on"]),
        },
    )
