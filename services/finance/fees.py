"""Use cases on an enrolment's fees: its breakdown, and what the employee paid the institution."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.db import UnitOfWork, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Conflict, NotFound, refusal

from . import rules
from .models import (
    Breakdown,
    BreakdownLine,
    Campaign,
    Charge,
    Enrolment,
    Payment,
    RateRaise,
    Reimbursement,
    UnitPolicyRow,
)
from .queries import lines_of
from .scoping import sees

log = logging.getLogger(__name__)

BREAKDOWN_CANCELLED = refusal(
    Conflict,
    "finance_breakdown_cancelled",
    "The enrolment was withdrawn: its fees are no longer due",
    "该学员已退学，费用分担已取消",
)
CHARGE_REFERENCE_REUSED = refusal(
    Conflict,
    "finance_charge_reference_reused",
    "This reference already names a different charge on the enrolment",
    "该学员已有使用此单据号的另一笔费用",
)


def campaign_policy(session: Session, campaign: Campaign) -> rules.CampaignPolicy:
    """The campaign's policy as quota published it, lifted by the federation's raises recorded here."""
    raises = session.execute(
        select(RateRaise.trade, func.max(RateRaise.rate_after))
        .where(RateRaise.campaign_id == campaign.campaign_id)
        .group_by(RateRaise.trade)
    )
    return rules.CampaignPolicy(
        academic_subsidy=campaign.academic_subsidy,
        skills_federation_rate=Decimal(campaign.skills_federation_rate),
        skills_rate_overrides={trade: Decimal(rate) for trade, rate in campaign.skills_rate_overrides.items()},
    ).raised({trade: Decimal(rate) for trade, rate in raises})


def locked_policy(session: Session, campaign_id: str) -> rules.CampaignPolicy:
    """The policy, with the campaign row share-locked: a rate raise (which locks it for update) waits for
    breakdowns being settled, and they wait for it, so none is settled at a rate the raise missed."""
    campaign = session.get(Campaign, campaign_id, with_for_update={"read": True})
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} not published yet")  # retried until it is
    return campaign_policy(session, campaign)


def unit_policy(session: Session, unit_id: str) -> rules.UnitPolicy:
    row = session.get(UnitPolicyRow, unit_id)
    if row is None:
        return rules.UnitPolicy()
    return rules.UnitPolicy(
        academic_mode=row.academic_mode,
        academic_value=row.academic_value,
        skills_unit_rate=Decimal(row.skills_unit_rate),
        unit_share_timing=row.unit_share_timing,
    )


def stored(session: Session, enrolment_id: str) -> rules.Breakdown:
    """The breakdown's lines as they stand."""
    return rules.Breakdown(
        tuple(
            rules.Line(line.line, line.amount, line.federation, line.unit, line.employee)
            for line in lines_of(session, enrolment_id)
        )
    )


def charges_of(session: Session, enrolment_id: str) -> dict[str, Decimal]:
    return {
        line: Decimal(amount)
        for line, amount in session.execute(
            select(Charge.line, func.sum(Charge.amount))
            .where(Charge.enrolment_id == enrolment_id)
            .group_by(Charge.line)
        )
    }


def settle_breakdown(uow: UnitOfWork, enrolment: Enrolment, fees: dict[str, str]) -> Breakdown | None:
    """Compute (or recompute, after a transfer) the enrolment's breakdown from the fees that apply;
    extra charges already recorded stay. None if nothing changed.

    Once the federation's share is owed on a certificate, the fees are final.
    """
    session = uow.session
    policy = locked_policy(session, enrolment.campaign_id)
    if session.scalar(
        select(Reimbursement.reimbursement_id).where(
            Reimbursement.enrolment_id == enrolment.enrolment_id, Reimbursement.share == "federation"
        )
    ):
        log.warning(
            "breakdown final after certificate; fee change ignored", extra={"enrolment_id": enrolment.enrolment_id}
        )
        return None
    result = rules.breakdown(
        enrolment.kind,
        {name: Decimal(fees[name]) for name in rules.FEE_LINES},
        enrolment.trade,
        policy,
        unit_policy(session, enrolment.unit_id),
    )
    row = session.get(Breakdown, enrolment.enrolment_id, with_for_update=True)
    return store(uow, enrolment, row, rules.with_charges(result, charges_of(session, enrolment.enrolment_id)))


