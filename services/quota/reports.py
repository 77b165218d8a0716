"""Reports: per unit and per campaign, what is allocated, reserved, consumed, released, spent and available."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.identity import Identity
from servicekit.paging import Listing

from . import allocations, campaigns
from .models import Allocation, AllocationLine, Reservation, Unit
from .schemas import ReservationQuery

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


RESERVATIONS = Listing(
    "Reservations",
    id=Reservation.id,
    sorts={"updated_at": Reservation.updated_at, "unit_id": Reservation.unit_id},
    default_sort="id",
    filters={"unit_id": Reservation.unit_id, "status": Reservation.status, "kind": Reservation.kind},
    ranges={"updated_at": Reservation.updated_at},
    search=lambda q: Reservation.enrolment_id.startswith(q, autoescape=True),
    search_help="the enrolment id's beginning",
    base=ReservationQuery,
)


def reservations(identity: Identity, campaign_id: str, query: dict) -> tuple[list[dict], dict]:
    """The enrolments holding (or refused) quota: the federation all, a unit officer its own unit's."""
    statement = select(Reservation).where(Reservation.campaign_id == campaign_id, Reservation.status != "pending")
    if not identity.is_federation:
        query = {**query, "unit_id": identity.unit_id}  # a unit officer's own unit, whatever was asked
    with unit_of_work() as uow:
        campaigns.find(uow.session, campaign_id)
        return RESERVATIONS.page(
            uow.session,
            statement,
            query,
            view=lambda rows: [{name: getattr(r, name) for name in RESERVATION_FIELDS} for r in rows],
        )
