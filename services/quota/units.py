"""Organisation units: first-level units (which hold quota) and the grassroots unions under them."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import or_, select

from servicekit import unit_of_work
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.paging import Listing
from servicekit.refusals import IMPORT_REJECTED

from .campaigns import decimal_text
from .models import Unit
from .problems import UNIT_EXISTS, UNIT_INVALID, UNIT_NOT_FOUND
from .schemas import UnitQuery

FIELDS = ("name", "level", "category", "parent_id", "headcount", "key_industry", "key_industry_weight")


def create(body: dict) -> dict:
    with unit_of_work() as uow:
        if uow.session.get(Unit, body["id"]) is not None:
            raise UNIT_EXISTS(_("Unit {id} exists; change it with PATCH.").format(id=body["id"]))
        unit = Unit(id=body["id"], revision=0, status="active", **{k: body[k] for k in FIELDS})
        _check_parent(uow.session, unit)
        uow.session.add(unit)
        _announce(uow, unit)
        uow.audit("unit.created", "unit", unit.id, after=view(unit))
        uow.commit()
        return view(unit)


def edit(unit_id: str, body: dict) -> dict:
    with unit_of_work() as uow:
        unit = uow.session.scalars(select(Unit).where(Unit.id == unit_id).with_for_update()).one_or_none()
        if unit is None:
            raise UNIT_NOT_FOUND(_("No unit {unit_id}.").format(unit_id=unit_id))
        before = view(unit)
        merged = {**{k: getattr(unit, k) for k in FIELDS}, **body}
        if merged["level"] == "first_level":
            merged["parent_id"] = None
        _check_consistent(merged)
        if merged["level"] == "grassroots" and _has_members(uow.session, unit_id):
            raise UNIT_INVALID(
                _("{unit_id} has grassroots unions under it; it must stay first-level.").format(unit_id=unit_id),
            )
        _apply(unit, merged)
        _check_parent(uow.session, unit)
        _announce(uow, unit)
        uow.audit("unit.updated", "unit", unit.id, before=before, after=view(unit), only_changes=True)
        uow.commit()
        return view(unit)


def get(identity: Identity, unit_id: str) -> dict:
    with unit_of_work() as uow:
        unit = uow.session.scalars(_visible(identity).where(Unit.id == unit_id)).one_or_none()
        if unit is None:
            raise UNIT_NOT_FOUND(_("No unit {unit_id} that you may see.").format(unit_id=unit_id))
        return view(unit)


LISTING = Listing(
    "Units",
    id=Unit.id,
    sorts={"level": Unit.level, "name": Unit.name, "headcount": Unit.headcount, "updated_at": Unit.updated_at},
    default_sort="level",
    filters={"level": Unit.level, "parent_id": Unit.parent_id, "category": Unit.category},
    ranges={"updated_at": Unit.updated_at},
    search=lambda q: Unit.name.contains(q, autoescape=True),
    base=UnitQuery,
)


def listing(identity: Identity, args: dict) -> tuple[list[dict], dict]:
    with unit_of_work() as uow:
        return LISTING.page(uow.session, _visible(identity), args, view=lambda rows: [view(u) for u in rows])


def import_rows(rows: list[tuple[int, dict]]) -> dict:
    """Upsert every row or none: rows were validated one by one; here, parents and levels across the file."""
    by_id = {row["id"]: row for _number, row in rows}
    counts = Counter(row["id"] for _number, row in rows)
    errors = [
        {"row": number, "errors": {"id": [_("Appears more than once in the file.")]}}
        for number, row in rows
        if counts[row["id"]] > 1
    ]
    with unit_of_work() as uow:
        stored = {u.id: u for u in uow.session.scalars(select(Unit).with_for_update())}
        levels = {uid: u.level for uid, u in stored.items()} | {uid: r["level"] for uid, r in by_id.items()}
        parents = {u.parent_id for u in stored.values()} | {r.get("parent_id") for r in by_id.values()}
        for number, row in rows:
            parent = row.get("parent_id")
            if parent and levels.get(parent) != "first_level":
                errors.append(
                    {
                        "row": number,
                        "errors": {"parent_id": [_("{parent} is not a first-level unit.").format(parent=parent)]},
                    }
                )
            if row["level"] == "grassroots" and row["id"] in parents:
                errors.append({"row": number, "errors": {"level": [_("Has grassroots unions under it.")]}})
        if errors:
            errors.sort(key=lambda e: e["row"])
            raise IMPORT_REJECTED(_("{bad} rows have errors.").format(bad=len(errors)), errors={"rows": errors})
        changed = 0
        for _number, row in sorted(rows, key=lambda r: r[1]["level"]):  # first-level units before their unions
            unit = stored.get(row["id"])
            values = {k: row.get(k) for k in FIELDS}
            before = None
            if unit is None:
                unit = Unit(id=row["id"], revision=0, status="active")
                uow.session.add(unit)
            elif all(getattr(unit, k) == v for k, v in values.items()):
                continue
            else:
                before = {k: getattr(unit, k) for k in FIELDS}
            _apply(unit, values)
            _announce(uow, unit)
            after = {k: getattr(unit, k) for k in FIELDS}
            uow.audit("unit.imported", "unit", unit.id, before=before, after=after, only_changes=True)
            changed += 1
        uow.commit()
    return {"imported": len(rows), "changed": changed}


def _apply(unit: Unit, values: dict) -> None:
    for name in FIELDS:
        setattr(unit, name, values[name])


def _announce(uow, unit: Unit) -> None:
    unit.revision += 1
    unit.updated_at = utcnow()
    uow.publish("unit.upserted", payload(unit))


def _check_consistent(values: dict) -> None:
    grassroots = values["level"] == "grassroots"
    if grassroots != bool(values.get("parent_id")) or grassroots != (values["category"] == "grassroots"):
        raise UNIT_INVALID(
            "A grassroots union has category grassroots and a first-level parent; a first-level unit has neither.",
        )


def _check_parent(session, unit: Unit) -> None:
    if unit.parent_id is None:
        return
    parent = session.get(Unit, unit.parent_id)
    if parent is None or parent.level != "first_level":
        raise UNIT_INVALID(
            _("The parent {parent_id} is not a first-level unit.").format(parent_id=unit.parent_id),
            errors={"parent_id": [_("{parent_id} is not a first-level unit.").format(parent_id=unit.parent_id)]},
        )


def _has_members(session, unit_id: str) -> bool:
    return session.scalars(select(Unit.id).where(Unit.parent_id == unit_id).limit(1)).first() is not None


def _visible(identity: Identity):
    """Federation staff see every unit; a unit officer its unit and its unions; a grassroots officer its union."""
    query = select(Unit)
    if identity.is_federation:
        return query
    if identity.role == "grassroots_officer":
        return query.where(Unit.id == identity.grassroots_union_id)
    return query.where(or_(Unit.id == identity.unit_id, Unit.parent_id == identity.unit_id))


def view(unit: Unit) -> dict:
    weight = unit.key_industry_weight
    return {
        "id": unit.id,
        "revision": unit.revision,
        "updated_at": unit.updated_at,
        **{k: getattr(unit, k) for k in FIELDS},
        "key_industry_weight": weight and decimal_text(weight),
        "status": unit.status,
        "successor_id": unit.successor_id,
    }


def payload(unit: Unit) -> dict:
    data = {
        "unit_id": unit.id,
        "revision": unit.revision,
        "name": unit.name,
        "level": unit.level,
        "category": unit.category,
        "headcount": unit.headcount,
        "key_industry": unit.key_industry,
    }
    if unit.parent_id:
        data["parent_id"] = unit.parent_id
    if unit.key_industry_weight is not None:
        data["key_industry_weight"] = decimal_text(unit.key_industry_weight)
    if unit.status != "active":
        data["status"] = unit.status
    if unit.successor_id:
        data["successor_id"] = unit.successor_id
    return data


def retire(identity: Identity, unit_id: str, body: dict) -> dict:
    """Retire a first-level unit, or merge it into a successor: it keeps its past allocations, reservations and
    students, and takes no new allocation line or reservation. A merge moves its grassroots unions to the
    successor (each announced again with its new parent). Audited in the same transaction."""
    with unit_of_work() as uow:
        session = uow.session
        successor_id = body.get("successor_id")
        ids = sorted({unit_id, *([successor_id] if successor_id else [])})
        locked = {
            u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.id).with_for_update())
        }
        unit = locked.get(unit_id)
        if unit is None:
            raise UNIT_NOT_FOUND(_("No unit {unit_id}.").format(unit_id=unit_id))
        if unit.level != "first_level" or unit.status != "active":
            raise UNIT_INVALID(_("{unit_id} is not an active first-level unit.").format(unit_id=unit_id))
        successor = locked.get(successor_id) if successor_id else None
        if successor_id and (
            successor is None
            or successor_id == unit_id
            or successor.level != "first_level"
            or successor.status != "active"
        ):
            raise UNIT_INVALID(
                errors={"successor_id": [_("Must be another active first-level unit.")]},
            )
        moved = []
        if successor is not None:
            for union in session.scalars(
                select(Unit).where(Unit.parent_id == unit_id).order_by(Unit.id).with_for_update()
            ):
                union.parent_id = successor.id
                _announce(uow, union)
                moved.append(union.id)
        before = {"status": unit.status, "successor_id": unit.successor_id}
        unit.status, unit.successor_id = "retired", successor_id
        _announce(uow, unit)
        uow.audit(
            "unit.merged" if successor else "unit.retired",
            "unit",
            unit_id,
            before=before,
            after={"status": "retired", "successor_id": successor_id, "grassroots_unions_moved": moved},
            reason=body["reason"],
        )
        uow.commit()
        return {**view(unit), "grassroots_unions_moved": moved}
