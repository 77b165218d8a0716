"""Use cases on an enrolment's fees: its breakdown, and what the employee paid the institution."""

from __future__ import annotations

import logging
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.bus.envelope import Envelope
from servicekit.columns import insert_checked
from servicekit.db import UnitOfWork, among, utcnow
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
from .queries import lines_of, lines_of_all
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
    return _policies(session, [campaign])[campaign.campaign_id]


def _policies(session: Session, campaigns: list[Campaign]) -> dict[str, rules.CampaignPolicy]:
    """`campaign_policy` of each campaign, their raises read in one statement."""
    raises: dict[str, dict[str, Decimal]] = {campaign.campaign_id: {} for campaign in campaigns}
    for campaign_id, trade, rate in session.execute(
        select(RateRaise.campaign_id, RateRaise.trade, func.max(RateRaise.rate_after))
        .where(RateRaise.campaign_id.in_(list(raises)))
        .group_by(RateRaise.campaign_id, RateRaise.trade)
    ):
        raises[campaign_id][trade] = Decimal(rate)
    return {
        campaign.campaign_id: rules.CampaignPolicy(
            academic_subsidy=campaign.academic_subsidy,
            skills_federation_rate=Decimal(campaign.skills_federation_rate),
            skills_rate_overrides={trade: Decimal(rate) for trade, rate in campaign.skills_rate_overrides.items()},
        ).raised(raises[campaign.campaign_id])
        for campaign in campaigns
    }


