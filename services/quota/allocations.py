"""Allocation use cases: propose, save, edit, import, publish, reallocate, audit trail, export."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.clock import china_date
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import from_fen, money, show, to_fen
from servicekit.paging import Listing
from servicekit.refusals import IMPORT_REJECTED

from . import campaigns, rules
from .models import Allocation, AllocationChange, AllocationLine, Campaign, CampaignParticipant, Unit
from .problems import (
    ALLOCATION_NOT_PUBLISHED,
    ALLOCATION_PUBLISHED,
    BELOW_RECEIVED,
    BELOW_USE,
    CAMPAIGN_NOT_PUBLISHED,
    NO_ALLOCATION,
    NOT_ENOUGH_UNUSED,
    OVER_POOL,
    PARTICIPANTS_FIXED,
    REALLOCATION_CLOSED,
    UNIT_NOT_FOUND,
    UNIT_RETIRED,
)
from .rules import Claimant, Usage, apportion, excess_over_pool, weight_of

CHANGE_FIELDS = (
    "unit_id",
    "action",
    "old_seats",
    "new_seats",
    "old_money",
    "new_money",
    "reason",
    "changed_by",
    "changed_at",
)


# Lock order everywhere: campaign, then allocation, then lines. Whatever changes allocated
# amounts or pools holds the campaign row, so a pool edit and a line edit never cross.


def preview(campaign_id: str) -> dict:
    """The proposal from today's headcounts, not saved."""
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id)
        lines = _proposal(uow.session, campaign)
        names = _names(uow.session)
        return _view(campaign, None, lines, names)


def save_proposal(campaign_id: str) -> dict:
    """Save (or recompute, while a draft) the proposal, snapshotting the headcounts it used."""
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id, lock=True)
        allocation = _find(uow.session, campaign_id, lock=True, required=False)
        if allocation and allocation.status == "published":
            raise ALLOCATION_PUBLISHED("Edit lines or reallocate unused quota instead.")
        allocation = _with_source(uow.session, allocation, campaign_id, "computed")
        _fix_participants(uow.session, campaign)
        _replace_lines(uow.session, allocation, _proposal(uow.session, campaign))
        lines = _lines(uow.session, allocation)
        uow.audit(
            "allocation.proposed",
            "allocation",
            allocation.id,
            after={"campaign_id": campaign_id, "lines": {line.unit_id: _amounts(line) for line in lines}},
        )
        uow.commit()
        return _view(campaign, allocation, _lines(uow.session, allocation), _names(uow.session))


def get(identity: Identity, campaign_id: str) -> dict:
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id)
        allocation = _find(uow.session, campaign_id)
        lines = [line for line in _lines(uow.session, allocation) if _may_see(identity, line.unit_id)]
        return _view(campaign, allocation, lines, _names(uow.session))


def edit_line(identity: Identity, campaign_id: str, unit_id: str, body: dict) -> dict:
    """The federation changes one unit's line; audited, and announced at once if published."""
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id, lock=True)
        allocation = _find(uow.session, campaign_id, lock=True)
        line = _line(uow.session, allocation, unit_id)
        seats = body.get("academic_seats", line.academic_seats)
        money = body.get("skills_money", line.skills_money)
        _change(uow, allocation, line, seats, money, "edited", body["reason"], identity.subject, campaign)
        _check_pools(uow.session, campaign, allocation)
        uow.commit()
        return _view(campaign, allocation, _lines(uow.session, allocation), _names(uow.session))


