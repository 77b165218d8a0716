"""The employee's right to correction (PIPL art. 46) and right of access (GET /me/data, servicekit)."""

from flask_smorest import Blueprint
from sqlalchemy import select

from servicekit import unit_of_work
from servicekit.audit import Changes, audit_changes
from servicekit.identity import current_identity, requires

from .. import corrections
from ..listings import CORRECTIONS
from ..models import CorrectionRequest
from ..schemas import CorrectionDecisionIn, CorrectionIn, CorrectionOut
from . import documents

blp = Blueprint("corrections", __name__, description="Corrections of personal data asked by employees (更正申请)")


@blp.route("/me/corrections", methods=["POST"])
@blp.arguments(CorrectionIn)
@blp.response(201, CorrectionOut)
@documents(blp, 404, 409)
@requires("employee")
def request_correction(body):
    """Ask to correct one's name, mobile phone or schooling; the nominating grassroots union (or the federation)
    decides. One open request per field."""
    identity = current_identity()
    with unit_of_work() as uow:
        tracked = Changes(uow.session)
        request = corrections.request_correction(uow, identity, body)
        audit_changes(uow, tracked, "requested", request, reason=body["reason"])
        uow.commit()
        return corrections.correction_view(uow.session, identity, request)


@blp.route("/corrections", methods=["GET"])
@blp.arguments(CORRECTIONS.query, location="query")
@blp.response(200, CorrectionOut(many=True))
@requires("employee", "grassroots_officer", "unit_officer", "federation_admin", "auditor")
def list_corrections(args):
    """Correction requests: an employee's own; those of the employees a union or unit nominated; all for the
    federation. `state=open`: what waits for a decision."""
    identity = current_identity()
    with unit_of_work() as uow:
        query = corrections.scoped(select(CorrectionRequest), identity)
        return CORRECTIONS.page(
            uow.session,
            query,
            args,
            view=lambda rows: [corrections.correction_view(uow.session, identity, row) for row in rows],
        )


@blp.route("/corrections/<request_id>/decision", methods=["POST"])
@blp.arguments(CorrectionDecisionIn)
@blp.response(200, CorrectionOut)
@documents(blp, 403, 404, 409)
@requires("grassroots_officer", "federation_admin")
def decide_correction(body, request_id):
    """Accept (the record takes the value; a name reaches the other services, masked) or reject, with a reason."""
    identity = current_identity()
    with unit_of_work() as uow:
        tracked = Changes(uow.session)
        request = corrections.decide(uow, identity, request_id, body)
        audit_changes(uow, tracked, body["decision"] + "ed", request, reason=body["reason"])
        uow.commit()
        return corrections.correction_view(uow.session, identity, request)
