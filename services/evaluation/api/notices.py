"""Notices (通报) and their rectification (整改): the due date, the institution's report, the federation's verdict."""

from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.audit import audited
from servicekit.identity import (
    AUDITOR,
    FEDERATION_ADMIN,
    INSTITUTION_OPERATOR,
    INSTITUTION_SYSTEM,
    current_identity,
    requires,
)

from .. import notices
from ..schemas import DeadlineIn, NoticeOut, RectificationIn, VerdictIn

blp = Blueprint("notices", __name__, description="Notices (通报) given to institutions and their rectification (整改)")


@blp.route("/notices", methods=["GET"])
@blp.arguments(notices.NOTICES.query, location="query")
@blp.response(200, NoticeOut(many=True))
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM)
def list_notices(args):
    """Notices with their rectification state (open, overdue, answered, accepted, not_accepted); an institution
    sees its own. `state=awaiting_report`: open, overdue or not accepted."""
    identity = current_identity()
    with unit_of_work() as uow:
        return notices.NOTICES.page(
            uow.session,
            notices.notices_query(identity, args),
            args,
            view=lambda rows: [notices.view(n) for n in rows],
        )


@blp.route("/notices/<uuid:notice_id>", methods=["GET"])
@blp.response(200, NoticeOut)
@blp.alt_response(404, description="Unknown notice, or another institution's")
@requires(FEDERATION_ADMIN, AUDITOR, INSTITUTION_OPERATOR, INSTITUTION_SYSTEM)
def get_notice(notice_id):
    with unit_of_work() as uow:
        return notices.get(uow.session, current_identity(), str(notice_id))


@blp.route("/notices/<uuid:notice_id>/rectification", methods=["POST"])
@blp.arguments(RectificationIn)
@blp.response(200, NoticeOut)
@blp.alt_response(404, description="Unknown notice, or another institution's")
@blp.alt_response(409, description="The rectification was already accepted")
@requires(INSTITUTION_OPERATOR)
def report_rectification(body, notice_id):
    """The institution's rectification report (整改报告); sent again, it is a revision (say why in `reason`) and
    awaits a new verdict. Late reports are taken and marked late."""
    with unit_of_work() as uow:
        reason = (body.get("reason") or "").strip() or None
        with audited(uow, "rectification_reported", "notice", str(notice_id), reason=reason) as decision:
            notice, revised = notices.report(uow, current_identity(), str(notice_id), body["report"].strip())
            if revised:
                decision.reason = reason or "修订整改报告 (revised report)"
        answer = notices.view(notice)
        uow.commit()
    return answer


@blp.route("/notices/<uuid:notice_id>/verdict", methods=["POST"])
@blp.arguments(VerdictIn)
@blp.response(200, NoticeOut)
@blp.alt_response(404, description="Unknown notice")
@blp.alt_response(409, description="No report yet, or the latest report already has a verdict")
@requires(FEDERATION_ADMIN)
def judge_rectification(body, notice_id):
    """Accept the rectification, or not (with the reason: the institution then sends a revised report)."""
    reason = (body.get("reason") or "").strip() or None
    action = "rectification_accepted" if body["accepted"] else "rectification_not_accepted"
    return _decided(
        action,
        notice_id,
        reason,
        lambda uow: notices.judge(uow, current_identity(), str(notice_id), body["accepted"], reason),
    )


@blp.route("/notices/<uuid:notice_id>/due-date", methods=["PUT"])
@blp.arguments(DeadlineIn)
@blp.response(200, NoticeOut)
@blp.alt_response(404, description="Unknown notice")
@blp.alt_response(409, description="The rectification was already accepted")
@requires(FEDERATION_ADMIN)
def set_due_date(body, notice_id):
    """Set or move the date the rectification report is due (a notice given before due dates has none)."""
    return _decided(
        "rectification_due_date",
        notice_id,
        body["reason"].strip(),
        lambda uow: notices.set_due_date(uow, current_identity(), str(notice_id), body["respond_by"]),
    )


def _decided(action: str, notice_id, reason: str | None, change):
    """`change(uow)` of a notice as one audited decision; the notice as it is after it."""
    with unit_of_work() as uow:
        with audited(uow, action, "notice", str(notice_id), reason=reason):
            notice = change(uow)
        answer = notices.view(notice)
        uow.commit()
    return answer
