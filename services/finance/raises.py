"""Use case: the federation raises its skills rate for one trade, within what is left of the skills fund.

What is left (the skills surplus) is the campaign's skills fund less every federation
share finance has committed or paid on skills enrolments: the federation total of
each active skills breakdown (owed or not yet owed, set aside, paid). A cancelled
breakdown (a withdrawal) commits nothing.

The raise must also fit each unit: the skills money is apportioned to the
first-level units (their allocation lines), so for every unit with enrolments the
raise changes, its extra cost must fit what is left of the unit's skills
allocation (the allocation less the same commitments, counted for that unit).
One unit short refuses the whole raise, naming each unit short and by how much.

A raise applies at once to the campaign's active skills enrolments of the trade
whose federation share is not paid yet (their breakdowns are recomputed, owed
shares follow, in the ledger too), and to every later registration of the trade.
Shares already paid stay as paid.
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
from servicekit.refusals import Conflict, Invalid, NotFound, refusal

from . import fees, funds, rules
from .models import Breakdown, Campaign, Enrolment, RateRaise, Reimbursement
from .reimbursements import follow_breakdown

RATE_NOT_RAISED = refusal(
    Invalid,
    "finance_rate_not_raised",
    "A raise must set the trade's federation rate above its current rate",
    "调整后的市总补助比例须高于该工种现行比例",
)
SURPLUS_SHORT = refusal(
    Conflict,
    "finance_skills_surplus_insufficient",
    "The raise costs more than is left of the skills fund",
    "提高补助比例所需经费超过技能培训专项资金结余",
)
UNIT_SHORT = refusal(
    Conflict,
    "finance_unit_skills_allocation_insufficient",
    "The raise costs some units more than is left of their skills allocation",
    "提高补助比例所需经费超过部分单位技能培训补助额度结余",
)
PAID = ("paid", "recovered")


def committed(session: Session, campaign_id: str, unit_id: str | None = None) -> Decimal:
    """Federation shares committed or paid on the campaign's skills enrolments (of one unit if given)."""
    query = (
        select(func.coalesce(func.sum(Breakdown.federation), 0))
        .join(Enrolment, Enrolment.enrolment_id == Breakdown.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id, Enrolment.kind == "skills", Breakdown.status == "active")
    )
    if unit_id is not None:
        query = query.where(Enrolment.unit_id == unit_id)
    return Decimal(session.scalar(query))


def raise_rate(uow: UnitOfWork, identity: Identity, campaign_id: str, body: dict, cause: str) -> RateRaise:
    session = uow.session
    # locked for update: one raise at a time, and no breakdown of the campaign settled meanwhile
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise NotFound(_("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
    trade, rate = body["trade"], body["rate"]
    before = fees.campaign_policy(session, campaign).federation_rate(trade)
    if rate <= before:
        raise RATE_NOT_RAISED(
            _("The federation pays {before:.4f} of the {trade} training fee already.").format(
                before=before, trade=trade
            ),
            errors={"rate": [_("Must be above {before:.4f}.").format(before=before)]},
        )
    recomputed = list(_recomputed(session, campaign_id, trade, rate))
    extra = sum((result.federation - row.federation for _, row, result in recomputed), Decimal("0.00"))
    left = campaign.skills_fund - committed(session, campaign_id)
    if extra > left:
        raise SURPLUS_SHORT(
            _("The raise adds {extra} to {count} enrolments; {left} is left of the skills fund.").format(
                extra=show(extra), count=len(recomputed), left=show(left)
            ),
        )
    _check_units(session, campaign, recomputed)
    record = RateRaise(
        raise_id=str(uuid.uuid4()),
        cause=cause,
        campaign_id=campaign_id,
        trade=trade,
        rate_before=before,
        rate_after=rate,
        extra_cost=extra,
        enrolments=len(recomputed),
        surplus_before=left,
        surplus_after=left - extra,
        reason=body["reason"],
        raised_by=identity.subject,
        raised_at=utcnow(),
    )
    session.add(record)
    session.flush()
    for enrolment, row, result in recomputed:
        fees.store(uow, enrolment, row, result)
        follow_breakdown(session, enrolment, f"raise:{record.raise_id}")
    return record


def _check_units(session: Session, campaign: Campaign, recomputed: list) -> None:
    """Refuse the raise if any unit's extra cost exceeds what is left of that unit's skills allocation."""
    extra_by_unit: dict[str, Decimal] = {}
    for enrolment, row, result in recomputed:
        extra_by_unit[enrolment.unit_id] = (
            extra_by_unit.get(enrolment.unit_id, Decimal("0.00")) + result.federation - row.federation
        )
    short = {}
    for unit_id, extra in sorted(extra_by_unit.items()):
        left = funds.allocated(session, campaign, unit_id, "skills") - committed(session, campaign.campaign_id, unit_id)
        if extra > left:
            short[unit_id] = [
                f"Short by {show(extra - left)}: the raise adds {show(extra)}, "
                f"{show(left)} is left of the unit's skills allocation."
            ]
    if short:
        raise UNIT_SHORT(
            _("The raise does not fit the skills allocation of {count} unit(s): {units}.").format(
                count=len(short), units=", ".join(short)
            ),
            errors=short,
        )


def _recomputed(session: Session, campaign_id: str, trade: str, rate: Decimal):
    """(enrolment, its breakdown locked, the breakdown at the raised rate) for every active skills
    enrolment of the trade whose federation share is not paid yet and which the raise changes."""
    rows = session.execute(
        select(Enrolment, Breakdown)
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .where(
            Enrolment.campaign_id == campaign_id,
            Enrolment.kind == "skills",
            Enrolment.trade == trade,
            Breakdown.status == "active",
        )
        .order_by(Enrolment.enrolment_id)
        .with_for_update(of=Breakdown)
    ).all()
    for enrolment, row in rows:
        share = session.scalar(
            select(Reimbursement.status)
            .where(Reimbursement.enrolment_id == enrolment.enrolment_id, Reimbursement.share == "federation")
            .with_for_update()
        )
        current = fees.stored(session, enrolment.enrolment_id)
        result = rules.reshare(current, rate)
        if share not in PAID and result != current:
            yield enrolment, row, result