def import_table(identity: Identity, campaign_id: str, rows: list[tuple[int, dict]]) -> dict:
    """The official allocation table replaces the lines: units left out get nothing. All or nothing."""
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id, lock=True)
        allocation = _find(uow.session, campaign_id, lock=True, required=False)
        first_level = {
            u.id: u
            for u in uow.session.scalars(select(Unit).where(Unit.level == "first_level", Unit.status == "active"))
        }
        errors, seen = [], set()
        for number, row in rows:
            if row["unit_id"] not in first_level:
                errors.append(
                    {
                        "row": number,
                        "errors": {
                            "unit_id": [
                                _("{unit_id} is not an active first-level unit.").format(unit_id=row["unit_id"])
                            ]
                        },
                    }
                )
            elif row["unit_id"] in seen:
                errors.append({"row": number, "errors": {"unit_id": [_("Appears more than once in the file.")]}})
            seen.add(row["unit_id"])
        if errors:
            raise IMPORT_REJECTED(
                _("{bad} of {total} rows have errors.").format(bad=len(errors), total=len(rows)),
                errors={"rows": errors},
            )
        allocation = _with_source(uow.session, allocation, campaign_id, "imported")
        wanted = {row["unit_id"]: (row["academic_seats"], row["skills_money"]) for _, row in rows}
        existing = {line.unit_id: line for line in _lines(uow.session, allocation)}
        for unit_id in sorted(set(wanted) | set(existing)):
            line = existing.get(unit_id) or _new_line(uow.session, allocation, first_level[unit_id], campaign)
            seats, money = wanted.get(unit_id, (0, Decimal("0.00")))
            _change(
                uow,
                allocation,
                line,
                seats,
                money,
                "imported",
                "official allocation table imported",
                identity.subject,
                campaign,
            )
        _check_pools(uow.session, campaign, allocation)
        uow.commit()
        return _view(campaign, allocation, _lines(uow.session, allocation), _names(uow.session))


def publish(campaign_id: str) -> dict:
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id)
        if campaign.status != "published":
            raise CAMPAIGN_NOT_PUBLISHED("Publish the campaign before its allocation.")
        allocation = _find(uow.session, campaign_id, lock=True)
        if allocation.status == "published":
            raise ALLOCATION_PUBLISHED("Already published; edits are announced line by line.")
        before = {"status": allocation.status}
        allocation.status, allocation.published_at = "published", utcnow()
        lines = _lines(uow.session, allocation)
        for line in lines:
            uow.publish("allocation.published", _payload(allocation, line, "initial"))
        uow.audit(
            "allocation.published",
            "allocation",
            allocation.id,
            before=before,
            after={"status": "published", "campaign_id": campaign_id, "lines": len(lines)},
        )
        uow.commit()
        return _view(campaign, allocation, lines, _names(uow.session))


def reallocate(identity: Identity, campaign_id: str, body: dict) -> dict:
    """After the registration deadline, move unused seats or money from one unit to another."""
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id, lock=True)
        if china_date(utcnow()) <= campaign.registration_end:
            raise REALLOCATION_CLOSED(
                _("Registration runs until {registration_end}.").format(
                    registration_end=campaign.registration_end.isoformat()
                ),
            )
        allocation = _find(uow.session, campaign_id, lock=True)
        if allocation.status != "published":
            raise ALLOCATION_NOT_PUBLISHED("Edit the draft's lines instead.")
        # Lock both lines in one order, so two crossing moves cannot deadlock.
        ids = sorted((body["from_unit_id"], body["to_unit_id"]))
        locked = {line.unit_id: line for line in (_line(uow.session, allocation, uid) for uid in ids)}
        source, target = locked[body["from_unit_id"]], locked[body["to_unit_id"]]
        seats, money = body["academic_seats"], body["skills_money"]
        seat_use, money_use = usage(source)
        if seats > seat_use.available or money > money_use.available:
            raise NOT_ENOUGH_UNUSED(
                _("{unit_id} has {available} unused seats and {money} unused skills money.").format(
                    unit_id=source.unit_id, available=seat_use.available, money=show(money_use.available)
                ),
            )
        for line, sign in ((source, -1), (target, 1)):
            _change(
                uow,
                allocation,
                line,
                line.academic_seats + sign * seats,
                line.skills_money + sign * money,
                "reallocated",
                body["reason"],
                identity.subject,
                campaign,
            )
        uow.commit()
        return _view(campaign, allocation, [source, target], _names(uow.session))


CHANGES = Listing(
    "AllocationChanges",
    id=AllocationChange.id,
    sorts={"changed_at": AllocationChange.changed_at, "unit_id": AllocationChange.unit_id},
    default_sort="id",
    filters={"unit_id": AllocationChange.unit_id, "action": AllocationChange.action},
    ranges={"changed_at": AllocationChange.changed_at},
)


