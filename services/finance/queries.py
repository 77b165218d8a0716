"""The read side: what each caller may see, shaped for the API."""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from servicekit import Problem
from servicekit.errors import FORBIDDEN
from servicekit.identity import Identity

from .models import (
    Account,
    Breakdown,
    BreakdownLine,
    Charge,
    Enrolment,
    Payment,
    Recovery,
    Reimbursement,
    Transfer,
)
from .scoping import scoped


def page(query: Select, args: dict) -> Select:
    return query.limit(args["limit"]).offset(args["offset"])


def filtered(query: Select, args: dict, columns: dict) -> Select:
    """`query` narrowed by each filter the caller gave: {argument name: column}."""
    for name, column in columns.items():
        if args.get(name):
            query = query.where(column == args[name])
    return query


def unit_scope(identity: Identity) -> str | None:
    """Money of units: the federation sees every unit (None), a unit officer its own; others nothing."""
    if identity.is_federation:
        return None
    if identity.role == "unit_officer":
        return identity.unit_id
    raise Problem(FORBIDDEN, "Only the federation and unit officers see units' money.")


def lines_of(session: Session, enrolment_id: str) -> list[BreakdownLine]:
    return list(
        session.scalars(
            select(BreakdownLine).where(BreakdownLine.enrolment_id == enrolment_id).order_by(BreakdownLine.position)
        )
    )


def breakdown_view(session: Session, enrolment: Enrolment, breakdown: Breakdown) -> dict:
    lines = lines_of(session, breakdown.enrolment_id)
    charges = session.scalars(
        select(Charge)
        .where(Charge.enrolment_id == breakdown.enrolment_id)
        .order_by(Charge.charged_on, Charge.recorded_at)
    )
    return {
        **{
            name: getattr(enrolment, name)
            for name in (
                "enrolment_id",
                "campaign_id",
                "kind",
                "unit_id",
                "institution_id",
                "programme_id",
                "employee_id",
            )
        },
        **{
            name: getattr(breakdown, name)
            for name in ("revision", "status", "total", "federation", "unit", "employee", "paid", "payment_status")
        },
        "lines": [
            {
                "line": line.line,
                "shared": line.line == "tuition_or_training",
                "amount": line.amount,
                "federation": line.federation,
                "unit": line.unit,
                "employee": line.employee,
            }
            for line in lines
        ],
        "charges": list(charges),
    }


def breakdowns(session: Session, identity: Identity, args: dict) -> list[dict]:
    query = filtered(
        select(Enrolment, Breakdown).join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id),
        args,
        {"campaign_id": Enrolment.campaign_id, "status": Breakdown.status, "payment_status": Breakdown.payment_status},
    )
    rows = session.execute(page(scoped(query, identity).order_by(Enrolment.enrolment_id), args)).all()
    return [breakdown_view(session, enrolment, breakdown) for enrolment, breakdown in rows]


def payments(session: Session, identity: Identity, args: dict) -> list[Payment]:
    query = filtered(
        select(Payment).join(Enrolment, Enrolment.enrolment_id == Payment.enrolment_id),
        args,
        {"campaign_id": Enrolment.campaign_id, "enrolment_id": Payment.enrolment_id},
    )
    if args.get("flagged") is not None:
        flagged = Payment.status != "full"
        query = query.where(flagged if args["flagged"] else ~flagged)
    return list(session.scalars(page(scoped(query, identity).order_by(Payment.recorded_at), args)))


def transfers(session: Session, identity: Identity, args: dict) -> list[Transfer]:
    scope = {"unit_id": unit_scope(identity) or args.get("unit_id"), "campaign_id": args.get("campaign_id")}
    query = filtered(select(Transfer), scope, {"unit_id": Transfer.unit_id, "campaign_id": Transfer.campaign_id})
    return list(session.scalars(page(query.order_by(Transfer.recorded_at), args)))


def reimbursements(session: Session, identity: Identity, args: dict) -> list[dict]:
    if identity.role.startswith("institution") or identity.role == "grassroots_officer":
        raise Problem(FORBIDDEN, "Reimbursements are seen by the federation, the unit and the student.")
    query = filtered(
        _with_recovery(),
        args,
        {"campaign_id": Enrolment.campaign_id, "status": Reimbursement.status, "share": Reimbursement.share},
    )
    rows = session.execute(page(scoped(query, identity).order_by(Reimbursement.created_at), args)).all()
    return [reimbursement_view(*row) for row in rows]


def recoveries(session: Session, identity: Identity, args: dict) -> list[dict]:
    """Shares paid before their certificate was revoked: due (to recover) or recovered; a unit its own."""
    unit_id = unit_scope(identity)
    due = and_(Reimbursement.status == "paid", Reimbursement.certificate_revoked)
    wanted = {"due": due, "recovered": Reimbursement.status == "recovered"}
    query = filtered(
        _with_recovery(),
        {"unit_id": unit_id, "campaign_id": args.get("campaign_id")},
        {"unit_id": Enrolment.unit_id, "campaign_id": Enrolment.campaign_id},
    )
    query = query.where(wanted[args["status"]] if args.get("status") else or_(*wanted.values()))
    rows = session.execute(page(query.order_by(Reimbursement.created_at), args)).all()
    return [reimbursement_view(*row) for row in rows]


def _with_recovery() -> Select:
    return (
        select(Reimbursement, Enrolment, Recovery)
        .join(Enrolment, Enrolment.enrolment_id == Reimbursement.enrolment_id)
        .outerjoin(
            Recovery,
            and_(
                Recovery.reimbursement_id == Reimbursement.reimbursement_id,
                Recovery.certificate_id == Reimbursement.certificate_id,
            ),
        )
    )


def reimbursement_view(row: Reimbursement, enrolment: Enrolment, recovery: Recovery | None = None) -> dict:
    view = {
        column: getattr(row, column)
        for column in (
            "reimbursement_id",
            "enrolment_id",
            "share",
            "amount",
            "status",
            "certificate_id",
            "certificate_revoked",
            "paid_on",
            "reference",
            "bank_name",
            "bank_account",
        )
    }
    return {
        **view,
        "employee_id": enrolment.employee_id,
        "unit_id": enrolment.unit_id,
        "kind": enrolment.kind,
        "recovered_on": recovery and recovery.recovered_on,
        "recovery_reference": recovery and recovery.reference,
    }


def accounts(session: Session, identity: Identity, campaign_id: str | None) -> list[Account]:
    query = select(Account).order_by(Account.code)
    unit_id = unit_scope(identity)
    if unit_id:
        query = query.where(Account.unit_id == unit_id)
    if campaign_id:
        query = query.where(Account.campaign_id == campaign_id)
    return list(session.scalars(query))
