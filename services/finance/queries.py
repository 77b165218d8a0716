"""The read side: what each caller may see, shaped for the API."""

from __future__ import annotations

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.paging import Listing
from servicekit.refusals import Forbidden, NotFound

from . import schemas
from .models import (
    Account,
    Breakdown,
    BreakdownLine,
    Campaign,
    Charge,
    Enrolment,
    Payment,
    Recovery,
    Reimbursement,
    Transfer,
)
from .scoping import scoped


def filtered(query: Select, args: dict, columns: dict) -> Select:
    """`query` narrowed by each filter the caller gave: {argument name: column}."""
    for name, column in columns.items():
        if args.get(name):
            query = query.where(column == args[name])
    return query


ENROLMENT_FILTERS = {
    "campaign_id": Enrolment.campaign_id,
    "unit_id": Enrolment.unit_id,
    "institution_id": Enrolment.institution_id,
    "programme_id": Enrolment.programme_id,
    "kind": Enrolment.kind,
}

BREAKDOWNS = Listing(
    "Breakdowns",
    id=Breakdown.enrolment_id,
    sorts={"computed_at": Breakdown.computed_at},
    default_sort="id",
    filters={**ENROLMENT_FILTERS, "status": Breakdown.status, "payment_status": Breakdown.payment_status},
    ranges={"computed_at": Breakdown.computed_at},
    base=schemas.BreakdownArgs,
)
PAYMENTS = Listing(
    "Payments",
    id=Payment.payment_id,
    sorts={"recorded_at": Payment.recorded_at, "paid_on": Payment.paid_on, "amount": Payment.amount},
    default_sort="recorded_at",
    filters={**ENROLMENT_FILTERS, "enrolment_id": Payment.enrolment_id},
    ranges={"paid_on": Payment.paid_on, "recorded_at": Payment.recorded_at},
    search=lambda q: Payment.reference.contains(q, autoescape=True),
    search_help="the payment's reference",
    base=schemas.PaymentArgs,
)
TRANSFERS = Listing(
    "Transfers",
    id=Transfer.transfer_id,
    sorts={"recorded_at": Transfer.recorded_at, "transferred_on": Transfer.transferred_on, "amount": Transfer.amount},
    default_sort="recorded_at",
    filters={"campaign_id": Transfer.campaign_id, "unit_id": Transfer.unit_id, "kind": Transfer.kind},
    ranges={"transferred_on": Transfer.transferred_on},
    search=lambda q: Transfer.reference.contains(q, autoescape=True),
    search_help="the transfer document's reference",
    base=schemas.TransferArgs,
)
REIMBURSEMENTS = Listing(
    "Reimbursements",
    id=Reimbursement.reimbursement_id,
    sorts={"created_at": Reimbursement.created_at, "amount": Reimbursement.amount},
    default_sort="created_at",
    filters={**ENROLMENT_FILTERS, "status": Reimbursement.status, "share": Reimbursement.share},
    ranges={"created_at": Reimbursement.created_at},
    base=schemas.ReimbursementArgs,
)
RECOVERIES = Listing(
    "Recoveries",
    id=Reimbursement.reimbursement_id,
    sorts={"created_at": Reimbursement.created_at},
    default_sort="created_at",
    filters=ENROLMENT_FILTERS,
    base=schemas.RecoveryArgs,
)
ACCOUNTS = Listing(
    "Accounts",
    id=Account.account_id,
    sorts={"code": Account.code},
    default_sort="code",
    filters={
        "campaign_id": Account.campaign_id,
        "unit_id": Account.unit_id,
        "type": Account.type,
        "kind": Account.kind,
    },
    search=lambda q: Account.code.contains(q, autoescape=True),
    search_help="the account's code",
    base=schemas.ListArgs,
)


def unit_scope(identity: Identity) -> str | None:
    """Money of units: the federation sees every unit (None), a unit officer its own; others nothing."""
    if identity.is_federation:
        return None
    if identity.role == "unit_officer":
        return identity.unit_id
    raise Forbidden("Only the federation and unit officers see units' money.")


def lines_of(session: Session, enrolment_id: str) -> list[BreakdownLine]:
    return lines_of_all(session, [enrolment_id])