def changes(campaign_id: str, args: dict) -> tuple[list[dict], dict]:
    with unit_of_work() as uow:
        allocation = _find(uow.session, campaign_id)
        return CHANGES.page(
            uow.session,
            select(AllocationChange).where(AllocationChange.allocation_id == allocation.id),
            args,
            view=lambda rows: [{column: getattr(row, column) for column in CHANGE_FIELDS} for row in rows],
        )


def usage(line: AllocationLine) -> tuple[Usage, Usage]:
    return (
        Usage(line.academic_seats, line.seats_reserved, line.seats_consumed, line.seats_spent),
        Usage(line.skills_money, line.money_reserved, line.money_consumed, line.money_spent),
    )


def _change(
    uow,
    allocation: Allocation,
    line: AllocationLine,
    seats: int,
    money: Decimal,
    action: str,
    reason: str,
    actor: str,
    campaign: Campaign,
) -> None:
    """Set a line's seats and money, audited; a published line is announced with its next revision.

    Never below what the unit uses (reserved, consumed, spent) nor below the money it already received.
    """
    if (seats, money) == (line.academic_seats, line.skills_money):
        return
    _check_received(line, seats, money, campaign)
    unit = uow.session.get(Unit, line.unit_id)
    if unit.status == "retired" and (seats > line.academic_seats or money > line.skills_money):
        raise UNIT_RETIRED(_("{unit_id} is retired.").format(unit_id=line.unit_id))
    seat_use, money_use = usage(line)
    if seats < seat_use.in_use or money < money_use.in_use:
        raise BELOW_USE(
            _("{unit_id} already uses {in_use} seats and {money} of skills money.").format(
                unit_id=line.unit_id, in_use=seat_use.in_use, money=show(money_use.in_use)
            ),
        )
    uow.session.add(
        AllocationChange(
            allocation_id=allocation.id,
            unit_id=line.unit_id,
            action=action,
            old_seats=line.academic_seats,
            new_seats=seats,
            old_money=line.skills_money,
            new_money=money,
            reason=reason,
            changed_by=actor,
            changed_at=utcnow(),
        )
    )
    uow.audit(
        f"allocation_line.{action}",
        "allocation_line",
        f"{allocation.campaign_id}/{line.unit_id}",
        before=_amounts(line),
        after={"academic_seats": seats, "skills_money": money},
        reason=reason,
    )
    line.academic_seats, line.skills_money = seats, money
    if allocation.status == "published":
        line.revision += 1
        uow.publish("allocation.published", _payload(allocation, line, action if action != "imported" else "edited"))


def _check_received(line: AllocationLine, seats: int, money: Decimal, campaign: Campaign) -> None:
    """Refused with the figures: a line below the money already transferred to its unit (finance would owe
    a negative "not yet transferred"); the federation reclaims the money first (finance's reclaims)."""
    subsidy = campaign.academic_subsidy_per_student
    min_seats = rules.seats_covering(line.academic_received, subsidy)
    if seats >= min_seats and money >= line.skills_received:
        return
    raise BELOW_RECEIVED(
        _(
            "{unit_id} has already received {academic} for academic seats (at least {min_seats} seats) and {skills} of skills money; reclaim the money first."
        ).format(
            unit_id=line.unit_id,
            academic=show(line.academic_received),
            min_seats=min_seats,
            skills=show(line.skills_received),
        ),
        received={
            "academic": show(line.academic_received),
            "academic_seats_at_least": min_seats,
            "skills_money": show(line.skills_received),
        },
        asked={"academic_seats": seats, "skills_money": show(money)},
    )


def _amounts(line: AllocationLine) -> dict:
    return {"academic_seats": line.academic_seats, "skills_money": line.skills_money}


def _check_pools(session, campaign: Campaign, allocation: Allocation) -> None:
    session.flush()
    lines = _lines(session, allocation)
    seats = sum(line.academic_seats for line in lines)
    money = sum((line.skills_money for line in lines), Decimal("0.00"))
    seat_pool = campaigns.academic_seats(campaign)
    seats_over, money_over = excess_over_pool(seats, seat_pool), excess_over_pool(money, campaign.skills_pool)
    if seats_over or money_over:
        raise OVER_POOL(
            _(
                "The lines total {seats} seats and {money} of skills money; the pools are {seat_pool} seats and {money_pool}: {seats_over} seats and {money_over} too many."
            ).format(
                seats=seats,
                money=show(money),
                seat_pool=seat_pool,
                money_pool=show(campaign.skills_pool),
                seats_over=seats_over,
                money_over=show(money_over),
            ),
            excess={"academic_seats": seats_over, "skills_money": show(money_over)},
        )


