"""Reports: the per-student training ledger (money part) and fund usage per unit or institution."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Forbidden, NotFound
from servicekit.tabular import Column

from . import ledger, raises, rules
from .fees import campaign_policy
from .funds import KINDS, allocated, fund_of, standing, transferred
from .models import (
    Account,
    Allocation,
    Breakdown,
    BreakdownLine,
    Campaign,
    Enrolment,
    Programme,
    RateRaise,
    Recovery,
    Reimbursement,
    Unit,
)
from .queries import unit_scope
from .scoping import scoped

ZERO = Decimal("0.00")

LEDGER_COLUMNS = [
    Column("enrolment_id", "报名编号 Enrolment"),
    Column("employee_id", "职工编号 Employee"),
    Column("campaign_id", "活动 Campaign"),
    Column("kind", "类别 Kind"),
    Column("unit_id", "单位 Unit"),
    Column("unit_name", "单位名称 Unit name"),
    Column("institution_id", "培训机构 Institution"),
    Column("programme_id", "项目 Programme"),
    Column("major_or_trade", "专业/工种 Major or trade"),
    Column("enrolment_status", "学籍状态 Status"),
    Column("fees_total", "应缴费用 Fees"),
    Column("federation_share", "市总工会承担 Federation share"),
    Column("unit_share", "单位承担 Unit share"),
    Column("employee_share", "个人承担 Employee share"),
    Column("paid_to_institution", "已缴费 Paid"),
    Column("payment_status", "缴费状态 Payment status"),
    Column("federation_reimbursement", "市总补助发放 Federation reimbursement"),
    Column("federation_paid_on", "发放日期 Paid on"),
    Column("unit_reimbursement", "单位补助发放 Unit reimbursement"),
    Column("recovered", "证书撤销后追回 Recovered"),
]

CAMPAIGN_COLUMNS = [
    Column("kind", "类别 Kind"),
    Column("fund", "专项资金 Fund"),
    Column("allocated", "已分配 Allocated"),
    Column("transferred", "已划拨 Transferred"),
    Column("not_transferred", "市总未划拨 In the federation's pool"),
    Column("committed", "已核定待发 Committed"),
    Column("paid", "已发放 Paid"),
    Column("recovered", "证书撤销后追回 Recovered"),
    Column("returned", "已退回 Returned"),
    Column("remaining", "单位可用余额 Remaining at units"),
]

UNIT_COLUMNS = [
    Column("unit_id", "单位 Unit"),
    Column("unit_name", "单位名称 Unit name"),
    Column("kind", "类别 Kind"),
    Column("allocated", "已分配 Allocated"),
    Column("transferred", "已划拨 Transferred"),
    Column("not_transferred", "未划拨 Not yet transferred"),
    Column("to_reclaim", "超分配待收回 Beyond the allocation, to reclaim"),
    Column("committed", "已核定待发 Committed"),
    Column("paid", "已发放 Paid"),
    Column("recovered", "证书撤销后追回 Recovered"),
    Column("returned", "已退回 Returned"),
    Column("remaining", "可用余额 Remaining"),
]

INSTITUTION_COLUMNS = [
    Column("institution_id", "培训机构 Institution"),
    Column("kind", "类别 Kind"),
    Column("students", "在册学员 Students"),
    Column("fees_due", "应缴费用 Fees due"),
    Column("paid_by_employees", "学员已缴 Paid by employees"),
    Column("federation_committed", "市总补助核定 Federation shares"),
    Column("federation_paid", "市总补助已发 Federation paid"),
    Column("unit_committed", "单位承担 Unit shares"),
]


def student_ledger(session: Session, identity: Identity, campaign_id: str | None, batch: int = 500) -> Iterator[dict]:
    """One row per student the caller may see, read `batch` at a time through a server-side cursor, with each
    batch's reimbursements and recoveries read for its students only: no ledger sits in memory whole."""
    query = (
        select(Enrolment, Breakdown, Unit.name, Programme)
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(Unit, Unit.unit_id == Enrolment.unit_id)
        .outerjoin(Programme, Programme.programme_id == Enrolment.programme_id)
    )
    if campaign_id:
        query = query.where(Enrolment.campaign_id == campaign_id)
    ordered = scoped(query, identity).order_by(Enrolment.unit_id, Enrolment.enrolment_id)
    for rows in session.execute(ordered.execution_options(yield_per=batch)).partitions():
        mine = Reimbursement.enrolment_id.in_([enrolment.enrolment_id for enrolment, *_ in rows])
        shares = {(r.enrolment_id, r.share): r for r in session.scalars(select(Reimbursement).where(mine))}
        recovered = dict(
            session.execute(
                select(Reimbursement.enrolment_id, func.sum(Recovery.amount))
                .where(mine)
                .join(Recovery)
                .group_by(Reimbursement.enrolment_id)
            ).all()
        )
        for enrolment, breakdown, unit_name, programme in rows:
            yield _ledger_row(enrolment, breakdown, unit_name, programme, shares, recovered)


