"""Finance's part of a campaign's close-out: reimbursements paid and funds transferred (checklist), and per
first-level unit and per institution the money per payer (fees, the federation's, the unit's and the employee's
shares of active breakdowns), what the employees paid and got back, the shares reimbursed; per unit also what
was transferred, what it holds unspent (its free earmarked balance) and what went back to the pool at the close."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.closing import checklist_item
from servicekit.money import show

from . import ledger
from .funds import KINDS, closed_out, standing, transferred
from .models import Allocation, Breakdown, Campaign, Enrolment, Refund, Reimbursement
from .reimbursements import OWED

ZERO = Decimal("0.00")
SHARES = ("total", "federation", "unit", "employee", "paid")


def part(session: Session, campaign_id: str) -> dict:
    campaign = session.get(Campaign, campaign_id)
    owed = [
        f"{enrolment.unit_id} {row.share} {show(row.amount)} ({row.status}) {row.reimbursement_id}"
        for row, enrolment in session.execute(
            select(Reimbursement, Enrolment)
            .join(Enrolment, Enrolment.enrolment_id == Reimbursement.enrolment_id)
            .where(Enrolment.campaign_id == campaign_id, Reimbursement.status.in_(OWED))
            .order_by(Enrolment.unit_id, Reimbursement.reimbursement_id)
        )
    ]
    reimbursements = session.scalar(
        select(func.count())
        .select_from(Reimbursement)
        .join(Enrolment, Enrolment.enrolment_id == Reimbursement.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id, Reimbursement.status != "cancelled")
    )
    unit_ids = sorted(set(session.scalars(select(Allocation.unit_id).where(Allocation.campaign_id == campaign_id))))
    untransferred, units = [], {}
    for unit_id in unit_ids:
        figures = units.setdefault(unit_id, _money_figures())
        for kind in KINDS:
            if campaign is not None:
                gap, excess = standing(session, campaign, unit_id, kind)
                if gap or excess:
                    untransferred.append(
                        f"{unit_id} {kind}: "
                        + (f"not transferred {show(gap)}" if gap else f"to reclaim {show(excess)}")
                    )
            figures["transferred"] += transferred(session, campaign_id, unit_id, kind)
            figures["returned_at_close"] += closed_out(session, campaign_id, unit_id, kind)
            figures["unspent"] += ledger.balance(session, ledger.code("earmarked", campaign_id, kind, unit_id))
    institutions: dict[str, dict] = {}
    for enrolment, breakdown in session.execute(
        select(Enrolment, Breakdown)
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id)
    ):
        for figures in (
            units.setdefault(enrolment.unit_id, _money_figures()),
            institutions.setdefault(enrolment.institution_id, _money_figures(per_unit=False)),
        ):
            if breakdown.status == "active":
                for name in ("federation", "unit", "employee"):
                    figures[name] += getattr(breakdown, name)
                figures["fees"] += breakdown.total
            figures["paid_by_employees"] += breakdown.paid
    for enrolment, row in session.execute(
        select(Enrolment, Reimbursement)
        .join(Reimbursement, Reimbursement.enrolment_id == Enrolment.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id, Reimbursement.status.in_(("paid", "recovered")))
    ):
        for figures in (units[enrolment.unit_id], institutions[enrolment.institution_id]):
            figures[f"{row.share}_reimbursed"] += row.amount if row.status == "paid" else ZERO
    for enrolment, refund in session.execute(
        select(Enrolment, Refund)
        .join(Refund, Refund.enrolment_id == Enrolment.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id)
    ):
        for figures in (units[enrolment.unit_id], institutions[enrolment.institution_id]):
            figures["refunded"] += refund.refunded
            figures["federation_reimbursed"] -= refund.to_federation
            figures["unit_reimbursed"] -= refund.to_unit
    return {
        "campaign_id": campaign_id,
        "checklist": [
            checklist_item("reimbursements_paid", reimbursements, owed),
            checklist_item("funds_transferred", len(unit_ids) * len(KINDS), untransferred),
        ],
        "units": {key: _shown(figures) for key, figures in units.items()},
        "institutions": {key: _shown(figures) for key, figures in institutions.items()},
    }


def _money_figures(per_unit: bool = True) -> dict[str, Decimal]:
    names = ["fees", "federation", "unit", "employee", "paid_by_employees", "refunded"]
    names += ["federation_reimbursed", "unit_reimbursed"]
    if per_unit:
        names += ["transferred", "unspent", "returned_at_close"]
    return dict.fromkeys(names, ZERO)


def _shown(figures: dict[str, Decimal]) -> dict[str, str]:
    return {name: show(value) for name, value in figures.items()}