def _proposal(session, campaign: Campaign) -> list[AllocationLine]:
    units = [u for u in _participant_units(session, campaign) if u.status == "active"]
    claimants = [
        Claimant(u.id, u.headcount, weight_of(u.key_industry, u.key_industry_weight, campaign.key_industry_weight))
        for u in units
    ]
    seats = apportion(campaigns.academic_seats(campaign), claimants)
    fen = apportion(to_fen(campaign.skills_pool), claimants)
    return [_snapshot(u, c.weight, seats[u.id], from_fen(fen[u.id])) for u, c in zip(units, claimants)]


def _snapshot(unit: Unit, weight: Decimal, seats: int, money: Decimal) -> AllocationLine:
    zero = Decimal("0.00")
    return AllocationLine(
        unit_id=unit.id,
        revision=1,
        headcount=unit.headcount,
        key_industry=unit.key_industry,
        weight=weight,
        academic_seats=seats,
        skills_money=money,
        seats_reserved=0,
        seats_consumed=0,
        seats_spent=0,
        seats_released=0,
        money_reserved=zero,
        money_consumed=zero,
        money_spent=zero,
        money_released=zero,
        academic_received=zero,
        skills_received=zero,
    )


def _new_line(session, allocation: Allocation, unit: Unit, campaign: Campaign) -> AllocationLine:
    weight = weight_of(unit.key_industry, unit.key_industry_weight, campaign.key_industry_weight)
    line = _snapshot(unit, weight, 0, Decimal("0.00"))
    line.allocation_id = allocation.id
    line.revision = 0 if allocation.status == "published" else 1  # its first announcement will be revision 1
    session.add(line)
    return line


def _replace_lines(session, allocation: Allocation, lines: list[AllocationLine]) -> None:
    for old in _lines(session, allocation):
        session.delete(old)
    session.flush()
    for line in lines:
        line.allocation_id = allocation.id
        session.add(line)
    session.flush()


def _with_source(session, allocation: Allocation | None, campaign_id: str, source: str) -> Allocation:
    """The campaign's allocation (a new draft if it has none), marked with where its lines come from."""
    if allocation is None:
        allocation = Allocation(id=str(uuid.uuid4()), campaign_id=campaign_id, status="draft", created_at=utcnow())
        session.add(allocation)
    allocation.source = source
    session.flush()
    return allocation


def _find(session, campaign_id: str, *, lock: bool = False, required: bool = True) -> Allocation | None:
    query = select(Allocation).where(Allocation.campaign_id == campaign_id)
    allocation = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if allocation is None and required:
        raise NO_ALLOCATION(_("Campaign {campaign_id} has no saved allocation.").format(campaign_id=campaign_id))
    return allocation


def _lines(session, allocation: Allocation) -> list[AllocationLine]:
    return list(
        session.scalars(
            select(AllocationLine).where(AllocationLine.allocation_id == allocation.id).order_by(AllocationLine.unit_id)
        )
    )


def _line(session, allocation: Allocation, unit_id: str) -> AllocationLine:
    line = session.scalars(
        select(AllocationLine)
        .where(AllocationLine.allocation_id == allocation.id, AllocationLine.unit_id == unit_id)
        .with_for_update()
    ).one_or_none()
    if line is None:
        raise UNIT_NOT_FOUND(_("Unit {unit_id} has no line in this allocation.").format(unit_id=unit_id))
    return line


def _names(session) -> dict[str, str]:
    return dict(session.execute(select(Unit.id, Unit.name).where(Unit.level == "first_level")).all())


def _may_see(identity: Identity, unit_id: str) -> bool:
    return identity.is_federation or identity.unit_id == unit_id


def _payload(allocation: Allocation, line: AllocationLine, reason: str) -> dict:
    return {
        "campaign_id": allocation.campaign_id,
        "allocation_id": allocation.id,
        "revision": line.revision,
        "unit_id": line.unit_id,
        "academic_seats": line.academic_seats,
        "skills_money": show(line.skills_money),
        "reason": reason,
    }


