"""The reservation saga with enrollment: reserve, refuse, resize, consume, release, spend.

Several workers handle events at once, so every change of a unit's counters
is one conditional UPDATE on its allocation line (the row lock serialises
racers; the WHERE clause refuses an overbooking), and the reservation row is
keyed by the enrolment id (unique), so a redelivered or repeated request
never reserves twice.

A request with a higher revision for a held reservation (a transfer to a
programme with another fee) resizes it: less gives the difference back at
once (counted as released), more takes it only if the unit's money left
covers it; refused, what was held stays. Every answer names the revision of
the request it answers.

Finance has the last word on a skills subsidy: each `breakdown.settled` (on
registration, a transfer, a rate raise) resizes the held amount to the
breakdown's federation share the same way. Breakdown revisions are finance's own
counter, kept apart from the enrolment's revision.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, case, false, func, literal, not_, select, update

from servicekit.clock import china_date
from servicekit.db import among, upsert, utcnow
from servicekit.money import money, show
from servicekit.service import each_once

from .models import Allocation, AllocationLine, Campaign, Reservation, Unit

log = logging.getLogger(__name__)
REFUSALS = {  # the detail people see next to the reason code
    "campaign_not_published": "The campaign is not published (yet) / 计划年度尚未发布",
    "unit_unknown": "Not a first-level unit that holds quota / 非持有名额的一级单位",
    "window_closed": "Outside the campaign's registration window / 不在报名时间内",
    "no_quota_left": "The unit's quota for this kind is used up / 本单位该类名额或补助额度已用完",
    "unit_retired": "The unit is retired or merged: it takes no new registrations / 该单位已撤销或合并，不再接受新报名",
}
ACTIVE = ("reserved", "consumed")  # holding quota that a release gives back
HOLDING = ("reserved", "consumed", "spent")


class UnknownEnrolment(LookupError):
    """An event about an enrolment never requested here: retried, as its request may still be on its way."""


def requests(uow, events) -> None:
    """Batched (servicekit.service.Batched): the requests of a batch, in delivery order, with one statement per
    table for the lot: every reservation claimed in one upsert, the seats or money of each unit's group taken in
    one conditional UPDATE of its allocation line (one by one only when the group does not fit whole), the
    refusal's reason read once per group, every answer in one outbox insert. An enrolment asked twice in a batch
    (a redelivery beside a retry) splits it: the second request is decided after the first."""
    for run in each_once(events):
        _request_run(uow, run)


def _request_run(uow, events) -> None:
    session = uow.session
    # claimed with autoflush: what earlier handlers of the batch changed is written first, not overwritten
    claimed = _claim_all(session, [event.data for event in events])
    with session.no_autoflush:  # each reservation is written once, with its decision
        deciding, answered = [], []
        for event in events:
            data = event.data
            reservation = claimed[data["enrolment_id"]]
            if reservation.status != "pending" and data["revision"] < reservation.revision:
                log.info("stale request ignored", extra={"enrolment_id": data["enrolment_id"]})
                continue
            later = data["revision"] > reservation.revision
            if reservation.status == "pending" or (reservation.status in ("refused", "released") and later):
                _asked(reservation, data)
                deciding.append((reservation, _requested_on(data, event.occurred_at)))
            elif reservation.status in ACTIVE and later:
                _resize(session, reservation, data)
            answered.append((reservation, event))
        _decide(session, deciding)
    # a repeated request gets the same answer again
    uow.publish_caused([answer for r, e in answered if (answer := _answer(r, e.data, e)) is not None])


def consume(uow, events) -> None:
    """Batched: admissions (academic) or registrations (skills), the reserved quota now used. The reservations
    read (locked) in one statement, each line's counters moved in one UPDATE for all its consumed reservations;
    an enrolment twice in a batch splits it, so the second event is judged after the first."""
    for run in each_once(events):
        known = _known_all(uow.session, [event.data for event in run])
        consumed = [reservation for reservation in known if reservation.status == "reserved"]
        _move_all(uow.session, consumed, "consumed")


def release(uow, event) -> None:
    """Withdrawal, or the institution's rejection of a registration (entrance test failed, documents missing):
    the quota goes back to the unit, free for another nominee (a withdrawal before the request leaves a
    tombstone). Keyed by the enrolment's revision: a redelivered event releases nothing twice."""
    data = event.data
    reservation = _claim(uow.session, data)
    if reservation.status != "pending" and data["revision"] <= reservation.revision:
        return
    if reservation.status in ACTIVE:
        _move(uow.session, reservation, reservation.status, "released")
    if reservation.status != "spent":
        reservation.status = "released"
    _touch(reservation, data["revision"])


