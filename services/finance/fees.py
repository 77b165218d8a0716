"""Use cases on an enrolment's fees: its breakdown, and what the employee paid the institution."""
from __future__ import annotations

import logging
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit import Problem, define_problem
from servicekit.db import UnitOfWork, utcnow
from servicekit.errors import NOT_FOUND
from servicekit.identity import Identity
from servicekit.money import show

from . import rules
from .models import Breakdown, BreakdownLine, Campaign, Enrolment, Payment, Reimbursement, UnitPolicyRow
from .scoping import sees

log = logging.getLogger(__name__)

BREAKDOWN_CANCELLED = define_problem("finance_breakdown_cancelled", 409,
                                     "The enrolment was withdrawn: its fees are no longer due",
                                     "该学员已退学，费用分担已取消")
REQUEST_REUSED = define_problem("finance_request_reused", 409,
                                "This X-Request-ID was already used for a different request",
                                "该请求编号（X-Request-ID）已用于另一笔不同的操作")


def campaign_policy(campaign: Campaign) -> rules.CampaignPolicy:
    return rules.CampaignPolicy(
        academic_subsidy=campaign.academic_subsidy,
        skills_federation_rate=Decimal(campaign.skills_federation_rate),
        skills_rate_overrides={trade: Decimal(rate) for trade, rate in campaign.skills_rate_overrides.items()},
    )


def unit_policy(session: Session, unit_id: str) -> rules.UnitPolicy:
    row = session.get(UnitPolicyRow, unit_id)
    if row is None:
        return rules.UnitPolicy()
    return rules.UnitPolicy(academic_mode=row.academic_mode, academic_value=row.academic_value,
                            skills_unit_rate=Decimal(row.skills_unit_rate), unit_share_timing=row.unit_share_timing)


def settle_breakdown(session: Session, enrolment: Enrolment, fees: dict[str, str]) -> Breakdown | None:
    """Compute (or recompute, after a transfer) the enrolment's breakdown from the fees that apply.

    Once the federation's share is owed on a certificate, the breakdown is final.
    """
    campaign = session.get(Campaign, enrolment.campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {enrolment.campaign_id} not published yet")  # retried until it is
    if session.scalar(select(Reimbursement.reimbursement_id).where(
            Reimbursement.enrolment_id == enrolment.enrolment_id, Reimbursement.share == "federation")):
        log.warning("breakdown final after certificate; fee change ignored",
                    extra={"enrolment_id": enrolment.enrolment_id})
        return None
    result = rules.breakdown(enrolment.kind, {name: Decimal(fees[name]) for name in rules.FEE_LINES},
                             enrolment.trade, campaign_policy(campaign), unit_policy(session, enrolment.unit_id))
    row = session.get(Breakdown, enrolment.enrolment_id, with_for_update=True)
    if row is None:
        row = Breakdown(enrolment_id=enrolment.enrolment_id, paid=Decimal("0.00"))
        session.add(row)
    else:
        for line in session.scalars(select(BreakdownLine).where(BreakdownLine.enrolment_id == row.enrolment_id)):
            session.delete(line)
    row.status, row.computed_at = "active", utcnow()
    row.total, row.federation, row.unit, row.employee = result.total, result.federation, result.unit, result.employee
    row.payment_status = _payment_status(row.total, row.paid)
    session.flush()
    session.add_all(BreakdownLine(enrolment_id=row.enrolment_id, line=line.name, position=position,
                                  amount=line.amount, federation=line.federation, unit=line.unit,
                                  employee=line.employee)
                    for position, line in enumerate(result.lines))
    session.flush()
    return row


def cancel_breakdown(session: Session, enrolment_id: str) -> None:
    """A withdrawal before certification: nothing is due any more from the federation or the unit."""
    if session.scalar(select(Reimbursement.reimbursement_id).where(
            Reimbursement.enrolment_id == enrolment_id, Reimbursement.share == "federation",
            Reimbursement.status != "cancelled")):
        return  # certified before withdrawing: the federation's share stays owed
    row = session.get(Breakdown, enrolment_id, with_for_update=True)
    if row is not None:
        row.status = "cancelled"
    for owed in session.scalars(select(Reimbursement).where(
            Reimbursement.enrolment_id == enrolment_id, Reimbursement.status.in_(("payable", "awaiting_funds")))):
        owed.status = "cancelled"


def visible_enrolment(session: Session, identity: Identity, enrolment_id: str) -> Enrolment:
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None or not sees(identity, enrolment):
        raise Problem(NOT_FOUND, f"No enrolment {enrolment_id} visible to you.")
    return enrolment


def replayed(session: Session, model, cause: str, same: dict):
    """The row an earlier request with this cause created (its fields must match), or None."""
    earlier = session.scalar(select(model).where(model.cause == cause))
    if earlier is not None and any(getattr(earlier, name) != value for name, value in same.items()):
        raise Problem(REQUEST_REUSED, "Send each new payment or transfer with a new X-Request-ID.")
    return earlier


def record_payment(uow: UnitOfWork, identity: Identity, enrolment_id: str, amount: Decimal, paid_on: date,
                   reference: str | None, cause: str) -> Payment:
    """The institution records what the employee paid; partial and over-payments are flagged."""
    session = uow.session
    enrolment = visible_enrolment(session, identity, enrolment_id)
    earlier = replayed(session, Payment, cause, dict(enrolment_id=enrolment_id, amount=amount))
    if earlier is not None:
        return earlier
    breakdown = session.get(Breakdown, enrolment.enrolment_id, with_for_update=True)
    if breakdown is None:
        raise Problem(NOT_FOUND, "This enrolment has no fee breakdown yet.")
    if breakdown.status == "cancelled":
        raise Problem(BREAKDOWN_CANCELLED)
    breakdown.paid += amount
    breakdown.payment_status = _payment_status(breakdown.total, breakdown.paid)
    payment = Payment(payment_id=str(uuid.uuid4()), cause=cause, enrolment_id=enrolment_id, amount=amount,
                      paid_on=paid_on, reference=reference, status=breakdown.payment_status,
                      recorded_by=identity.subject, recorded_at=utcnow())
    session.add(payment)
    session.flush()
    uow.publish("payment.recorded", {
        "payment_id": payment.payment_id, "enrolment_id": enrolment_id, "amount": show(amount),
        "paid_on": paid_on.isoformat(), "status": payment.status, "campaign_id": enrolment.campaign_id,
        "institution_id": enrolment.institution_id, "paid_total": show(breakdown.paid), "due": show(breakdown.total),
        **({"reference": reference} if reference else {}),
    })
    return payment


def _payment_status(due: Decimal, paid: Decimal) -> str:
    return "unpaid" if not paid else rules.payment_status(due, paid)