def lines_of_all(session: Session, enrolment_ids: list[str]) -> list[BreakdownLine]:
    """The enrolments' breakdown lines in one statement, each enrolment's in their order."""
    if not enrolment_ids:
        return []
    return list(
        session.scalars(
            select(BreakdownLine)
            .where(BreakdownLine.enrolment_id.in_(enrolment_ids))
            .order_by(BreakdownLine.enrolment_id, BreakdownLine.position)
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


def breakdowns(session: Session, identity: Identity, args: dict) -> tuple[list[dict], dict]:
    query = select(Enrolment, Breakdown).join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
    return BREAKDOWNS.page(
        session, scoped(query, identity), args, view=lambda rows: [breakdown_view(session, *row) for row in rows]
    )


def payments(session: Session, identity: Identity, args: dict) -> tuple[list[Payment], dict]:
    query = select(Payment).join(Enrolment, Enrolment.enrolment_id == Payment.enrolment_id)
    if args.get("flagged") is not None:
        flagged = Payment.status != "full"
        query = query.where(flagged if args["flagged"] else ~flagged)
    return PAYMENTS.page(session, scoped(query, identity), args)


def transfers(session: Session, identity: Identity, args: dict) -> tuple[list[Transfer], dict]:
    unit_id = unit_scope(identity)
    return TRANSFERS.page(
        session, filtered(select(Transfer), {"unit_id": unit_id}, {"unit_id": Transfer.unit_id}), args
    )


def reimbursements(session: Session, identity: Identity, args: dict) -> tuple[list[dict], dict]:
    if identity.role.startswith("institution") or identity.role == "grassroots_officer":
        raise Forbidden("Reimbursements are seen by the federation, the unit and the student.")
    return REIMBURSEMENTS.page(
        session, scoped(_with_recovery(), identity), args, view=lambda rows: [reimbursement_view(*r) for r in rows]
    )


def recoveries(session: Session, identity: Identity, args: dict) -> tuple[list[dict], dict]:
    """Shares paid before their certificate was revoked: due (to recover) or recovered; a unit its own."""
    unit_id = unit_scope(identity)
    due = and_(Reimbursement.status == "paid", Reimbursement.certificate_revoked)
    wanted = {"due": due, "recovered": Reimbursement.status == "recovered"}
    query = filtered(_with_recovery(), {"unit_id": unit_id}, {"unit_id": Enrolment.unit_id})
    query = query.where(wanted[args["status"]] if args.get("status") else or_(*wanted.values()))
    return RECOVERIES.page(session, query, args, view=lambda rows: [reimbursement_view(*r) for r in rows])


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


def accounts(session: Session, identity: Identity, args: dict) -> tuple[list[Account], dict]:
    unit_id = unit_scope(identity)
    return ACCOUNTS.page(session, filtered(select(Account), {"unit_id": unit_id}, {"unit_id": Account.unit_id}), args)


def payment_template_rows(session: Session, identity: Identity, campaign_id: str) -> list[dict]:
    """The payments import prefilled: one row per registered (or admitted) student of the institution in the
    campaign who still owes the institution part of the fee, the amount column holding what is still due; the
    date and the receipt's reference are the institution's to fill in. Finance holds no names (the enrolment id
    and the programme identify the student)."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(_("No campaign {campaign_id}.").format(campaign_id=campaign_id))
    owing = session.execute(
        select(Enrolment.enrolment_id, Enrolment.programme_id, Breakdown.total, Breakdown.paid)
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .where(
            Enrolment.campaign_id == campaign_id,
            Enrolment.institution_id == identity.institution_id,
            Enrolment.status.in_(("registered", "admitted")),
            Breakdown.status == "active",
            Breakdown.paid < Breakdown.total,
        )
        .order_by(Enrolment.programme_id, Enrolment.enrolment_id)
    )
    return [
        {
            "enrolment_id": row.enrolment_id,
            "amount": show(row.total - row.paid),
            "programme_id": row.programme_id,
            "total": show(row.total),
            "paid": show(row.paid),
        }
        for row in owing
    ]