def transfer(uow, event) -> None:
    """A transfer of institution keeps the unit's quota (skills: resized before by the transfer's request,
    and after by finance's breakdown, which has the last word); a transfer out of the unit gives it back.
    The event's `amount` is not applied: arriving after finance's breakdown, it would overwrite a raised share."""
    data = event.data
    reservation = _known(uow.session, data)
    if reservation is None or reservation.status not in ACTIVE:
        return
    if reservation.unit_id != data["unit_id"]:
        _move(uow.session, reservation, reservation.status, "released")
        reservation.status = "released"


def follow_breakdown(uow, events) -> None:
    """Batched: settled skills breakdowns, the held subsidy becoming the federation's share if the unit's money
    covers it. A cancelled breakdown is a withdrawal (released by enrollment.withdrawn); academic seats have no
    amount. The reservations read (locked) in one statement; each line's growth taken in one conditional UPDATE
    when the line has room for all of it (then each share fits one by one too), otherwise that line's shares
    follow one by one in delivery order, each its own conditional UPDATE; what shrinks is given back in one
    UPDATE per counter."""
    settled = [event for event in events if event.data["kind"] == "skills" and event.data["status"] == "settled"]
    for run in each_once(settled):
        held = _held(uow.session, [event.data["enrolment_id"] for event in run])
        shares: dict[int, list[tuple[Reservation, str]]] = {}  # by line, in delivery order
        with uow.session.no_autoflush:  # each reservation is written once, at the commit
            for data in (event.data for event in run):
                reservation = held[data["enrolment_id"]]
                if reservation.status not in ACTIVE or data["revision"] <= (reservation.breakdown_revision or 0):
                    continue  # no longer held, or an older breakdown than one applied already
                reservation.breakdown_revision = data["revision"]
                shares.setdefault(reservation.line_id, []).append((reservation, data["federation"]))
            for line_id, line_shares in sorted(shares.items()):  # lines locked in one order
                _follow_line(uow.session, line_id, line_shares)


def _follow_line(session, line_id: int, shares: list[tuple[Reservation, str]]) -> None:
    """One line's reservations following their shares (each reservation once, in delivery order)."""
    growth: dict[str, Decimal] = {}
    for reservation, amount in shares:
        if (difference := money(amount) - reservation.amount) > 0:
            growth[reservation.status] = growth.get(reservation.status, 0) + difference
    if growth and session.scalar(_taking_into("money", growth, (AllocationLine.id == line_id,))) is None:
        for reservation, amount in shares:
            _follow(session, reservation, amount)
        return
    moves: dict[tuple, Decimal] = {}
    for reservation, amount in shares:
        if (difference := money(amount) - reservation.amount) < 0:
            key = (line_id, "money", reservation.status)
            moves[key] = moves.get(key, 0) - difference
        reservation.amount = money(amount)
        reservation.updated_at = utcnow()
    for (line, prefix, source), size in sorted(moves.items()):
        session.execute(_moving(line, prefix, source, "released", size))


def _follow(session, reservation: Reservation, amount: str) -> None:
    if not _resized(session, reservation, amount):
        log.error(
            "settled federation share does not fit the unit's money; the held amount stays",
            extra={"enrolment_id": reservation.enrolment_id, "amount": amount},
        )


def spend(uow, events) -> None:
    """Batched: certificates, the federation's share paid, the quota spent for good. The reservations read
    (locked) in one statement, each line's counters moved in one UPDATE for all its spent reservations."""
    held = _held(uow.session, [event.data["enrolment_id"] for event in events])
    _move_all(
        uow.session, [reservation for _, reservation in sorted(held.items()) if reservation.status in ACTIVE], "spent"
    )


