"""The audit trail: every decision, written in the same transaction as the change it records.

Each service (and the gateway) keeps a table `audit_entries`: when, who (the signed identity the
request carried: user or machine client, role, unit; "system" for a worker), what (action, entity
type and id), the values before and after (personal data masked) and why. Rows are only ever
inserted: no API changes or deletes one, and on PostgreSQL a trigger refuses UPDATE and DELETE.

    with unit_of_work() as uow:
        before = snapshot(campaign)
        ...change the campaign...
        uow.audit("campaign.updated", "campaign", campaign.id, before=before, after=snapshot(campaign))
        uow.commit()
"""

from __future__ import annotations

import enum
import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    event,
    insert,
    inspect,
)
from sqlalchemy.orm import Session

from .columns import modified_columns
from .i18n import _
from .logging import request_id
from .refusals import Invalid

TABLE = "audit_entries"
USER, MACHINE, SYSTEM = "user", "machine", "system"
MAX_REASON = 2000
# Keys whose values are personal data: never written in clear (the start and the last four stay).
PERSONAL_KEYS = re.compile(
    r"(resident_id|id_number|id_card|identity_number|phone|mobile|telephone|email|bank_account|password)", re.I
)
# Names of people (not of units, institutions or programmes): the surname stays.
PERSON_NAME_KEYS = re.compile(
    r"^(full_name|holder_name|employee_name|student_name|person_name|nominated_name|contact)$", re.I
)
SECRET_KEYS = re.compile(r"(password|secret|token|private|_pem$)", re.I)
# Rows that are people: their `name` is a person's name.
PERSON_TYPES = frozenset({"employee", "person", "student", "holder", "user"})


def add_audit_table(metadata: MetaData) -> Table:
    """The service's `audit_entries` (declare it in the service's metadata; migrate with create_audit_table)."""
    return Table(
        TABLE,
        metadata,
        Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
        Column("at", DateTime(timezone=True), nullable=False),
        Column("actor_id", String(200), nullable=False),
        Column("actor_kind", String(10), nullable=False),  # user | machine | system
        Column("actor_role", String(40)),
        Column("actor_unit_id", String(64)),
        Column("action", String(80), nullable=False),
        Column("entity_type", String(60), nullable=False),
        Column("entity_id", String(200)),
        Column("before", JSON),
        Column("after", JSON),
        Column("reason", Text),
        Column("request_id", String(64)),
        Index("ix_audit_entries_at_id", "at", "id"),
        Index("ix_audit_entries_entity", "entity_type", "entity_id", "at"),
        Index("ix_audit_entries_actor", "actor_id", "at"),
    )


# The trigger of PostgreSQL: an audit row is never changed nor deleted, whoever asks.
READ_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_entries_read_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are never changed nor deleted' USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""
READ_ONLY_TRIGGER = """
CREATE TRIGGER audit_entries_read_only BEFORE UPDATE OR DELETE ON audit_entries
FOR EACH ROW EXECUTE FUNCTION audit_entries_read_only()
"""


def create_audit_table() -> None:
    """The body of a service's migration adding its audit trail (the read-only trigger on PostgreSQL)."""
    from alembic import op

    bind = op.get_bind()
    add_audit_table(MetaData()).create(bind)
    if bind.dialect.name == "postgresql":
        op.execute(READ_ONLY_FUNCTION)
        op.execute(READ_ONLY_TRIGGER)


def drop_audit_table() -> None:
    from alembic import op

    bind = op.get_bind()
    op.drop_table(TABLE)
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_read_only()")


@dataclass(frozen=True)
class Actor:
    id: str
    kind: str
    role: str | None = None
    unit_id: str | None = None


def actor_of(identity) -> Actor:
    """The actor of a verified identity (servicekit.identity.Identity): machine clients are `client:<key id>`."""
    kind = MACHINE if identity.subject.startswith("client:") or identity.role == "institution_system" else USER
    unit = identity.unit_id or identity.grassroots_union_id or identity.institution_id
    return Actor(identity.subject, kind, identity.role, unit)


def current_actor(default: str = "system") -> Actor:
    """Who acts now: the request's verified caller, or the system (a worker handling an event)."""
    from flask import g, has_request_context

    if has_request_context() and g.get("identity") is not None:
        return actor_of(g.identity)
    return Actor(default, SYSTEM)


