"""Use cases on the federation's money: funding a campaign, transfers into earmarked accounts, returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from servicekit.clock import china_date
from servicekit.db import UnitOfWork, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Conflict, NotFound, refusal

from . import ledger
from .models import Account, Allocation, Campaign, Transfer

KINDS = ("academic", "skills")
CLOSE_OUT_REFERENCE = "计划结项退回 campaign closed"
ZERO = Decimal("0.00")
OVER_ALLOCATION = refusal(
    Conflict,
    "finance_transfer_exceeds_allocation",
    "The transfer exceeds what is allocated to the unit and not yet transferred",
    "划拨金额超过该单位已分配未划拨的额度",
)
NOTHING_TO_RECLAIM = refusal(
    Conflict,
    "finance_reclaim_exceeds_excess",
    "The unit has not received that much more than its allocation",
    "该单位已划拨资金超出分配额的部分不足以收回该金额",
)
BALANCE_SHORT = refusal(
    Conflict,
    "finance_balance_insufficient",
    "The account's balance cannot cover this amount (it never goes negative)",
    "账户余额不足以支付该金额",
)


def fund_of(campaign: Campaign, kind: str) -> Decimal:
    return campaign.academic_fund if kind == "academic" else campaign.skills_fund


def fund_campaign(session: Session, campaign: Campaign, cause: str) -> None:
    """Bring each pool to the campaign's published fund (a later revision may change it).

    A cut below what is already transferred cannot be booked: the pool would go
    negative, so the event fails and waits in the dead letters for the federation.
    """
    for kind in KINDS:
        fund = ledger.code("fund", campaign.campaign_id, kind)
        pool = ledger.code("pool", campaign.campaign_id, kind)
        change = fund_of(campaign, kind) + ledger.balance(session, fund)  # the fund's balance is negative
        move = ledger.Move(fund, pool, change) if change > 0 else ledger.Move(pool, fund, -change)
        ledger.post(
            session, f"{cause}:{kind}", f"campaign fund {kind} rev {campaign.revision}", campaign.campaign_id, [move]
        )


def allocated(session: Session, campaign: Campaign, unit_id: str | None, kind: str) -> Decimal:
    """Money allocated to a unit (all units if None): academic seats × subsidy, or the skills money."""
    column = Allocation.academic_seats if kind == "academic" else Allocation.skills_money
    query = select(func.coalesce(func.sum(column), 0)).where(Allocation.campaign_id == campaign.campaign_id)
    if unit_id is not None:
        query = query.where(Allocation.unit_id == unit_id)
    total = Decimal(session.scalar(query))
    return (total * campaign.academic_subsidy if kind == "academic" else total).quantize(Decimal("0.01"))


def transferred(session: Session, campaign_id: str, unit_id: str | None, kind: str) -> Decimal:
    """Money the federation moved to a unit (all units if None): transfers less what it reclaimed."""
    signed = case((Transfer.direction == "reclaimed", -Transfer.amount), else_=Transfer.amount)
    query = select(func.coalesce(func.sum(signed), 0)).where(
        Transfer.campaign_id == campaign_id, Transfer.kind == kind, Transfer.direction.in_(("to_unit", "reclaimed"))
    )
    if unit_id is not None:
        query = query.where(Transfer.unit_id == unit_id)
    return Decimal(session.scalar(query)).quantize(Decimal("0.01"))


def standing(session: Session, campaign: Campaign, unit_id: str | None, kind: str) -> tuple[Decimal, Decimal]:
    """(not yet transferred, to reclaim): never negative. A unit that received more than its allocation
    (cut after the transfer, while the cut and the transfer crossed) shows the excess to reclaim instead."""
    gap = allocated(session, campaign, unit_id, kind) - transferred(session, campaign.campaign_id, unit_id, kind)
    return max(gap, ZERO), max(-gap, ZERO)


def _campaign(session: Session, campaign_id: str) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(_("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
    return campaign


def move(uow: UnitOfWork, identity: Identity, body: dict, cause: str, direction: str) -> Transfer:
    """`to_unit`: allocated money from the federation's pool into the unit's earmarked account;
    `returned`: money the unit gave back to the federation out of its free earmarked balance;
    `reclaimed`: the federation takes back into its pool what a unit received beyond its allocation."""
    session = uow.session
    campaign = _campaign(session, body["campaign_id"])
    campaign_id, unit_id, kind, amount = campaign.campaign_id, body["unit_id"], body["kind"], body["amount"]
    earmarked = ledger.code("earmarked", campaign_id, kind, unit_id)
    ledger.locked(session, [earmarked])  # one transfer or return per unit account at a time
    if direction == "to_unit":
        room = allocated(session, campaign, unit_id, kind) - transferred(session, campaign_id, unit_id, kind)
        if amount > room:
            raise OVER_ALLOCATION(
                _("At most {amount} can still be transferred to {unit_id} ({kind}).").format(
                    amount=show(room), unit_id=unit_id, kind=kind
                ),
                errors={"amount": [_("At most {amount}.").format(amount=show(room))]},
            )
        move = ledger.Move(ledger.code("pool", campaign_id, kind), earmarked, amount)
    elif direction == "reclaimed":
        excess = standing(session, campaign, unit_id, kind)[1]
        if amount > excess:
            raise NOTHING_TO_RECLAIM(
                _("{unit_id} holds {excess} beyond its allocation ({kind}).").format(
                    excess=show(excess), unit_id=unit_id, kind=kind
                ),
                errors={"amount": [_("At most {amount}.").format(amount=show(excess))]},
            )
        move = ledger.Move(earmarked, ledger.code("pool", campaign_id, kind), amount)
    else:
        move = ledger.Move(earmarked, ledger.code("returned", campaign_id, kind, unit_id), amount)
    row = Transfer(
        transfer_id=str(uuid.uuid4()),
        cause=cause,
        direction=direction,
        campaign_id=campaign_id,
        unit_id=unit_id,
        kind=kind,
        amount=amount,
        transferred_on=body["transferred_on"],
        reference=body["reference"],
        recorded_by=identity.subject,
        recorded_at=utcnow(),
    )
    session.add(row)
    session.flush()
    try:
        ledger.post(
            session, f"transfer:{row.transfer_id}", f"{direction} {body['reference']}"[:200], campaign_id, [move]
        )
    except ledger.InsufficientBalance as short:
        raise BALANCE_SHORT(str(short)) from None
    if direction in ("to_unit", "reclaimed"):
        event, day = (
            ("funds.transferred", "transferred_on") if direction == "to_unit" else ("funds.reclaimed", "reclaimed_on")
        )
        uow.publish(
            event,
            {
                "transfer_id": row.transfer_id,
                "campaign_id": campaign_id,
                "unit_id": unit_id,
                "kind": kind,
                "amount": show(amount),
                day: row.transferred_on.isoformat(),
                "reference": row.reference,
            },
        )
    return row


def closed_out(session: Session, campaign_id: str, unit_id: str | None, kind: str) -> Decimal:
    """Money a unit held unspent that went back to the federation's pool when the campaign closed."""
    query = select(func.coalesce(func.sum(Transfer.amount), 0)).where(
        Transfer.campaign_id == campaign_id, Transfer.kind == kind, Transfer.direction == "closed_out"
    )
    if unit_id is not None:
        query = query.where(Transfer.unit_id == unit_id)
    return Decimal(session.scalar(query)).quantize(Decimal("0.01"))