def _move_all(session, reservations: list[Reservation], target: str) -> None:
    """The reservations' seats or money moved to `target`, each line's counter in one UPDATE for all of them."""
    moves: dict[tuple, Decimal] = {}
    with session.no_autoflush:
        for reservation in reservations:
            prefix, size = _size(reservation)
            key = (reservation.line_id, prefix, reservation.status)
            moves[key] = moves.get(key, 0) + size
            reservation.status = target
            reservation.updated_at = utcnow()
        for (line_id, prefix, source), size in sorted(moves.items()):  # lines locked in one order
            session.execute(_moving(line_id, prefix, source, target, size))


def _claim(session, data: dict) -> Reservation:
    """The enrolment's reservation row, locked; created (pending) if this is the first word of it."""
    return _claim_all(session, [data])[data["enrolment_id"]]


def _claim_all(session, requests: list[dict]) -> dict[str, Reservation]:
    """Each enrolment's reservation row (each enrolment once), locked; created (pending) if this is the first word
    of it. One statement: the inserts, or on conflict a no-op update, which locks the existing row and returns it.
    Its rows go as parameters (SQLAlchemy's insertmanyvalues), not as a VALUES list: the statement is then
    compiled once a process instead of once a batch."""
    now = utcnow()
    claim = upsert(session.bind, Reservation)
    rows = session.scalars(
        claim.on_conflict_do_update(
            index_elements=["enrolment_id"], set_={"revision": Reservation.__table__.c.revision}
        ).returning(Reservation),
        [
            dict(
                enrolment_id=data["enrolment_id"],
                campaign_id=data["campaign_id"],
                unit_id=data["unit_id"],
                kind=data["kind"],
                seats=0,
                amount=Decimal("0.00"),
                status="pending",
                revision=data["revision"],
                updated_at=now,
            )
            for data in requests
        ],
        execution_options={"populate_existing": True},
    )
    return {row.enrolment_id: row for row in rows}


