"""GET /dead-letters and POST /dead-letters/replay: a service's dead letters over HTTP, for the federation's operators
(the same as the `deadletters` command of servicekit.cli, which stays for the command line).

The list is read from the broker's dead-letter queue (each message left in place) and paged in memory like every
list; replaying sends the chosen messages back to the service's queue, attempts reset, and records who replayed
which and why in the service's audit trail (after the broker took them: a message and a database write cannot share
a transaction; an entry is written only for what was replayed).
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from . import audit
from .bus import deadletters
from .identity import AUDITOR, FEDERATION_ADMIN, requires
from .paging import memory_query, page_in_memory

blp = Blueprint(
    "dead_letters", __name__, description="Messages this service's worker could not handle, parked for an operator"
)


class DeadLetterFilters(Schema):
    type = fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Only dead letters of this event type"}
    )


DeadLetterQuery = memory_query("DeadLetters", sorts=("dead_at",), default_sort="-dead_at", base=DeadLetterFilters)


class DeadLetterOut(Schema):
    id = fields.String(metadata={"description": "The parked message's id (the event's id)"})
    type = fields.String(allow_none=True, metadata={"description": "The event's type, when it was readable"})
    attempts = fields.Integer(metadata={"description": "Times the worker tried it"})
    dead_at = fields.String(metadata={"description": "When it was parked (ISO 8601)"})
    reason = fields.String(metadata={"description": "Why the worker gave up on it (personal data scrubbed)"})


class ReplayIn(Schema):
    ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), required=True, validate=validate.Length(min=1, max=500)
    )
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReplayOut(Schema):
    replayed = fields.List(fields.String(), metadata={"description": "The ids sent back to the service's queue"})


def _parking():
    runtime = current_app.extensions["runtime"]
    return runtime, deadletters.dead_letters(runtime.settings.bus, runtime.service.name)


@blp.route("/dead-letters", methods=["GET"])
@blp.arguments(DeadLetterQuery, location="query")
@blp.response(200, DeadLetterOut(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@requires(FEDERATION_ADMIN, AUDITOR)
def dead_letters(query):
    """The messages parked in this service's dead-letter queue (left in place), newest first by default."""
    runtime, parking = _parking()
    letters = [
        letter.summary()
        for letter in deadletters.list_dead_letters(runtime.settings.bus, parking)
        if not query.get("type") or letter.event_type == query["type"]
    ]
    return page_in_memory(letters, query, id_key="id")


@blp.route("/dead-letters/replay", methods=["POST"])
@blp.arguments(ReplayIn)
@blp.response(200, ReplayOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@requires(FEDERATION_ADMIN)
def replay(body):
    """Send the named dead letters back to this service's queue (once the cause is fixed), with a reason; ids no
    longer parked are left out of `replayed`. Audited: action dead_letters.replayed."""
    runtime, parking = _parking()
    done = deadletters.replay(runtime.settings.bus, parking, set(body["ids"]))
    if done:
        with runtime.sessions() as session:
            audit.record(
                session,
                runtime.audit_entries,
                "dead_letters.replayed",
                "dead_letter",
                ",".join(done)[:200],
                after={"replayed": done},
                reason=audit.require_reason(body["reason"]),
            )
            session.commit()
    return {"replayed": done}