def _view(campaign: Campaign, allocation: Allocation | None, lines: list[AllocationLine], names: dict) -> dict:
    return {
        "id": allocation.id if allocation else None,
        "campaign_id": campaign.id,
        "status": allocation.status if allocation else "preview",
        "source": allocation.source if allocation else "computed",
        "pools": {"academic": campaign.academic_pool, "skills": campaign.skills_pool},
        "academic_seats_pool": campaigns.academic_seats(campaign),
        "totals": {
            "academic_seats": sum(line.academic_seats for line in lines),
            "skills_money": show(sum((line.skills_money for line in lines), Decimal("0.00"))),
        },
        "lines": [
            {
                "unit_id": line.unit_id,
                "unit_name": names.get(line.unit_id, ""),
                "revision": line.revision,
                "headcount": line.headcount,
                "key_industry": line.key_industry,
                "weight": campaigns.decimal_text(line.weight),
                "academic_seats": line.academic_seats,
                "skills_money": line.skills_money,
                "academic_received": line.academic_received,
                "skills_received": line.skills_received,
            }
            for line in lines
        ],
    }


def funds_moved(uow, event) -> None:
    """finance's funds.transferred (+) or funds.reclaimed (-): what the unit's line already received.

    Once per event (the inbox); a transfer for a line not known here yet is retried until it is.
    """
    data = event.data
    sign = -1 if event.type == "funds.reclaimed" else 1
    line = uow.session.scalars(
        select(AllocationLine)
        .join(Allocation, Allocation.id == AllocationLine.allocation_id)
        .where(Allocation.campaign_id == data["campaign_id"], AllocationLine.unit_id == data["unit_id"])
        .with_for_update(of=AllocationLine)
    ).one_or_none()
    if line is None:
        raise LookupError(f"no allocation line of {data['unit_id']} in campaign {data['campaign_id']}")
    column = "academic_received" if data["kind"] == "academic" else "skills_received"
    setattr(line, column, max(getattr(line, column) + sign * money(data["amount"]), Decimal("0.00")))


# Participation: which first-level units take part in a campaign.


def _participant_query(session, campaign: Campaign):
    """The chosen units; while none are chosen (or fixed by a first save), every active first-level unit."""
    chosen = select(CampaignParticipant.unit_id).where(CampaignParticipant.campaign_id == campaign.id)
    query = select(Unit).where(Unit.level == "first_level")
    if session.scalars(chosen.limit(1)).first() is None:
        return query.where(Unit.status == "active")
    return query.where(Unit.id.in_(chosen))


def _participant_units(session, campaign: Campaign) -> list[Unit]:
    return list(session.scalars(_participant_query(session, campaign).order_by(Unit.id)))


def _fix_participants(session, campaign: Campaign, actor: str = "system") -> None:
    """The first save fixes the default set: later headcount imports (new units) change it only by choice."""
    if session.scalars(
        select(CampaignParticipant.unit_id).where(CampaignParticipant.campaign_id == campaign.id).limit(1)
    ).first():
        return
    for unit in _participant_units(session, campaign):
        session.add(
            CampaignParticipant(
                campaign_id=campaign.id,
                unit_id=unit.id,
                added_by=actor,
                added_at=utcnow(),
                reason="every active first-level unit (default)",
            )
        )
    session.flush()


PARTICIPANTS = Listing(
    "Participants",
    id=Unit.id,
    sorts={"name": Unit.name, "status": Unit.status},
    filters={"status": Unit.status},
    search=lambda q: Unit.name.contains(q, autoescape=True),
)


def participants(campaign_id: str, args: dict | None = None):
    """The participating units (a page of them when `args` are the listing's query)."""
    with unit_of_work() as uow:
        session = uow.session
        campaign = campaigns.find(session, campaign_id)
        rows = {
            row.unit_id: row
            for row in session.scalars(
                select(CampaignParticipant).where(CampaignParticipant.campaign_id == campaign.id)
            )
        }

        def view(units: list[Unit]) -> list[dict]:
            return [
                {
                    "unit_id": unit.id,
                    "unit_name": unit.name,
                    "unit_status": unit.status,
                    "chosen": unit.id in rows,
                    "added_by": rows[unit.id].added_by if unit.id in rows else None,
                    "added_at": rows[unit.id].added_at if unit.id in rows else None,
                    "reason": rows[unit.id].reason if unit.id in rows else None,
                }
                for unit in units
            ]

        if args is None:
            return view(_participant_units(session, campaign))
        return PARTICIPANTS.page(session, _participant_query(session, campaign), args, view=view)