def plain(value: Any) -> Any:
    """A value as JSON holds it: money and dates as text, nested values too."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    return value


def mask(value: Any, key: str = "") -> Any:
    """Personal data masked: resident ID numbers and phones keep their start and last four, people's
    names their first character, secrets nothing."""
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if not isinstance(value, str) or not value:
        return value
    if SECRET_KEYS.search(key):
        return "***"
    if PERSONAL_KEYS.search(key):
        if "*" in value:
            return value  # already masked by the service
        if "account" in key.lower():
            return "*" * max(len(value) - 4, 1) + value[-4:]
        keep = 4 if len(value) > 8 else 1
        return value[:keep] + "*" * max(len(value) - 2 * keep, 1) + value[-keep:]
    if PERSON_NAME_KEYS.match(key) and not value.endswith("*"):
        return value[:1] + "*" * max(len(value) - 1, 1)
    return value


def snapshot(row, *fields: str) -> dict:
    """An ORM row's column values (or only `fields`), ready for before/after."""
    state = inspect(row)
    keys = fields or tuple(attribute.key for attribute in state.mapper.column_attrs)
    return {key: plain(getattr(row, key)) for key in keys}


def changed(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only what differs between two snapshots (both whole when one is missing)."""
    if not before or not after:
        return before, after
    keys = [key for key in {**before, **after} if before.get(key) != after.get(key)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(session: Session, table: Table, action: str, entity_type: str, entity_id: Any = None, **decision) -> None:
    """Insert one audit entry in the session's transaction (committed or rolled back with the change);
    `decision`: `entry`'s before, after, reason, actor, only_changes."""
    record_all(session, table, [entry(action, entity_type, entity_id, **decision)])


def entry(
    action: str,
    entity_type: str,
    entity_id: Any = None,
    *,
    before: dict | None = None,
    after: dict | None = None,
    reason: str | None = None,
    actor: Actor | None = None,
    only_changes: bool = False,
) -> dict:
    """One audit entry's row, masked and cut to its columns, for `record_all`."""
    actor = actor or current_actor()
    before, after = plain(before), plain(after)
    if only_changes:
        before, after = changed(before, after)
    return {
        "at": datetime.now(UTC),
        "actor_id": actor.id[:200],
        "actor_kind": actor.kind,
        "actor_role": actor.role,
        "actor_unit_id": actor.unit_id,
        "action": action[:80],
        "entity_type": entity_type[:60],
        "entity_id": None if entity_id is None else str(entity_id)[:200],
        "before": mask(before) if before is not None else None,
        "after": mask(after) if after is not None else None,
        "reason": (reason or None) and reason[:MAX_REASON],
        "request_id": request_id.get(),
    }


def record_all(session: Session, table: Table, entries: list[dict]) -> None:
    """Insert audit entries (`entry`) in one statement, in the session's transaction: a batch's decisions."""
    if entries:
        session.execute(insert(table), entries)


def require_reason(reason: str | None, field: str = "reason") -> str:
    """The reason a decision needs (a refusal, a review, a sanction, an override, a reallocation): 422 without one."""
    if reason is None or not str(reason).strip():
        raise Invalid(errors={field: [_("A reason is required for this decision.")]})
    return str(reason).strip()


# Reading: servicekit.audit_api pages the trail as every list is paged (servicekit.paging).


def as_utc(moment: datetime) -> datetime:
    """A moment in UTC (a time without zone is taken as UTC, as SQLite keeps them)."""
    return _utc(moment)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_view(row) -> dict:
    return {
        "id": row.id,
        "at": _utc(row.at),
        "actor_id": row.actor_id,
        "actor_kind": row.actor_kind,
        "actor_role": row.actor_role,
        "actor_unit_id": row.actor_unit_id,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "before": row.before,
        "after": row.after,
        "reason": row.reason,
        "request_id": row.request_id,
    }


class Changes:
    """The old and new column values of the rows a unit of work adds or changes, across its flushes.

    changes = Changes(uow.session)      # before the use case runs
    ...the use case...
    before, after = changes.of(entity)  # what it changed of `entity`, and of the other rows it touched
    """

    MAX_OTHERS = 50

    def __init__(self, session: Session):
        self.session = session
        self._before: dict[tuple, dict] = {}
        self._after: dict[tuple, dict] = {}
        self._new: set[tuple] = set()
        session.info.setdefault(TRACKED, []).append(self)

    def close(self) -> None:
        tracked = self.session.info.get(TRACKED, [])
        if self in tracked:
            tracked.remove(self)

    @staticmethod
    def _key(row) -> tuple:
        return (type(row), id(row))

    def _collect(self, session: Session, *_args) -> None:
        for row in session.new:
            key = self._key(row)
            self._new.add(key)
            self._after[key] = {"_row": row}
        for row in session.dirty:
            key = self._key(row)
            state = inspect(row)
            before, after = self._before.setdefault(key, {}), self._after.setdefault(key, {"_row": row})
            for name in modified_columns(state):
                history = state.attrs[name].history
                if history.added or history.deleted:
                    before.setdefault(name, history.deleted[0] if history.deleted else None)
                    after[name] = history.added[0] if history.added else None

    def _values(self, key: tuple) -> tuple[dict | None, dict]:
        row = self._after[key]["_row"]
        person = entity_type_of(row) in PERSON_TYPES
        if key in self._new:
            return None, person_masked(snapshot(row), person)
        after = {k: plain(v) for k, v in self._after[key].items() if k != "_row"}
        before = {k: plain(v) for k, v in self._before.get(key, {}).items() if plain(v) != after.get(k)}
        after = {k: v for k, v in after.items() if k in before}
        return person_masked(before, person), person_masked(after, person)

    def only_row(self):
        """The one row the unit of work touched, or None (none, or several)."""
        self._collect(self.session)
        return next(iter(self._after.values()))["_row"] if len(self._after) == 1 else None

    def of(self, entity) -> tuple[dict | None, dict | None]:
        """What changed of `entity` (all of it when new), the other rows touched under "others"."""
        self._collect(self.session)
        main = self._key(entity)
        before, after = self._values(main) if main in self._after else ({}, {})
        others = [key for key in self._after if key != main]
        for key in others[: self.MAX_OTHERS]:
            old, new = self._values(key)
            if not new:
                continue
            label = f"{entity_type_of(self._after[key]['_row'])} {entity_id_of(self._after[key]['_row'])}"
            if old:
                before = {**(before or {}), "others": {**(before or {}).get("others", {}), label: old}}
            after = {**(after or {}), "others": {**(after or {}).get("others", {}), label: new}}
        if len(others) > self.MAX_OTHERS:
            after = {**(after or {}), "others_not_shown": len(others) - self.MAX_OTHERS}
        return before, after


TRACKED = "tracked_changes"  # the session's info key for the `Changes` its flushes feed


@event.listens_for(Session, "before_flush")
def _feed_changes(session: Session, *_args) -> None:
    """One listener for all sessions, not one added to each request's session and removed after it (SQLAlchemy's
    event registry at every write request)."""
    for changes in session.info.get(TRACKED, ()):
        changes._collect(session)


def person_masked(values: dict, person: bool = True) -> dict:
    """A person's row: the name keeps its first character."""
    if person and isinstance(values.get("name"), str) and values["name"]:
        return {**values, "name": values["name"][:1] + "*" * max(len(values["name"]) - 1, 1)}
    return values


def audit_changes(
    uow,
    changes: Changes,
    action: str,
    entity=None,
    *,
    entity_type: str | None = None,
    entity_id: Any = None,
    reason: str | None = None,
) -> None:
    """Record what `changes` saw as one decision: `<entity type>.<action>` on `entity` (its old and new
    values, the other rows it touched), or on the rows alone when no entity is given."""
    if entity is None:
        entity = changes.only_row()
    before, after = changes.of(entity)
    changes.close()
    kind = entity_type or (entity_type_of(entity) if entity is not None else "rows")
    if entity_id is None and entity is not None:
        entity_id = entity_id_of(entity)
    uow.audit(f"{kind}.{action}", kind, entity_id, before=before or None, after=after or None, reason=reason)


@dataclass
class Decision:
    """What `audited` records; the block may name the entity (or its id) and the reason once it knows them."""

    entity: Any = None
    entity_id: Any = None
    reason: str | None = None


@contextmanager
def audited(uow, action: str, entity_type: str | None = None, entity_id: Any = None, *, reason: str | None = None):
    """Audit the rows the block adds or changes as one decision (before the block's `uow.commit()`):

    with unit_of_work() as uow:
        with audited(uow, "paid", "payment", reason=body.get("note")) as decision:
            decision.entity = fees.record_payment(uow, ...)
        uow.commit()
    """
    changes = Changes(uow.session)
    decision = Decision(entity_id=entity_id, reason=reason)
    try:
        yield decision
        uow.session.flush()
    except BaseException:
        changes.close()
        raise
    entity = decision.entity if decision.entity is not None and _mapped(decision.entity) else None
    audit_changes(
        uow,
        changes,
        action,
        entity,
        entity_type=entity_type,
        entity_id=decision.entity_id,
        reason=decision.reason,
    )


def _mapped(value) -> bool:
    try:
        inspect(value).mapper  # noqa: B018
        return True
    except Exception:
        return False


def entity_type_of(row) -> str:
    """TrainingClass -> training_class."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(row).__name__).lower()


def entity_id_of(row) -> str | None:
    identity = inspect(row).identity
    if identity is None:
        mapper = inspect(row).mapper
        identity = tuple(getattr(row, mapper.get_property_by_column(column).key) for column in mapper.primary_key)
    return "/".join(str(part) for part in identity) if identity and None not in identity else None


def reason_in(*args) -> str | None:
    """The reason a request body gives (reason, note, comments...), for the entry's `reason`."""
    for arg in args:
        if isinstance(arg, dict):
            for name in ("reason", "note", "comments", "outcome_note", "refusal_reason"):
                if arg.get(name):
                    return str(arg[name])
    return None
