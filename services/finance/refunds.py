"""Refunds after a withdrawal, by the fee's breakdown and the campaign's refund rule.

The institution records, once per withdrawn enrolment, the refund it paid: whether the student sat the
appraisal exam and received the textbooks (a consumed line is never refunded). Finance works out each
line's refund from the campaign's rule (rules.RefundPolicy: before admission, after admission), shrinks the
breakdown line by line with each payer's share scaled down exactly to the fen, and sends the refunded
money first back where a reimbursement paid beyond the shares now due came from: the federation's part
into the unit's earmarked account (a ledger posting caused by the refund), the unit's part to the unit, the
rest to the employee. What the refund cannot cover is reported as left to recover.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.db import UnitOfWork, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Conflict, NotFound, refusal

from . import fees, ledger, reimbursements, rules
from .models import Breakdown, Campaign, Refund, RefundPolicyRow, Reimbursement

NOT_WITHDRAWN = refusal(
    Conflict,
    "finance_refund_not_withdrawn",
    "A refund follows a withdrawal: this enrolment is not withdrawn",
    "退费仅适用于已退学的学员：该学员未退学",
)
REFUND_RECORDED = refusal(
    Conflict,
    "finance_refund_recorded",
    "This enrolment's refund is recorded already, differently",
    "该学员的退费已登记，且与本次内容不同",
)


def policy(session: Session, campaign_id: str) -> rules.RefundPolicy:
    row = session.get(RefundPolicyRow, campaign_id)
    if row is None:
        return rules.RefundPolicy()
    return rules.RefundPolicy(
        {stage: {line: Decimal(value) for line, value in lines.items()} for stage, lines in row.fractions.items()}
    )


def policy_view(campaign_id: str, refund_policy: rules.RefundPolicy, custom: bool) -> dict:
    return {
        "campaign_id": campaign_id,
        "custom": custom,
        **{
            stage: {
                line: f"{refund_policy.fractions[stage].get(line, rules.ZERO).normalize():f}"
                for line in rules.REFUND_LINES
            }
            for stage in rules.REFUND_STAGES
        },
        "consumed_by": dict(rules.CONSUMED_BY),
    }


def get_policy(session: Session, campaign_id: str) -> dict:
    if session.get(Campaign, campaign_id) is None:
        raise NotFound(_("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
    return policy_view(campaign_id, policy(session, campaign_id), session.get(RefundPolicyRow, campaign_id) is not None)


def set_policy(session: Session, identity: Identity, campaign_id: str, body: dict) -> dict:
    """The federation's refund rule for the campaign; a line left out is not refunded."""
    get_policy(session, campaign_id)  # the campaign is known
    fractions = {stage: {line: str(value) for line, value in body[stage].items()} for stage in rules.REFUND_STAGES}
    rules.RefundPolicy({s: {k: Decimal(v) for k, v in lines.items()} for s, lines in fractions.items()})  # checks
    row = session.get(RefundPolicyRow, campaign_id, with_for_update=True)
    if row is None:
        row = RefundPolicyRow(campaign_id=campaign_id)
        session.add(row)
    row.fractions, row.updated_by, row.updated_at = fractions, identity.subject, utcnow()
    session.flush()
    return get_policy(session, campaign_id)


def _paid(session: Session, enrolment_id: str, share: str) -> Decimal:
    return Decimal(
        session.scalar(
            select(func.coalesce(func.sum(Reimbursement.amount), 0)).where(
                Reimbursement.enrolment_id == enrolment_id,
                Reimbursement.share == share,
                Reimbursement.status == "paid",
            )
        )
    )


def record(uow: UnitOfWork, identity: Identity, enrolment_id: str, body: dict, cause: str) -> tuple[Refund, bool]:
    """The institution's refund to a withdrawn student; the same refund again records nothing. (refund, new)."""
    session = uow.session
    enrolment = fees.visible_enrolment(session, identity, enrolment_id, lock=True)
    earlier = session.scalar(select(Refund).where(Refund.enrolment_id == enrolment_id))
    if earlier is not None:
        if (earlier.refunded_on, earlier.reference, earlier.exam_taken, earlier.textbooks_issued) != (
            body["refunded_on"],
            body["reference"],
            body["exam_taken"],
            body["textbooks_issued"],
        ):
            raise REFUND_RECORDED(
                _("Refunded {amount} on {refunded_on} ({reference}).").format(
                    amount=show(earlier.refunded),
                    refunded_on=earlier.refunded_on.isoformat(),
                    reference=earlier.reference,
                ),
            )
        return earlier, False
    if enrolment.status != "withdrawn":
        raise NOT_WITHDRAWN(_("The enrolment is {status}.").format(status=enrolment.status))
    row = session.get(Breakdown, enrolment_id, with_for_update=True)
    if row is None:
        raise NotFound("This enrolment has no fee breakdown yet.")
    stage = "after_admission" if enrolment.admitted_on else "before_admission"
    consumed = frozenset(name for name in ("exam_taken", "textbooks_issued") if body[name])
    result = rules.refund(
        fees.stored(session, enrolment_id), row.paid, stage, policy(session, enrolment.campaign_id), consumed
    )
    active = row.status == "active"  # certified before withdrawing: the shares now due stay owed
    owed_back = {
        share: max(
            _paid(session, enrolment_id, share) - (getattr(result.after, share) if active else rules.ZERO), rules.ZERO
        )
        for share in ("federation", "unit")
    }
    to_federation, to_unit, to_employee, left = rules.recovered(
        result.refunded, owed_back["federation"], owed_back["unit"]
    )
    refund = Refund(
        refund_id=str(uuid.uuid4()),
        enrolment_id=enrolment_id,
        cause=cause,
        stage=stage,
        exam_taken=body["exam_taken"],
        textbooks_issued=body["textbooks_issued"],
        refunded=result.refunded,
        to_federation=to_federation,
        to_unit=to_unit,
        to_employee=to_employee,
        left_to_recover=left,
        lines=[
            {"line": line.name, **{name: show(getattr(line, name)) for name in ("amount", *rules.PAYERS)}}
            for line in result.back.lines
            if line.amount
        ],
        refunded_on=body["refunded_on"],
        reference=body["reference"],
        recorded_by=identity.subject,
        recorded_at=utcnow(),
    )
    session.add(refund)
    row.paid -= result.refunded
    row.payment_status = fees.payment_state(row.total, row.paid)
    session.flush()
    fees.store(uow, enrolment, row, result.after, status=row.status)
    if to_federation:
        earmarked, _payable, paid_out = reimbursements.accounts(enrolment)
        ledger.post(
            session,
            f"refund:{refund.refund_id}:federation",
            "withdrawal refund: federation share reimbursed beyond what is due comes back",
            enrolment.campaign_id,
            [ledger.Move(paid_out, earmarked, to_federation)],
            enrolment_id,
        )
    if active:
        reimbursements.follow_breakdown(session, enrolment, cause)
    session.flush()
    return refund, True


def find(session: Session, identity: Identity, enrolment_id: str) -> Refund:
    fees.visible_enrolment(session, identity, enrolment_id)
    refund = session.scalar(select(Refund).where(Refund.enrolment_id == enrolment_id))
    if refund is None:
        raise NotFound(_("No refund recorded for enrolment {enrolment_id}.").format(enrolment_id=enrolment_id))
    return refund