def _held(session, enrolment_ids: list[str]) -> dict[str, Reservation]:
    """The enrolments' reservations, locked in the order of their keys in one statement (two workers never
    deadlock on them); an enrolment never requested here is retried."""
    ids = sorted(set(enrolment_ids))
    held = {
        row.enrolment_id: row
        for row in session.scalars(
            select(Reservation)
            .where(among(session, Reservation.enrolment_id, ids))
            .order_by(Reservation.enrolment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    if missing := [i for i in ids if i not in held]:
        raise UnknownEnrolment(f"no reservation for enrolment {missing[0]}")
    return held


def _known(session, data: dict) -> Reservation | None:
    """The locked reservation of an enrolment event, None when the event is stale."""
    known = _known_all(session, [data])
    return known[0] if known else None


def _known_all(session, events: list[dict]) -> list[Reservation]:
    """The locked reservations of enrolment events (each enrolment once) that are not stale, touched with the
    event's revision; a pending one (its request not decided yet) is retried."""
    held = _held(session, [data["enrolment_id"] for data in events])
    if pending := [i for i, reservation in held.items() if reservation.status == "pending"]:
        raise UnknownEnrolment(f"no reservation for enrolment {pending[0]}")
    known = []
    for data in events:
        reservation = held[data["enrolment_id"]]
        if data["revision"] > reservation.revision:
            _touch(reservation, data["revision"])
            known.append(reservation)
    return known


def _requested_on(data: dict, occurred_at: str) -> date:
    """The day the institution registered: a request asked again later keeps the day of the first one."""
    if "requested_on" in data:
        return date.fromisoformat(data["requested_on"])
    return china_date(datetime.fromisoformat(occurred_at))


def _asked(reservation: Reservation, data: dict) -> None:
    """The reservation as the request asks it (not yet written: the decision comes with it)."""
    reservation.campaign_id, reservation.unit_id = data["campaign_id"], data["unit_id"]
    reservation.kind = data["kind"]
    reservation.seats = 1 if data["kind"] == "academic" else 0
    reservation.amount = money(data["amount"]) if data["kind"] == "skills" else Decimal("0.00")
    _touch(reservation, data["revision"])


def _decide(session, deciding: list[tuple[Reservation, date]]) -> None:
    """Reserve or refuse each request, group by group (campaign, unit, kind, day asked: the same conditions, the
    same line). The whole group in one conditional UPDATE when its line has room for all of it; otherwise what
    the line has left is read once, locked, and given in delivery order (a seat taken is a seat the next one
    cannot get; a smaller sum of money may still fit after a larger one was refused). The database refuses any
    overbooking."""
    groups: dict[tuple, list[Reservation]] = {}
    for reservation, requested_on in deciding:
        key = (reservation.campaign_id, reservation.unit_id, reservation.kind, requested_on)
        groups.setdefault(key, []).append(reservation)
    # Groups in one order (of their keys) in every worker: two batches lock the same lines without deadlocking.
    for (*_, requested_on), group in sorted(groups.items(), key=lambda item: item[0]):
        conditions = _conditions(group[0], requested_on)
        where = _reserving(group[0], conditions)
        whole = sum(_size(reservation)[1] for reservation in group)
        line_id = session.scalar(_taking(group[0], whole, where=where))
        if line_id is not None:
            for reservation in group:
                reservation.line_id = line_id
        met = line_id is not None or _take_what_is_left(session, group, where)
        reason = "no_quota_left" if met else _refusal(session, group[0], conditions)
        for reservation in group:
            if reservation.line_id is None:
                reservation.status, reservation.refusal_reason = "refused", reason
            else:
                reservation.status, reservation.refusal_reason = "reserved", None


def _take_what_is_left(session, group: list[Reservation], where: tuple) -> bool:
    """A group that does not fit whole: its line read once, locked, each request given a place in delivery order
    while what is left covers it, and all that is taken in one UPDATE; a refusal flood costs two statements, not
    one a request. False when no line meets the conditions (nothing taken)."""
    found = session.execute(_left_on(group[0], where)).first()
    for reservation in group:
        reservation.line_id = None
    if found is None:
        return False
    line_id, left = found
    taken = 0
    for reservation in group:
        size = _size(reservation)[1]
        if taken + size <= left:
            reservation.line_id, taken = line_id, taken + size
    if taken and session.scalar(_taking(group[0], taken, where=(AllocationLine.id == line_id,))) is None:
        raise RuntimeError(f"allocation line {line_id} changed under its lock")  # the batch is retried
    return True


def _conditions(reservation: Reservation, requested_on: date) -> dict:
    """What must hold for a request to be met (SQL over its campaign, unit and allocation), each under the
    reason given when it does not, in the order people are told."""
    campaign, unit, allocation = Campaign.__table__.c, Unit.__table__.c, Allocation.__table__.c
    return {
        "campaign_not_published": campaign.status == "published",
        "unit_unknown": unit.level == "first_level",
        "unit_retired": unit.status != "retired",
        "window_closed": literal(requested_on, Date).between(campaign.registration_start, campaign.registration_end),
        "no_quota_left": allocation.status == "published",
    }


def _reserving(reservation: Reservation, conditions: dict) -> tuple:
    """The unit's line of the campaign's allocation, if every condition holds: with `_taking`, the seat or money
    is taken in one conditional UPDATE (no read before it)."""
    campaign, unit, allocation = Campaign.__table__.c, Unit.__table__.c, Allocation.__table__.c
    line = AllocationLine.__table__.c
    return (
        campaign.id == reservation.campaign_id,
        unit.id == reservation.unit_id,
        allocation.campaign_id == campaign.id,
        line.allocation_id == allocation.id,
        line.unit_id == unit.id,
        *conditions.values(),
    )


def _refusal(session, reservation: Reservation, conditions: dict) -> str:
    """Why nothing was taken: the first condition that does not hold (a missing row holds none); when all do,
    the line had too little left."""
    campaign, unit, allocation = Campaign.__table__.c, Unit.__table__.c, Allocation.__table__.c
    facts = (
        select(literal(1).label("one"))
        .subquery()
        .outerjoin(Campaign.__table__, campaign.id == reservation.campaign_id)
        .outerjoin(Unit.__table__, unit.id == reservation.unit_id)
        .outerjoin(Allocation.__table__, allocation.campaign_id == campaign.id)
    )
    unmet = [(not_(func.coalesce(holds, false())), reason) for reason, holds in conditions.items()]
    return session.scalar(select(case(*unmet, else_="no_quota_left")).select_from(facts))


def _taking(reservation: Reservation, need=None, counter: str = "reserved", where: tuple | None = None):
    """Take `need` (default: the whole reservation) into one counter of its line (or of the line `where` picks),
    only if the line still has that much available: one atomic, conditional UPDATE."""
    prefix, size = _size(reservation)
    needs = {counter: size if need is None else need}
    return _taking_into(prefix, needs, where or (AllocationLine.id == reservation.line_id,))


def _taking_into(prefix: str, needs: dict, where: tuple):
    """Take seats or money ({counter: need}) into counters of the line `where` picks, only if the line still has
    all of it available: one atomic, conditional UPDATE."""
    line = AllocationLine.__table__.c
    return (
        update(AllocationLine)
        .where(*where, _available(prefix) >= sum(needs.values()))
        .values({f"{prefix}_{counter}": line[f"{prefix}_{counter}"] + need for counter, need in needs.items()})
        .returning(line.id)
    )


def _left_on(reservation: Reservation, where: tuple):
    """The line `where` picks and the seats or money it has left for the reservation's kind, locked."""
    return select(AllocationLine.id, _available(_size(reservation)[0])).where(*where).with_for_update(of=AllocationLine)


def _available(prefix: str):
    """What a line has left of its seats or money: allocated less what is reserved, consumed and spent."""
    line = AllocationLine.__table__.c
    allocated = line.academic_seats if prefix == "seats" else line.skills_money
    return allocated - (line[f"{prefix}_reserved"] + line[f"{prefix}_consumed"] + line[f"{prefix}_spent"])


def _resize(session, reservation: Reservation, data: dict) -> None:
    """A held reservation asked again with a higher revision (a transfer to a programme with another fee):
    skills money follows the new amount when it fits; refused, what was held stays untouched."""
    _touch(reservation, data["revision"])
    fits = reservation.kind == "academic" or _resized(session, reservation, data["amount"])
    reservation.refusal_reason = None if fits else "no_quota_left"


def _resized(session, reservation: Reservation, amount: str) -> bool:
    """Hold `amount` instead: less gives the difference back at once, more only if the unit's money covers it."""
    difference = money(amount) - reservation.amount
    if difference > 0 and session.execute(_taking(reservation, difference, reservation.status)).first() is None:
        return False
    if difference < 0:
        _move(session, reservation, reservation.status, "released", -difference)
    reservation.amount = money(amount)
    reservation.updated_at = utcnow()
    return True


def _size(reservation: Reservation) -> tuple[str, int | Decimal]:
    return ("seats", reservation.seats) if reservation.kind == "academic" else ("money", reservation.amount)


def _move(session, reservation: Reservation, source: str, target: str, size=None) -> None:
    """Move the reservation's seats or money (or `size` of it) from one counter of its line to another."""
    prefix, held = _size(reservation)
    session.execute(_moving(reservation.line_id, prefix, source, target, held if size is None else size))
    reservation.updated_at = utcnow()


def _moving(line_id, prefix: str, source: str, target: str, size):
    """The UPDATE moving `size` seats or money from one counter of a line to another."""
    line = AllocationLine.__table__.c
    return (
        update(AllocationLine)
        .where(AllocationLine.id == line_id)
        .values(
            {
                f"{prefix}_{source}": line[f"{prefix}_{source}"] - size,
                f"{prefix}_{target}": line[f"{prefix}_{target}"] + size,
            }
        )
    )


def _touch(reservation: Reservation, revision: int) -> None:
    reservation.revision = max(reservation.revision, revision)
    reservation.updated_at = utcnow()


def _answer(reservation: Reservation, request: dict, cause) -> tuple[str, dict, object] | None:
    """The answer to the request (naming its revision), as (type, data, cause) for the outbox; a refusal while
    quota is held refused a change of amount."""
    if reservation.status not in HOLDING and reservation.status != "refused":
        return None  # released or pending: nobody waits for an answer
    reason = reservation.refusal_reason
    data = {
        "enrolment_id": reservation.enrolment_id,
        "campaign_id": reservation.campaign_id,
        "unit_id": reservation.unit_id,
        "kind": reservation.kind,
        "revision": request["revision"],
    }
    if reservation.kind == "academic":
        data["seats"] = reservation.seats
    else:
        data["amount"] = request["amount"] if reason else show(reservation.amount)
    if reason:
        return "quota.refused", {**data, "reason": reason, "detail": REFUSALS[reason]}, cause
    return "quota.reserved", data, cause