def _ledger_row(enrolment, breakdown, unit_name, programme, shares: dict, recovered: dict) -> dict:
    federation = shares.get((enrolment.enrolment_id, "federation"))
    unit_share = shares.get((enrolment.enrolment_id, "unit"))
    return {
        **{
            name: getattr(enrolment, name)
            for name in (
                "enrolment_id",
                "employee_id",
                "campaign_id",
                "kind",
                "unit_id",
                "institution_id",
                "programme_id",
            )
        },
        "unit_name": unit_name,
        "major_or_trade": programme and (programme.major or programme.trade),
        "enrolment_status": enrolment.status,
        "fees_total": show(breakdown.total),
        "federation_share": show(breakdown.federation),
        "unit_share": show(breakdown.unit),
        "employee_share": show(breakdown.employee),
        "paid_to_institution": show(breakdown.paid),
        "payment_status": breakdown.payment_status,
        "federation_reimbursement": federation.status if federation else "not_owed",
        "federation_paid_on": federation.paid_on.isoformat() if federation and federation.paid_on else None,
        "unit_reimbursement": unit_share.status if unit_share else "not_owed",
        "recovered": show(recovered.get(enrolment.enrolment_id, ZERO)),
    }


def fund_usage(session: Session, identity: Identity, campaign_id: str, by: str) -> list[dict]:
    campaign = _campaign(session, campaign_id)
    report = {"campaign": _by_campaign, "unit": _by_unit, "institution": _by_institution}[by]
    return report(session, identity, campaign)


def _campaign(session: Session, campaign_id: str) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
    return campaign


def _by_campaign(session: Session, identity: Identity, campaign: Campaign) -> list[dict]:
    """The whole campaign per kind: the fund and where its money is."""
    if not identity.is_federation:
        raise Forbidden("The campaign's totals are the federation's.")
    sums = dict(
        ((account_type, kind), balance)
        for account_type, kind, balance in session.execute(
            select(Account.type, Account.kind, func.sum(Account.balance))
            .where(Account.campaign_id == campaign.campaign_id)
            .group_by(Account.type, Account.kind)
        )
    )
    recovered = _recovered(session, campaign.campaign_id)
    rows = []
    for kind in KINDS:
        sent = transferred(session, campaign.campaign_id, None, kind)
        held = {t: Decimal(sums.get((t, kind), ZERO)) for t in ("pool", *ledger.UNIT_ACCOUNTS)}
        rows.append(
            {
                "kind": kind,
                "fund": show(fund_of(campaign, kind)),
                "allocated": show(allocated(session, campaign, None, kind)),
                "transferred": show(sent),
                "not_transferred": show(held["pool"]),
                "committed": show(held["payable"]),
                "paid": show(held["paid_out"]),
                "returned": show(held["returned"]),
                "recovered": show(sum((amount for (_, of_kind), amount in recovered.items() if of_kind == kind), ZERO)),
                "remaining": show(held["earmarked"]),
            }
        )
    return rows


