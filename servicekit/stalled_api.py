"""GET /stalled: what a service's sagas wait for too long (servicekit.sagas), for the federation's operators.

A minimal list: `limit` and `sort` as the list conventions name them; no cursor yet.
"""

from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from . import sagas
from .identity import AUDITOR, FEDERATION_ADMIN, requires

SORTS = ("stalled_at", "-stalled_at", "waiting_since", "-waiting_since")

blp = Blueprint("stalled", __name__, description="Saga items waiting too long for another service's answer")


class StalledQuery(Schema):
    saga = fields.String(validate=validate.Length(max=50), metadata={"description": "Only this saga's items"})
    state = fields.String(
        load_default="stalled",
        validate=validate.OneOf(["stalled", "waiting"]),
        metadata={"description": "stalled (default): past the deadline; waiting: every item still waiting"},
    )
    sort = fields.String(
        load_default="waiting_since",
        validate=validate.OneOf(SORTS),
        metadata={"description": f"One of {', '.join(SORTS)}; the item id breaks ties"},
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


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
    """Items waiting past their deadline (or, with state=waiting, all items waiting) for another service."""
    runtime = current_app.extensions["runtime"]
    with runtime.sessions() as session:
        return sagas.listing(
            session,
            runtime.saga_waits,
            runtime.service.sagas,
            stalled=query["state"] == "stalled",
            saga=query.get("saga"),
            sort=query["sort"],
            limit=query["limit"],
        )
