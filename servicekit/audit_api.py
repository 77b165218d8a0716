"""GET /audit: a service's audit trail, for the federation admin and the auditor (read only: no API changes it).

Newest first, keyset-paged on (at, id): `limit` (at most 500) and the opaque `cursor` of the
`Link: <...>; rel="next"` header. (Once servicekit.paging lands, this list moves onto it.)
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from . import audit
from .identity import AUDITOR, FEDERATION_ADMIN, requires

blp = Blueprint("audit", __name__, description="The audit trail: every decision, who made it, what changed and why")


class AuditQuery(Schema):
    entity_type = fields.String(validate=validate.Length(max=60), metadata={"description": "e.g. campaign, enrolment"})
    entity_id = fields.String(validate=validate.Length(max=200))
    actor_id = fields.String(validate=validate.Length(max=200), metadata={"description": "A user or machine client"})
    action = fields.String(validate=validate.Length(max=80), metadata={"description": "e.g. campaign.updated"})
    at_from = fields.DateTime(metadata={"description": "From this moment (inclusive)"})
    at_to = fields.DateTime(metadata={"description": "Up to this moment (inclusive)"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=audit.MAX_LIMIT))
    cursor = fields.String(validate=validate.Length(max=200), metadata={"description": "From the next link"})


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


@blp.route("/audit", methods=["GET"])
@blp.arguments(AuditQuery, location="query")
@blp.response(
    200,
    AuditEntryOut(many=True),
    headers={"Link": {"description": "rel=next: the next page", "schema": {"type": "string"}}},
)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, description="A filter or cursor that is not valid")
@requires(FEDERATION_ADMIN, AUDITOR)
def audit_trail(query):
    """The service's audit entries, newest first, filtered by entity, actor, action and time."""
    runtime = current_app.extensions["runtime"]
    with runtime.sessions() as session:
        entries, following = audit.page(session, runtime.audit_entries, query)
    headers = {}
    if following:
        kept = {k: v for k, v in request.args.items() if k != "cursor"}
        headers["Link"] = f'<?{urlencode({**kept, "cursor": following})}>; rel="next"'
    return entries, 200, headers