def _by_unit(session: Session, identity: Identity, campaign: Campaign) -> list[dict]:
    only = unit_scope(identity)
    units = session.execute(select(Unit.unit_id, Unit.name).where(Unit.level == "first_level")).all()
    names = dict(units)
    if only:
        names = {only: names.get(only)}
    recovered = _recovered(session, campaign.campaign_id)
    rows = []
    for unit_id in sorted(names):
        for kind in KINDS:
            balance = {
                t: ledger.balance(session, ledger.code(t, campaign.campaign_id, kind, unit_id))
                for t in ledger.UNIT_ACCOUNTS
            }
            given, sent = (
                allocated(session, campaign, unit_id, kind),
                transferred(session, campaign.campaign_id, unit_id, kind),
            )
            owed, excess = standing(session, campaign, unit_id, kind)
            rows.append(
                {
                    "unit_id": unit_id,
                    "unit_name": names[unit_id],
                    "kind": kind,
                    "allocated": show(given),
                    "transferred": show(sent),
                    "not_transferred": show(owed),
                    "to_reclaim": show(excess),
                    "committed": show(balance["payable"]),
                    "paid": show(balance["paid_out"]),
                    "recovered": show(recovered.get((unit_id, kind), ZERO)),
                    "returned": show(balance["returned"]),
                    "remaining": show(balance["earmarked"]),
                }
            )
    return rows


def transfer_deadline(session: Session, identity: Identity, campaign_id: str, today: date) -> dict:
    """The year-end transfer deadline: per unit and kind what is still untransferred, and how it stands.

    `status` per line: `transferred` (nothing left), `open`, `due_soon` (within the campaign's warning days
    of the deadline) or `overdue` (the deadline passed with money untransferred); the campaign's status is
    the worst of its lines.
    """
    campaign = _campaign(session, campaign_id)
    deadline, warning = campaign.transfer_deadline or date(campaign.year, 12, 31), campaign.transfer_warning_days
    days_left = (deadline - today).days
    only = unit_scope(identity)
    names = dict(session.execute(select(Unit.unit_id, Unit.name).where(Unit.level == "first_level")).all())
    units = sorted(
        set(session.scalars(select(Allocation.unit_id).where(Allocation.campaign_id == campaign_id)))
        | ({only} if only else set())
    )
    lines, totals = [], {kind: ZERO for kind in KINDS}
    for unit_id in units:
        if only and unit_id != only:
            continue
        for kind in KINDS:
            owed, _excess = standing(session, campaign, unit_id, kind)
            totals[kind] += owed
            lines.append(
                {
                    "unit_id": unit_id,
                    "unit_name": names.get(unit_id, ""),
                    "kind": kind,
                    "allocated": show(allocated(session, campaign, unit_id, kind)),
                    "transferred": show(transferred(session, campaign_id, unit_id, kind)),
                    "not_transferred": show(owed),
                    "status": rules.deadline_status(owed, days_left, 30 if warning is None else warning),
                }
            )
    order = ("transferred", "open", "due_soon", "overdue")
    return {
        "campaign_id": campaign_id,
        "transfer_deadline": deadline,
        "warning_days": 30 if warning is None else warning,
        "today": today,
        "days_left": days_left,
        "status": max((line["status"] for line in lines), key=order.index, default="transferred"),
        "not_transferred": {kind: show(amount) for kind, amount in totals.items()},
        "units": lines,
    }


