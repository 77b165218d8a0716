"""The training ledger (工作台账), exported as .xlsx, .csv or JSON, streamed."""

from flask import Response, stream_with_context
from flask_smorest import Blueprint

from servicekit import unit_of_work
from servicekit.clock import china_today
from servicekit.closing import CloseoutPartOut
from servicekit.identity import current_identity, requires
from servicekit.tabular import MIMETYPES, chunks

from .. import attendance, closeout, ledger
from ..schemas import AttendanceIn, AttendanceOut, LedgerQuery
from . import change

blp = Blueprint("ledger", __name__, description="The training ledger (工作台账)")


@blp.route("/ledger", methods=["GET"])
@blp.arguments(LedgerQuery, location="query")
@blp.response(
    200,
    description="The ledger as .xlsx, .csv (UTF-8 with BOM) or a JSON array, streamed",
    content_type="application/octet-stream",
)
@requires("federation_admin", "auditor", "unit_officer", "grassroots_officer", "institution_operator")
def export_ledger(query):
    """One line per student: personal data (masked unless yours), unit, programme, institution, class, fees and
    payments, exam results, certificate, reimbursements. Filter by campaign, unit, institution, programme, status."""
    fmt, identity = query.pop("format"), current_identity()

    def body():
        with unit_of_work() as uow:
            yield from chunks(fmt, ledger.lines(uow.session, identity, query), ledger.COLUMNS)

    return Response(
        stream_with_context(body()),
        mimetype=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="ledger.{fmt}"'},
    )


@blp.route("/campaigns/<campaign_id>/closeout", methods=["GET"])
@blp.response(200, CloseoutPartOut)
@requires("federation_admin", "auditor")
def closeout_part(campaign_id):
    """Enrollment's part of the close-out (merged by the gateway at /api/campaigns/{campaign_id}/closeout):
    classes finished, objections decided; nominated, registered, trained, withdrawn per unit and institution"""
    with unit_of_work() as uow:
        return closeout.part(uow.session, campaign_id)


@blp.route("/enrolments/<enrolment_id>/attendance", methods=["PUT"])
@blp.arguments(AttendanceIn)
@blp.response(200, AttendanceOut)
@requires("institution_operator", "institution_system")
def report_attendance(body, enrolment_id):
    """The institution's attendance summary of its student (hours planned and attended), for the ledger; a later
    report replaces it (audited)"""
    return change(attendance.report, lambda session, row: row, enrolment_id, body, china_today())
