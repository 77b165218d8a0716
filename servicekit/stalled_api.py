"""GET /stalled: what a service's sagas wait for too long (servicekit.sagas), for the federation's operators.

Paged like every list (servicekit.paging).
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import MetaData, func

from . import sagas
from .identity import AUDITOR, FEDERATION_ADMIN, requires
from .paging import Listing

blp = Blueprint("stalled", __name__, description="Saga items waiting too long for another service's answer")

# Every service's saga_waits table has this shape and name: this copy queries any of them.
TABLE = sagas.add_saga_table(MetaData())
WAITS = TABLE.c
LISTING = Listing(
    "Stalled",
    id=(WAITS.saga, WAITS.item_id),
    sorts={"waiting_since": WAITS.waiting_since, "stalled_at": func.coalesce(WAITS.stalled_at, WAITS.waiting_since)},
    default_sort="waiting_since",
    filters={"saga": WAITS.saga},
    ranges={"waiting_since": WAITS.waiting_since},
)


class StalledQuery(LISTING.query):  # type: ignore[name-defined]
    state = fields.String(
        load_default="stalled",
        validate=validate.OneOf(["stalled", "waiting"]),
        metadata={"description": "stalled (default): past the deadline; waiting: every item still waiting"},
    )


class WaitOut(Schema):
    saga = fields.String(metadata={"description": "e.g. registration, transfer"})
    item_id = fields.String(metadata={"description": "The waiting item: an enrolment, a status change..."})
    awaits = fields.String(metadata={"description": "What it waits for"})
    waiting_since = fields.DateTime()
    asks = fields.Integer(metadata={"description": "Times the request was sent again"})
    last_asked_at = fields.DateTime(allow_none=True)
    stalled_at = fields.DateTime(allow_none=True, metadata={"description": "When it passed the deadline"})


@blp.route("/stalled", methods=["GET"])
@blp.arguments(StalledQuery, location="query")
@blp.response(200, WaitOut(many=True))
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@requires(FEDERATION_ADMIN, AUDITOR)
def stalled(query):
    """Items waiting past their deadline (or, with state=waiting, all items waiting) for another service;
    sort=stalled_at orders waiting items not yet stalled by when they started waiting."""
    runtime = current_app.extensions["runtime"]
    with runtime.sessions() as session:
        return LISTING.page(
            session,
            sagas.waits_query(TABLE, stalled=query["state"] == "stalled"),
            query,
            view=lambda rows: sagas.wait_views(rows, runtime.service.sagas),
        )