def _recovered(session: Session, campaign_id: str) -> dict[tuple[str, str], Decimal]:
    """Federation shares recovered after a revoked certificate (back in the earmarked accounts), per unit and kind."""
    return {
        (unit_id, kind): Decimal(amount)
        for unit_id, kind, amount in session.execute(
            select(Enrolment.unit_id, Enrolment.kind, func.sum(Recovery.amount))
            .join(Reimbursement, Reimbursement.reimbursement_id == Recovery.reimbursement_id)
            .join(Enrolment, Enrolment.enrolment_id == Reimbursement.enrolment_id)
            .where(Enrolment.campaign_id == campaign_id, Reimbursement.share == "federation")
            .group_by(Enrolment.unit_id, Enrolment.kind)
        )
    }


def _by_institution(session: Session, identity: Identity, campaign: Campaign) -> list[dict]:
    """Fund usage per institution (经费使用管理情况), for the federation's evaluation of institutions."""
    if not identity.is_federation and not identity.role.startswith("institution"):
        raise Forbidden("Fund usage per institution is the federation's and each institution's own.")
    paid_fed = (
        select(Reimbursement.enrolment_id, Reimbursement.amount)
        .where(Reimbursement.share == "federation", Reimbursement.status == "paid")
        .subquery()
    )
    query = (
        select(
            Enrolment.institution_id,
            Enrolment.kind,
            func.count(),
            func.sum(Breakdown.total),
            func.sum(Breakdown.paid),
            func.sum(Breakdown.federation),
            func.sum(Breakdown.unit),
            func.coalesce(func.sum(paid_fed.c.amount), 0),
        )
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .outerjoin(paid_fed, paid_fed.c.enrolment_id == Enrolment.enrolment_id)
        .where(Enrolment.campaign_id == campaign.campaign_id, Breakdown.status == "active")
        .group_by(Enrolment.institution_id, Enrolment.kind)
        .order_by(Enrolment.institution_id, Enrolment.kind)
    )
    return [
        {
            "institution_id": institution,
            "kind": kind,
            "students": count,
            "fees_due": show(due),
            "paid_by_employees": show(paid),
            "federation_committed": show(federation),
            "federation_paid": show(Decimal(fed_paid)),
            "unit_committed": show(unit),
        }
        for institution, kind, count, due, paid, federation, unit, fed_paid in session.execute(scoped(query, identity))
    ]


def skills_surplus(session: Session, campaign_id: str) -> dict:
    """Unused skills money: the fund less the federation shares committed to active skills enrolments.

    The federation may raise the rate for chosen trades only within this surplus (raises.py);
    `by_trade` shows where the committed money goes at each trade's rate now, `raises` every
    raise with the surplus before and after it.
    """
    campaign = _campaign(session, campaign_id)
    line = (
        select(BreakdownLine.enrolment_id, BreakdownLine.amount)
        .where(BreakdownLine.line == "tuition_or_training")
        .subquery()
    )
    rows = session.execute(
        select(Enrolment.trade, func.count(), func.sum(line.c.amount), func.sum(Breakdown.federation))
        .join(Breakdown, Breakdown.enrolment_id == Enrolment.enrolment_id)
        .join(line, line.c.enrolment_id == Enrolment.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id, Enrolment.kind == "skills", Breakdown.status == "active")
        .group_by(Enrolment.trade)
        .order_by(Enrolment.trade)
    ).all()
    committed = raises.committed(session, campaign_id)
    policy = campaign_policy(session, campaign)
    return {
        "campaign_id": campaign_id,
        "skills_fund": show(campaign.skills_fund),
        "allocated": show(allocated(session, campaign, None, "skills")),
        "transferred": show(transferred(session, campaign_id, None, "skills")),
        "committed": show(committed),
        "surplus": show(campaign.skills_fund - committed),
        "by_trade": [
            {
                "trade": trade,
                "students": count,
                "training_fees": show(fees),
                "federation_rate": f"{policy.federation_rate(trade):.4f}",
                "federation_committed": show(federation),
            }
            for trade, count, fees, federation in rows
        ],
        "raises": list(
            session.scalars(select(RateRaise).where(RateRaise.campaign_id == campaign_id).order_by(RateRaise.raised_at))
        ),
    }