def locked_policies(session: Session, campaign_ids: set[str]) -> dict[str, rules.CampaignPolicy]:
    """The policies, with the campaign rows share-locked: a rate raise (which locks its campaign for update)
    waits for breakdowns being settled, and they wait for it, so none is settled at a rate the raise missed."""
    campaigns = session.scalars(
        select(Campaign)
        .where(Campaign.campaign_id.in_(sorted(campaign_ids)))
        .order_by(Campaign.campaign_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    ).all()
    missing = campaign_ids - {campaign.campaign_id for campaign in campaigns}
    if missing:
        raise LookupError(f"campaign {min(missing)} not published yet")  # retried until it is
    return _policies(session, list(campaigns))


def unit_policy(session: Session, unit_id: str) -> rules.UnitPolicy:
    return _unit_policy(session.get(UnitPolicyRow, unit_id))


def unit_policies(session: Session, unit_ids: set[str]) -> dict[str, rules.UnitPolicy]:
    """`unit_policy` of each unit, read in one statement."""
    rows = {
        row.unit_id: row
        for row in session.scalars(select(UnitPolicyRow).where(among(session, UnitPolicyRow.unit_id, sorted(unit_ids))))
    }
    return {unit_id: _unit_policy(rows.get(unit_id)) for unit_id in unit_ids}


def _unit_policy(row: UnitPolicyRow | None) -> rules.UnitPolicy:
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
    return _as_rules(lines_of(session, enrolment_id))


def _as_rules(lines: list[BreakdownLine]) -> rules.Breakdown:
    return rules.Breakdown(
        tuple(rules.Line(line.line, line.amount, line.federation, line.unit, line.employee) for line in lines)
    )


def charges_of(session: Session, enrolment_id: str) -> dict[str, Decimal]:
    return _charges(session, [enrolment_id]).get(enrolment_id, {})


def _charges(session: Session, enrolment_ids: list[str]) -> dict[str, dict[str, Decimal]]:
    """The enrolments' extra charges summed by kind, read in one statement."""
    charges: dict[str, dict[str, Decimal]] = {}
    for enrolment_id, line, amount in session.execute(
        select(Charge.enrolment_id, Charge.line, func.sum(Charge.amount))
        .where(among(session, Charge.enrolment_id, enrolment_ids))
        .group_by(Charge.enrolment_id, Charge.line)
    ):
        charges.setdefault(enrolment_id, {})[line] = Decimal(amount)
    return charges


def settle_breakdowns(
    uow: UnitOfWork, settling: list[tuple[Enrolment, dict[str, str], Envelope]]
) -> list[Breakdown | None]:
    """Compute (or recompute, after a transfer) each (enrolment, fees, event) breakdown from the fees that apply;
    extra charges already recorded stay. Per enrolment (each once in the list), its breakdown, or None if
    nothing changed. What they need is read in one statement per table, the changes written in one, and each
    breakdown.settled is caused by its event.

    Once the federation's share is owed on a certificate, the fees are final.
    """
    if not settling:
        return []
    session = uow.session
    ids = [enrolment.enrolment_id for enrolment, _, _ in settling]
    policies = locked_policies(session, {enrolment.campaign_id for enrolment, _, _ in settling})
    certified = set(
        session.scalars(
            select(Reimbursement.enrolment_id).where(
                among(session, Reimbursement.enrolment_id, ids), Reimbursement.share == "federation"
            )
        )
    )
    units = unit_policies(session, {enrolment.unit_id for enrolment, _, _ in settling})
    rows = {
        row.enrolment_id: row
        for row in session.scalars(
            select(Breakdown)
            .where(among(session, Breakdown.enrolment_id, sorted(ids)))
            .order_by(Breakdown.enrolment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    charges = _charges(session, ids)
    storing, causes = [], []
    for enrolment, fees, cause in settling:
        if enrolment.enrolment_id in certified:
            log.warning(
                "breakdown final after certificate; fee change ignored", extra={"enrolment_id": enrolment.enrolment_id}
            )
            continue
        result = rules.breakdown(
            enrolment.kind,
            {name: Decimal(fees[name]) for name in rules.FEE_LINES},
            enrolment.trade,
            policies[enrolment.campaign_id],
            units[enrolment.unit_id],
        )
        storing.append(
            (
                enrolment,
                rows.get(enrolment.enrolment_id),
                rules.with_charges(result, charges.get(enrolment.enrolment_id, {})),
            )
        )
        causes.append(cause)
    written = _write(
        session, [(enrolment, row, result, "active") for enrolment, row, result in storing], lines_in_bulk=True
    )
    uow.publish_caused(
        [
            ("breakdown.settled", _settled(enrolment, *done), cause)
            for (enrolment, _, _), done, cause in zip(storing, written, causes, strict=True)
            if done is not None
        ]
    )
    settled = {
        enrolment.enrolment_id: done[0] for (enrolment, _, _), done in zip(storing, written, strict=True) if done
    }
    return [settled.get(enrolment_id) for enrolment_id in ids]


def store(
    uow: UnitOfWork, enrolment: Enrolment, row: Breakdown | None, result: rules.Breakdown, *, status: str = "active"
) -> Breakdown | None:
    """Write the breakdown (`row` locked, or None for a new one): a change counts one revision and is
    announced by breakdown.settled; the same lines again change nothing (None). `status`: a refund keeps a
    cancelled breakdown cancelled."""
    [done] = _write(uow.session, [(enrolment, row, result, status)])
    if done is None:
        return None
    uow.publish("breakdown.settled", _settled(enrolment, *done))
    return done[0]


def _write(
    session: Session,
    storing: list[tuple[Enrolment, Breakdown | None, rules.Breakdown, str]],
    *,
    lines_in_bulk: bool = False,
) -> list[tuple[Breakdown, tuple[rules.Line, ...]] | None]:
    """`store` for each (enrolment, row, result, status) of distinct enrolments, one statement per table:
    the breakdown and its lines as written, or None if unchanged.

    `lines_in_bulk`: the new lines go in one INSERT of their values, not as ORM rows (building and flushing a
    registration's five or six as ORM rows was about half of the batched handler's time in a profile; finance's
    worker spends about 15 % less a registration without); an audited decision (servicekit.audit) sees only ORM
    rows, so a use case a person decides keeps them."""
    held: dict[str, list[BreakdownLine]] = {}
    for line in lines_of_all(session, [item[1].enrolment_id for item in storing if item[1] is not None]):
        held.setdefault(line.enrolment_id, []).append(line)
    rows: list[Breakdown | None] = []
    for enrolment, row, result, status in storing:
        lines = held.get(enrolment.enrolment_id, [])
        if row is not None and row.status == "active" and _as_rules(lines) == result:
            rows.append(None)
            continue
        if row is None:
            row = Breakdown(enrolment_id=enrolment.enrolment_id, paid=Decimal("0.00"), revision=0)
            session.add(row)
        else:
            for line in lines:
                session.delete(line)
        row.status, row.computed_at, row.revision = status, utcnow(), row.revision + 1
        row.total, row.federation, row.unit = result.total, result.federation, result.unit
        row.employee, row.payment_status = result.employee, payment_state(result.total, row.paid)
        rows.append(row)
    session.flush()
    written: list[tuple[Breakdown, tuple[rules.Line, ...]] | None] = []
    values = []
    for (_enrolment, _row, result, _status), row in zip(storing, rows, strict=True):
        if row is None:
            written.append(None)
            continue
        values += [
            {
                "enrolment_id": row.enrolment_id,
                "line": line.name,
                "position": position,
                **{name: getattr(line, name) for name in ("amount", *rules.PAYERS)},
            }
            for position, line in enumerate(result.lines)
        ]
        written.append((row, result.lines))
    if lines_in_bulk:
        insert_checked(session, BreakdownLine, values)
    else:
        session.add_all(BreakdownLine(**line) for line in values)
        session.flush()
    return written


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
        uow.publish("breakdown.settled", _settled(enrolment, row, stored(session, row.enrolment_id).lines))
    for owed in session.scalars(
        select(Reimbursement).where(
            Reimbursement.enrolment_id == enrolment.enrolment_id,
            Reimbursement.status.in_(("payable", "awaiting_funds", "awaiting_payment")),
        )
    ):
        owed.status = "cancelled"


def _settled(enrolment: Enrolment, row: Breakdown, lines: tuple[rules.Line, ...]) -> dict:
    """breakdown.settled: the lines as they stand; a cancelled breakdown keeps its lines, nothing is payable."""
    return {
        "enrolment_id": enrolment.enrolment_id,
        "revision": row.revision,
        "campaign_id": enrolment.campaign_id,
        "unit_id": enrolment.unit_id,
        "institution_id": enrolment.institution_id,
        "kind": enrolment.kind,
        "status": "settled" if row.status == "active" else "cancelled",
        "lines": [
            {"line": line.name, **{name: show(getattr(line, name)) for name in ("amount", *rules.PAYERS)}}
            for line in lines
        ],
        "total": show(row.total),
        **{name: show(getattr(row, name)) for name in rules.PAYERS},
    }


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
