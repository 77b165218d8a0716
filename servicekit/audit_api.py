"""GET /audit: a service's audit trail, for the federation admin and the auditor (read only: no API changes it).

A list like every other (servicekit.paging): `limit`, `cursor` (from the Link rel="next"),
`sort` (at or id, `-at` (newest first) by default), `count=true`
(X-Total-Count), filters by entity, actor and action, and the time range `at_from`/`at_to`.
The gateway merges every service's trail into GET /api/audit with the same contract.
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import MetaData, select

from . import audit
from .errors import VALIDATION_FAILED, Problem
from .i18n import _
from .identity import AUDITOR, FEDERATION_ADMIN, requires
from .paging import Listing

blp = Blueprint("audit", __name__, description="The audit trail: every decision, who made it, what changed and why")

# Every service's `audit_entries` has this shape and this name: one declaration pages them all.
ENTRIES = audit.add_audit_table(MetaData())
AUDIT_TRAIL = Listing(
    "AuditEntries",
    id=ENTRIES.c.id,
    sorts={"at": ENTRIES.c.at},  # at and id: what the trail's indexes keep in order ((at, id), the key)
    default_sort="-at",
    filters={
        "entity_type": ENTRIES.c.entity_type,
        "entity_id": ENTRIES.c.entity_id,
        "actor_id": ENTRIES.c.actor_id,
        "actor_kind": ENTRIES.c.actor_kind,
        "action": ENTRIES.c.action,
    },
    ranges={"at": ENTRIES.c.at},
)


class AuditEntryOut(Schema):
    id = fields.Integer(metadata={"description": "The entry's number in this service (grows with time)"})
    at = fields.DateTime()
    actor_id = fields.String(metadata={"description": "User name, machine client (client:<key id>) or system"})
    actor_kind = fields.String(metadata={"description": "user, machine or system"})
    actor_role = fields.String(allow_none=True)
    actor_unit_id = fields.String(allow_none=True, metadata={"description": "The unit, union or institution"})
    action = fields.String()
    entity_type = fields.String()
    entity_id = fields.String(allow_none=True)
    before = fields.Raw(allow_none=True, metadata={"description": "What changed, as it was (personal data masked)"})
    after = fields.Raw(allow_none=True, metadata={"description": "What changed, as it became (personal data masked)"})
    reason = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)


def in_utc(query: dict) -> dict:
    """The query's time range in UTC (a moment without zone is UTC; one past year 9999 in UTC: 422)."""
    for name in ("at_from", "at_to"):
        if query.get(name) is not None:
            try:
                query[name] = audit.as_utc(query[name])
            except OverflowError:
                raise Problem(VALIDATION_FAILED, errors={name: [_("Not a valid datetime.")]}) from None
    return query


def trail_window(session, query: dict) -> tuple[list[dict], str | None, int | None]:
    """One page of this database's audit trail (entries as dicts), the next page's cursor, the count if asked."""
    return AUDIT_TRAIL.window(session, select(ENTRIES), query, view=_entries)


def _entries(rows) -> list[dict]:
    return [audit.entry_view(row) for row in rows]


@blp.route("/audit", methods=["GET"])
@blp.arguments(AUDIT_TRAIL.query, location="query")
@blp.response(200, AuditEntryOut(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, description="A filter or cursor that is not valid")
@requires(FEDERATION_ADMIN, AUDITOR)
def audit_trail(query):
    """The service's audit entries (newest first unless sorted otherwise), filtered by entity, actor, action and
    time."""
    runtime = current_app.extensions["runtime"]
    with runtime.sessions() as session:
        return AUDIT_TRAIL.page(session, select(ENTRIES), in_utc(query), view=_entries)