def close_campaign(uow: UnitOfWork, data: dict, cause: str) -> None:
    """campaign.closed: finance is read-only for the campaign from now on; with `return_to_pool`, each unit's
    free earmarked balance goes back to the federation's pool, one traceable movement per unit and kind
    (a transfer `closed_out`, its posting, and funds.reclaimed for the others' figures)."""
    session = uow.session
    campaign = session.get(Campaign, data["campaign_id"], with_for_update=True)
    if campaign is None:
        raise LookupError(f"campaign {data['campaign_id']} not published yet")  # retried until it is
    if campaign.closed_at is not None:
        return
    closed_at = datetime.fromisoformat(data["closed_at"])
    campaign.closed_at = closed_at
    if data["unspent_funds"] != "return_to_pool":
        return
    for kind in KINDS:
        pool = ledger.code("pool", campaign.campaign_id, kind)
        for account in session.scalars(
            select(Account)
            .where(Account.campaign_id == campaign.campaign_id, Account.kind == kind, Account.type == "earmarked")
            .order_by(Account.code)
        ):
            ledger.locked(session, [account.code, pool])
            if account.balance <= 0:
                continue
            row = Transfer(
                transfer_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{cause}:{account.code}")),
                cause=f"{cause}:{kind}:{account.unit_id}"[:120],
                direction="closed_out",
                campaign_id=campaign.campaign_id,
                unit_id=account.unit_id,
                kind=kind,
                amount=account.balance,
                transferred_on=china_date(closed_at),
                reference=CLOSE_OUT_REFERENCE,
                recorded_by="campaign.closed",
                recorded_at=utcnow(),
            )
            session.add(row)
            session.flush()
            ledger.post(
                session,
                f"transfer:{row.transfer_id}",
                "campaign closed: unspent earmarked money back to the federation's pool",
                campaign.campaign_id,
                [ledger.Move(account.code, pool, row.amount)],
            )
            uow.publish(
                "funds.reclaimed",
                {
                    "transfer_id": row.transfer_id,
                    "campaign_id": campaign.campaign_id,
                    "unit_id": row.unit_id,
                    "kind": kind,
                    "amount": show(row.amount),
                    "reclaimed_on": row.transferred_on.isoformat(),
                    "reference": row.reference,
                },
            )