def store(
    uow: UnitOfWork, enrolment: Enrolment, row: Breakdown | None, result: rules.Breakdown, *, status: str = "active"
) -> Breakdown | None:
    """Write the breakdown (`row` locked, or None for a new one): a change counts one revision and is
    announced by breakdown.settled; the same lines again change nothing (None). `status`: a refund keeps a
    cancelled breakdown cancelled."""
    session = uow.session
    if row is not None and row.status == "active" and stored(session, row.enrolment_id) == result:
        return None
    if row is None:
        row = Breakdown(enrolment_id=enrolment.enrolment_id, paid=Decimal("0.00"), revision=0)
        session.add(row)
    else:
        for line in lines_of(session, row.enrolment_id):
            session.delete(line)
    row.status, row.computed_at, row.revision = status, utcnow(), row.revision + 1
    row.total, row.federation, row.unit, row.employee = result.total, result.federation, result.unit, result.employee
    row.payment_status = payment_state(row.total, row.paid)
    session.flush()
    session.add_all(
        BreakdownLine(
            enrolment_id=row.enrolment_id,
            line=line.name,
            position=position,
            amount=line.amount,
            federation=line.federation,
            unit=line.unit,
            employee=line.employee,
        )
        for position, line in enumerate(result.lines)
    )
    session.flush()
    _announce(uow, enrolment, row)
    return row


def cancel_breakdown(uow: UnitOfWork, enrolment: Enrolment) -> None:
    """A withdrawal before certification: nothing is due any more from the federation or the unit."""
    session = uow.session
    if session.scalar(
        select(Reimbursement.reimbursement_id).where(
            Reimbursement.enrolment_id == enrolment.enrolment_id,
            Reimbursement.share == "federation",
            Reimbursement.status != "cancelled",
        )
    ):
        return  # certified before withdrawing: the federation's share stays owed
    row = session.get(Breakdown, enrolment.enrolment_id, with_for_update=True)
    if row is not None and row.status != "cancelled":
        row.status, row.revision = "cancelled", row.revision + 1
        session.flush()
        _announce(uow, enrolment, row)
    for owed in session.scalars(
        select(Reimbursement).where(
            Reimbursement.enrolment_id == enrolment.enrolment_id,
            Reimbursement.status.in_(("payable", "awaiting_funds", "awaiting_payment")),
        )
    ):
        owed.status = "cancelled"


def _announce(uow: UnitOfWork, enrolment: Enrolment, row: Breakdown) -> None:
    """breakdown.settled: the lines as they stand; a cancelled breakdown keeps its lines, nothing is payable."""
    uow.publish(
        "breakdown.settled",
        {
            "enrolment_id": enrolment.enrolment_id,
            "revision": row.revision,
            "campaign_id": enrolment.campaign_id,
            "unit_id": enrolment.unit_id,
            "institution_id": enrolment.institution_id,
            "kind": enrolment.kind,
            "status": "settled" if row.status == "active" else "cancelled",
            "lines": [
                {"line": line.line, **{name: show(getattr(line, name)) for name in ("amount", *rules.PAYERS)}}
                for line in lines_of(uow.session, row.enrolment_id)
            ],
            "total": show(row.total),
            **{name: show(getattr(row, name)) for name in rules.PAYERS},
        },
    )


