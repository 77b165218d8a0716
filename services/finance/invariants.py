"""The invariant check: the ledger proves every fen is where it should be.

Each check compares an expected and an actual amount; the difference is the
drift, to the fen. Zero drift everywhere is the only pass.

- every posting balances (its entries sum to zero);
- every account's balance is the sum of its entries;
- no pool, earmarked or payable account is negative;
- per campaign and kind: the fund booked equals the published fund, and the
  pool equals the fund less what was transferred to units;
- per unit and kind: transferred (less reclaimed) = free (earmarked) + reserved
  (payable) + spent (paid out) + returned. (A unit that received more than a later
  cut of its allocation is no drift: the fund report shows the excess to reclaim,
  never a negative "not yet transferred".)
- reserved and spent equal the federation shares owed and paid (a share recovered after a
  revoked certificate has left `paid_out` for the earmarked account: it counts in neither);
- every breakdown's lines sum to its totals and its shares to its fees, and
  what it says the employee paid is the sum of the recorded payments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicekit.money import show

from . import ledger
from .funds import KINDS, closed_out, fund_of, transferred
from .models import (
    Account,
    Allocation,
    Breakdown,
    BreakdownLine,
    Campaign,
    Enrolment,
    Entry,
    Payment,
    Refund,
    Reimbursement,
    Transfer,
)

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Finding:
    check: str
    scope: str
    expected: Decimal
    actual: Decimal

    @property
    def drift(self) -> Decimal:
        return self.actual - self.expected

    def as_dict(self) -> dict:
        return {
            "check": self.check,
            "scope": self.scope,
            "expected": show(self.expected),
            "actual": show(self.actual),
            "drift": show(self.drift),
        }


def check(session: Session) -> dict:
    findings = [*_postings(session), *_accounts(session), *_campaigns(session), *_breakdowns(session)]
    drifting = [f for f in findings if f.drift]
    return {"passed": not drifting, "checks": len(findings), "drift": [f.as_dict() for f in drifting]}


def _postings(session: Session):
    rows = session.execute(select(Entry.posting_id, func.sum(Entry.amount)).group_by(Entry.posting_id))
    for posting_id, total in rows:
        yield Finding("posting balances", f"posting {posting_id}", ZERO, Decimal(total))


def _accounts(session: Session):
    sums = dict(session.execute(select(Entry.account_id, func.sum(Entry.amount)).group_by(Entry.account_id)).all())
    for account in session.scalars(select(Account)):
        yield Finding(
            "balance = sum of entries", account.code, Decimal(sums.get(account.account_id, ZERO)), account.balance
        )
        if account.type in ledger.NON_NEGATIVE_ACCOUNTS:
            yield Finding("never negative", account.code, ZERO, min(account.balance, ZERO))


def _campaigns(session: Session):
    for campaign in session.scalars(select(Campaign)):
        for kind in KINDS:
            yield from _campaign_kind(session, campaign, kind)


def _campaign_kind(session: Session, campaign: Campaign, kind: str):
    cid = campaign.campaign_id

    def balance(account_type: str, unit_id: str | None = None) -> Decimal:
        return ledger.balance(session, ledger.code(account_type, cid, kind, unit_id))

    scope = f"{cid}:{kind}"
    yield Finding("fund booked = fund published", scope, fund_of(campaign, kind), -balance("fund"))
    yield Finding(
        "pool = fund - transferred",  # less what came back to it when the campaign closed
        scope,
        fund_of(campaign, kind) - transferred(session, cid, None, kind) + closed_out(session, cid, None, kind),
        balance("pool"),
    )
    units = set(session.scalars(select(Allocation.unit_id).where(Allocation.campaign_id == cid)))
    units |= set(session.scalars(select(Transfer.unit_id).where(Transfer.campaign_id == cid, Transfer.kind == kind)))
    for unit_id in sorted(units):
        unit_scope = f"{scope}:{unit_id}"
        sent = transferred(session, cid, unit_id, kind) - closed_out(session, cid, unit_id, kind)
        yield Finding(
            "transferred = free + reserved + spent + returned",  # transferred: less what the close returned
            unit_scope,
            sent,
            sum((balance(t, unit_id) for t in ledger.UNIT_ACCOUNTS), ZERO),
        )
        for status, account_type in (("payable", "payable"), ("paid", "paid_out")):
            owed = session.scalar(
                select(func.coalesce(func.sum(Reimbursement.amount), 0))
                .join(Enrolment)
                .where(
                    Enrolment.campaign_id == cid,
                    Enrolment.kind == kind,
                    Enrolment.unit_id == unit_id,
                    Reimbursement.share == "federation",
                    Reimbursement.status == status,
                )
            )
            if status == "paid":  # less what withdrawal refunds brought back to the earmarked account
                owed -= session.scalar(
                    select(func.coalesce(func.sum(Refund.to_federation), 0))
                    .join(Enrolment)
                    .where(Enrolment.campaign_id == cid, Enrolment.kind == kind, Enrolment.unit_id == unit_id)
                )
            yield Finding(
                f"{account_type} = federation shares {status}",
                unit_scope,
                Decimal(owed),
                balance(account_type, unit_id),
            )


def _breakdowns(session: Session):
    lines = (
        select(
            BreakdownLine.enrolment_id,
            func.sum(BreakdownLine.amount).label("amount"),
            func.sum(BreakdownLine.federation).label("federation"),
            func.sum(BreakdownLine.unit).label("unit"),
            func.sum(BreakdownLine.employee).label("employee"),
        )
        .group_by(BreakdownLine.enrolment_id)
        .subquery()
    )
    paid = dict(
        session.execute(select(Payment.enrolment_id, func.sum(Payment.amount)).group_by(Payment.enrolment_id)).all()
    )
    refunded = dict(session.execute(select(Refund.enrolment_id, Refund.refunded)).all())
    rows = session.execute(select(Breakdown, lines).join(lines, lines.c.enrolment_id == Breakdown.enrolment_id))
    for row in rows:
        breakdown, scope = row[0], f"enrolment {row.enrolment_id}"
        yield Finding(
            "paid = sum of payments - refund",
            scope,
            Decimal(paid.get(row.enrolment_id, ZERO)) - Decimal(refunded.get(row.enrolment_id, ZERO)),
            breakdown.paid,
        )
        yield Finding(
            "shares sum to the fees", scope, breakdown.total, breakdown.federation + breakdown.unit + breakdown.employee
        )
        for name in ("amount", "federation", "unit", "employee"):
            total = breakdown.total if name == "amount" else getattr(breakdown, name)
            yield Finding(f"lines sum to the {name} total", scope, total, Decimal(getattr(row, name)))