def choose_participants(identity: Identity, campaign_id: str, body: dict) -> list[dict]:
    """The federation chooses the participating units before the allocation is published (a draft is
    recomputed for them)."""
    with unit_of_work() as uow:
        session = uow.session
        campaign = campaigns.find(session, campaign_id, lock=True)
        allocation = _find(session, campaign_id, lock=True, required=False)
        if allocation and allocation.status == "published":
            raise PARTICIPANTS_FIXED()
        wanted = sorted(set(body["unit_ids"]))
        _active_first_level(session, wanted)
        before = sorted(u.id for u in _participant_units(session, campaign))
        session.execute(CampaignParticipant.__table__.delete().where(CampaignParticipant.campaign_id == campaign.id))
        for unit_id in wanted:
            session.add(
                CampaignParticipant(
                    campaign_id=campaign.id,
                    unit_id=unit_id,
                    added_by=identity.subject,
                    added_at=utcnow(),
                    reason=body["reason"],
                )
            )
        session.flush()
        if allocation is not None:
            _replace_lines(session, allocation, _proposal(session, campaign))
        uow.audit(
            "campaign.participants_chosen",
            "campaign",
            campaign.id,
            before={"unit_ids": before},
            after={"unit_ids": wanted},
            reason=body["reason"],
        )
        uow.commit()
    return participants(campaign_id)


def add_participant(identity: Identity, campaign_id: str, unit_id: str, body: dict) -> dict:
    """A unit joins later: a draft allocation is recomputed with it; a published one gives it the seats and
    money the federation names from the reserve (what the pools hold beyond the allocated lines)."""
    with unit_of_work() as uow:
        session = uow.session
        campaign = campaigns.find(session, campaign_id, lock=True)
        allocation = _find(session, campaign_id, lock=True, required=False)
        _fix_participants(session, campaign)
        [unit] = _active_first_level(session, [unit_id])
        if session.get(CampaignParticipant, (campaign.id, unit_id)) is None:
            session.add(
                CampaignParticipant(
                    campaign_id=campaign.id,
                    unit_id=unit_id,
                    added_by=identity.subject,
                    added_at=utcnow(),
                    reason=body["reason"],
                )
            )
            session.flush()
        if allocation is not None and allocation.status == "draft":
            _replace_lines(session, allocation, _proposal(session, campaign))
        elif allocation is not None:
            line = session.scalars(
                select(AllocationLine).where(
                    AllocationLine.allocation_id == allocation.id, AllocationLine.unit_id == unit_id
                )
            ).one_or_none() or _new_line(session, allocation, unit, campaign)
            session.flush()
            _change(
                uow,
                allocation,
                line,
                line.academic_seats + body["academic_seats"],
                line.skills_money + body["skills_money"],
                "edited",
                body["reason"],
                identity.subject,
                campaign,
            )
            _check_pools(session, campaign, allocation)
        uow.audit(
            "campaign.participant_added",
            "campaign",
            campaign.id,
            after={
                "unit_id": unit_id,
                "academic_seats": body["academic_seats"],
                "skills_money": show(body["skills_money"]),
            },
            reason=body["reason"],
        )
        uow.commit()
        lines = _lines(session, allocation) if allocation else []
        return _view(campaign, allocation, lines, _names(session))


def _active_first_level(session, unit_ids: list[str]) -> list[Unit]:
    found = {
        u.id: u
        for u in session.scalars(
            select(Unit).where(Unit.id.in_(unit_ids), Unit.level == "first_level", Unit.status == "active")
        )
    }
    missing = [unit_id for unit_id in unit_ids if unit_id not in found]
    if missing:
        raise UNIT_NOT_FOUND(
            _("Not active first-level units: {units}.").format(units=", ".join(missing)),
            errors={"unit_ids": [_("Not active first-level units: {units}.").format(units=", ".join(missing))]},
        )
    return [found[unit_id] for unit_id in unit_ids]
