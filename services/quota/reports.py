"""Reports: per unit and per campaign, what is allocated, reserved, consumed, released, spent and available."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.identity import Identity

from . import allocations, campaigns
from .models import Allocation, AllocationLine, Reservation, Unit

MEASURES = ("allocated", "reserved", "consumed", "spent", "released", "available")
RESERVATION_FIELDS = (
    "enrolment_id",
    "unit_id",
    "kind",
    "seats",
    "amount",
    "status",
    "refusal_reason",
    "revision",
    "updated_at",
)


def campaign_report(identity: Identity, campaign_id: str) -> dict:
    """Lines the caller may see; for the federation, totals that reconcile with the pools.

    Money stays Decimal to the fen: JSON shows it as "1500.00", spreadsheets as numbers.
    """
    with unit_of_work() as uow:
        campaign = campaigns.find(uow.session, campaign_id)
        allocation = uow.session.scalars(select(Allocation).where(Allocation.campaign_id == campaign_id)).one_or_none()
        rows = (
            []
            if allocation is None
            else uow.session.execute(
                select(AllocationLine, Unit.name)
                .join(Unit, Unit.id == AllocationLine.unit_id)
                .where(AllocationLine.allocation_id == allocation.id)
                .order_by(AllocationLine.unit_id)
            ).all()
        )
        units = [_unit(line, name) for line, name in rows if identity.is_federation or identity.unit_id == line.unit_id]
        status = allocation.status if allocation else "none"
        pools = {"seats": campaigns.academic_seats(campaign), "money": campaign.skills_pool}
    totals = {
        kind: {m: sum((u[kind][m] for u in units), Decimal("0.00") if kind == "money" else 0) for m in MEASURES}
        for kind in ("seats", "money")
    }
    report = {"campaign_id": campaign_id, "allocation_status": status, "totals": totals, "units": units}
    if identity.is_federation:
        report["pools"] = pools
        report["unallocated"] = {kind: pools[kind] - totals[kind]["allocated"] for kind in pools}
    return report


def _unit(line: AllocationLine, name: str) -> dict:
    seats, money = allocations.usage(line)
    return {
        "unit_id": line.unit_id,
        "unit_name": name,
        "seats": {
            "allocated": seats.allocated,
            "reserved": seats.reserved,
            "consumed": seats.consumed,
            "spent": seats.spent,
            "released": line.seats_released,
            "available": seats.available,
        },
        "money": {
            "allocated": money.allocated,
            "reserved": money.reserved,
            "consumed": money.consumed,
            "spent": money.spent,
            "released": line.money_released,
            "available": money.available,
        },
    }


def flat_rows(report: dict) -> list[dict]:
    """One spreadsheet row per unit, then the totals row."""

    def flat(entry: dict) -> dict:
        return {f"{kind}_{m}": entry[kind][m] for kind in ("seats", "money") for m in MEASURES}

    rows = [{"unit_id": u["unit_id"], "unit_name": u["unit_name"], **flat(u)} for u in report["units"]]
    rows.append({"unit_id": "", "unit_name": "合计 Total", **flat(report["totals"])})
    return rows


def reservations(identity: Identity, campaign_id: str, query: dict) -> list[dict]:
    """The enrolments holding (or refused) quota: the federation all, a unit officer its own unit's."""
    unit_id = query.get("unit_id") if identity.is_federation else identity.unit_id
    statement = select(Reservation).where(Reservation.campaign_id == campaign_id, Reservation.status != "pending")
    if unit_id:
        statement = statement.where(Reservation.unit_id == unit_id)
    if query.get("status"):
        statement = statement.where(Reservation.status == query["status"])
    statement = statement.order_by(Reservation.id).offset(query["offset"]).limit(query["limit"])
    with unit_of_work() as uow:
        campaigns.find(uow.session, campaign_id)
        return [{name: getattr(r, name) for name in RESERVATION_FIELDS} for r in uow.session.scalars(statement)]
