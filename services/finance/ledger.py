"""The double-entry ledger: accounts, balanced postings, each idempotent by its cause.

Accounts per campaign and kind (academic / skills):
    fund       the campaign's fund from the federation (the source: its balance is negative)
    pool       federation money not yet transferred to a unit
per campaign, kind and first-level unit:
    earmarked  the unit's earmarked account (专款专用): transferred, not yet committed
    payable    federation shares owed to certified students, set aside from the earmarked account
    paid_out   federation shares paid to students
    returned   money the unit gave back to the federation
A posting moves money from one account to another; it is written at most once
per cause (an event id or a request), and accounts are locked in a fixed order
so concurrent postings neither deadlock nor overspend.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.db import among, upsert, utcnow

from .models import NON_NEGATIVE_ACCOUNTS, Account, Entry, Posting

UNIT_ACCOUNTS = ("earmarked", "payable", "paid_out", "returned")


class InsufficientBalance(Exception):
    def __init__(self, account: Account, needed: Decimal):
        self.account, self.needed = account, needed
        super().__init__(f"{account.code} holds {account.balance:.2f}, {needed:.2f} needed")


@dataclass(frozen=True)
class Move:
    source: str  # account code
    target: str
    amount: Decimal


def code(account_type: str, campaign_id: str, kind: str, unit_id: str | None = None) -> str:
    if (account_type in UNIT_ACCOUNTS) != (unit_id is not None):
        raise ValueError(f"{account_type} accounts {'need' if unit_id is None else 'take no'} unit")
    return ":".join(filter(None, (account_type, campaign_id, kind, unit_id)))


def _new_account(account_code: str) -> dict:
    account_type, campaign_id, kind, *unit = account_code.split(":", 3)
    return dict(
        code=account_code,
        type=account_type,
        campaign_id=campaign_id,
        kind=kind,
        unit_id=unit[0] if unit else None,
        balance=Decimal("0.00"),
    )


def locked(session: Session, codes: list[str]) -> dict[str, Account]:
    """The accounts, created if new, locked FOR UPDATE in code order (no deadlocks between postings)."""
    codes = sorted(set(codes))
    if codes:  # one executemany, in code order as the lock
        session.execute(
            upsert(session.bind, Account).on_conflict_do_nothing(index_elements=["code"]),
            [_new_account(code) for code in codes],
        )
    rows = session.scalars(
        select(Account)
        .where(among(session, Account.code, codes))
        .order_by(Account.code)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.code: row for row in rows}


def balance(session: Session, account_code: str) -> Decimal:
    found = session.scalar(select(Account.balance).where(Account.code == account_code))
    return found if found is not None else Decimal("0.00")


@dataclass(frozen=True)
class Planned:
    """A posting to write (ledger.post's arguments)."""

    cause: str
    memo: str
    campaign_id: str
    moves: list[Move]
    enrolment_id: str | None = None


def post(
    session: Session, cause: str, memo: str, campaign_id: str, moves: list[Move], enrolment_id: str | None = None
) -> bool:
    """Write the moves as one balanced posting; False if this cause was posted before (or nothing moves).

    Raises InsufficientBalance (nothing written) if a pool, earmarked or payable
    account would go below zero.
    """
    return post_many(session, [Planned(cause, memo, campaign_id, moves, enrolment_id)])[0]


def post_many(session: Session, postings: list[Planned]) -> list[bool]:
    """Write each posting as `post` would, in order, with one statement per table for them all: every account
    locked once (in code order), the postings inserted together (a cause posted before, or twice in the list,
    is written once), their entries together. Each is checked against the balances the ones before it left;
    InsufficientBalance (nothing written) as for `post`."""
    planned = [[move for move in posting.moves if move.amount] for posting in postings]
    if any(move.amount < 0 for moves in planned for move in moves):
        raise ValueError("a move carries a positive amount from source to target")
    todo = [
        (index, posting, moves) for index, (posting, moves) in enumerate(zip(postings, planned, strict=True)) if moves
    ]
    written = [False] * len(postings)
    if not todo:
        return written
    accounts = locked(session, [c for *_, moves in todo for move in moves for c in (move.source, move.target)])
    now = utcnow()
    inserted = session.execute(
        upsert(session.bind, Posting)
        .on_conflict_do_nothing(index_elements=["cause"])
        .returning(Posting.posting_id, Posting.cause),
        [
            dict(
                cause=posting.cause,
                memo=posting.memo,
                campaign_id=posting.campaign_id,
                enrolment_id=posting.enrolment_id,
                posted_at=now,
            )
            for _, posting, _ in todo
        ],  # executemany (insertmanyvalues): compiled once
    ).all()
    new = {cause: posting_id for posting_id, cause in inserted}
    for index, posting, moves in todo:
        posting_id = new.pop(posting.cause, None)  # popped: the same cause twice in the list is written once
        if posting_id is None:
            continue
        deltas: dict[str, Decimal] = {}
        for move in moves:
            deltas[move.source] = deltas.get(move.source, Decimal("0.00")) - move.amount
            deltas[move.target] = deltas.get(move.target, Decimal("0.00")) + move.amount
        for account_code, delta in deltas.items():
            account = accounts[account_code]
            if account.type in NON_NEGATIVE_ACCOUNTS and account.balance + delta < 0:
                raise InsufficientBalance(account, -delta)
        for account_code, delta in deltas.items():
            if delta:
                accounts[account_code].balance += delta
                session.add(Entry(posting_id=posting_id, account_id=accounts[account_code].account_id, amount=delta))
        written[index] = True
    session.flush()
    return written