def visible_enrolment(session: Session, identity: Identity, enrolment_id: str, lock: bool = False) -> Enrolment:
    """`lock`: for a change of the enrolment's breakdown, taken before the breakdown's own lock,
    in the order the event handlers take them (else a payment and a handler deadlock)."""
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=lock)
    if enrolment is None or not sees(identity, enrolment):
        raise NotFound(_("No enrolment {enrolment_id} visible to you.").format(enrolment_id=enrolment_id))
    return enrolment


def record_payment(
    uow: UnitOfWork,
    identity: Identity,
    enrolment_id: str,
    amount: Decimal,
    paid_on: date,
    reference: str | None,
    cause: str,
) -> Payment:
    """The institution records what the employee paid; partial and over-payments are flagged."""
    session = uow.session
    enrolment = visible_enrolment(session, identity, enrolment_id, lock=True)
    breakdown = session.get(Breakdown, enrolment.enrolment_id, with_for_update=True)
    if breakdown is None:
        raise NotFound("This enrolment has no fee breakdown yet.")
    if breakdown.status == "cancelled":
        raise BREAKDOWN_CANCELLED()
    breakdown.paid += amount
    breakdown.payment_status = payment_state(breakdown.total, breakdown.paid)
    payment = Payment(
        payment_id=str(uuid.uuid4()),
        cause=cause,
        enrolment_id=enrolment_id,
        amount=amount,
        paid_on=paid_on,
        reference=reference,
        status=breakdown.payment_status,
        recorded_by=identity.subject,
        recorded_at=utcnow(),
    )
    session.add(payment)
    session.flush()
    uow.publish(
        "payment.recorded",
        {
            "payment_id": payment.payment_id,
            "enrolment_id": enrolment_id,
            "amount": show(amount),
            "paid_on": paid_on.isoformat(),
            "status": payment.status,
            "campaign_id": enrolment.campaign_id,
            "institution_id": enrolment.institution_id,
            "paid_total": show(breakdown.paid),
            "due": show(breakdown.total),
            **({"reference": reference} if reference else {}),
        },
    )
    return payment


def record_charge(uow: UnitOfWork, identity: Identity, enrolment_id: str, body: dict) -> tuple[Charge, bool]:
    """The institution adds a re-exam, retake or practice fee the employee alone pays: the breakdown grows
    by that line (its shares unchanged) and is announced again. The same reference again records nothing;
    (the charge, whether it is new)."""
    session = uow.session
    enrolment = visible_enrolment(session, identity, enrolment_id, lock=True)
    row = session.get(Breakdown, enrolment_id, with_for_update=True)  # one charge of an enrolment at a time
    if row is None:
        raise NotFound("This enrolment has no fee breakdown yet.")
    earlier = session.scalar(
        select(Charge).where(Charge.enrolment_id == enrolment_id, Charge.reference == body["reference"])
    )
    if earlier is not None:
        if (earlier.line, earlier.amount, earlier.charged_on) != (body["line"], body["amount"], body["charged_on"]):
            raise CHARGE_REFERENCE_REUSED(
                _("Reference {reference} is a {line} of {amount} on {charged_on}.").format(
                    reference=body["reference"],
                    line=earlier.line,
                    amount=show(earlier.amount),
                    charged_on=earlier.charged_on.isoformat(),
                ),
            )
        return earlier, False
    if row.status == "cancelled":
        raise BREAKDOWN_CANCELLED()
    charge = Charge(
        charge_id=str(uuid.uuid4()),
        enrolment_id=enrolment_id,
        line=body["line"],
        amount=body["amount"],
        charged_on=body["charged_on"],
        reference=body["reference"],
        recorded_by=identity.subject,
        recorded_at=utcnow(),
    )
    session.add(charge)
    session.flush()
    store(uow, enrolment, row, rules.with_charges(stored(session, enrolment_id), charges_of(session, enrolment_id)))
    return charge, True


def payment_state(due: Decimal, paid: Decimal) -> str:
    return "unpaid" if not paid else rules.payment_status(due, paid)
