"""Status changes (学籍异动): withdrawal, transfer of institution, change of major."""

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import Changes, audit_changes
from servicekit.clock import china_today as today
from servicekit.identity import ROLES, current_identity, requires

from .. import changes
from ..listings import STATUS_CHANGES
from ..schemas import DecisionIn, StatusChangeIn, StatusChangeOut
from . import documents

blp = Blueprint("status_changes", __name__, description="Status changes: withdrawal, transfer, change of major")


@blp.route("/enrolments/<enrolment_id>/status-changes", methods=["POST"])
@blp.arguments(StatusChangeIn)
@blp.response(201, StatusChangeOut)
@documents(blp, 403, 404, 409)
@requires("employee", "grassroots_officer", "unit_officer", "institution_operator")
def request_change(body, enrolment_id):
    """Ask for a withdrawal (the unit approves) or a transfer/change of major (the unit agrees, the federation
    reviews)."""
    with unit_of_work() as uow:
        tracked = Changes(uow.session)
        change = changes.request_change(uow, current_identity(), enrolment_id, body)
        audit_changes(uow, tracked, "requested", change, reason=body["reason"])
        view = changes.change_view(change)
        uow.commit()
    return view


def _change_views(rows) -> list[dict]:
    return [changes.change_view(c) for c in rows]


@blp.route("/enrolments/<enrolment_id>/status-changes", methods=["GET"])
@blp.arguments(STATUS_CHANGES.query, location="query")
@blp.response(200, StatusChangeOut(many=True))
@documents(blp, 404)
@requires(*ROLES)
def list_changes(args, enrolment_id):
    with unit_of_work() as uow:
        query = changes.changes_query(uow.session, current_identity(), enrolment_id)
        return STATUS_CHANGES.page(uow.session, query, args, view=_change_views)


@blp.route("/status-changes/pending", methods=["GET"])
@blp.arguments(STATUS_CHANGES.query, location="query")
@blp.response(200, StatusChangeOut(many=True))
@requires("unit_officer", "federation_admin", "auditor")
def pending(args):
    """What waits for the caller: a unit officer's requests to decide, the federation's transfers to review."""
    with unit_of_work() as uow:
        return STATUS_CHANGES.page(uow.session, changes.pending_query(current_identity()), args, view=_change_views)


@blp.route("/status-changes/<change_id>/decision", methods=["POST"])
@blp.arguments(DecisionIn)
@blp.response(200, StatusChangeOut)
@documents(blp, 403, 404, 409)
@requires("unit_officer", "federation_admin")
def decide(body, change_id):
    """Approve or decline the step that is the caller's; the final approval takes effect and is announced."""
    with unit_of_work() as uow:
        tracked = Changes(uow.session)
        change = changes.decide(uow, current_identity(), change_id, body, today())
        audit_changes(uow, tracked, body["decision"] + "d", change, reason=body.get("note"))
        view = changes.change_view(change)
        uow.commit()
    return view
