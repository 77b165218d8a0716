"""Thin HTTP layer: a campaign's allocation (preview, save, edit, import, publish, reallocate, export) and reports."""

from __future__ import annotations

from flask_smorest import Blueprint

from servicekit.identity import AUDITOR, FEDERATION_ADMIN, UNIT_OFFICER, current_identity, requires
from servicekit.tabular import Column, export

from .. import allocations, reports
from ..reports import MEASURES
from ..schemas import (
    AllocationImportRow,
    AllocationOut,
    CampaignReport,
    ChangeOut,
    FileUpload,
    FormatQuery,
    LineEdit,
    ParticipantAdded,
    ParticipantOut,
    ParticipantsChoice,
    Reallocation,
    ReservationOut,
    WhatIf,
)
from . import uploaded_rows

READERS = (FEDERATION_ADMIN, AUDITOR, UNIT_OFFICER)
ALLOCATION_COLUMNS = [
    Column("unit_id", "单位编号 Unit id", ("编号",)),
    Column("unit_name", "单位名称 Unit name"),
    Column("headcount", "职工人数 Headcount"),
    Column("weight", "权重 Weight"),
    Column("academic_seats", "学历教育名额 Academic seats", ("学历名额", "名额")),
    Column("skills_money", "技能培训补助额度 Skills money", ("技能补助", "补助额度")),
]
IMPORT_COLUMNS = [c for c in ALLOCATION_COLUMNS if c.key in ("unit_id", "academic_seats", "skills_money")]
KIND_HEADERS = {"seats": "名额 seats", "money": "补助 money"}
MEASURE_HEADERS = {
    "allocated": "已分配 allocated",
    "reserved": "已预留 reserved",
    "consumed": "已使用 consumed",
    "spent": "已支付 spent",
    "released": "已释放 released",
    "available": "可用 available",
}
REPORT_COLUMNS = [Column("unit_id", "单位编号 Unit id"), Column("unit_name", "单位名称 Unit name")] + [
    Column(f"{kind}_{m}", f"{KIND_HEADERS[kind]} {MEASURE_HEADERS[m]}") for kind in KIND_HEADERS for m in MEASURES
]

blp = Blueprint(
    "allocations",
    __name__,
    url_prefix="/campaigns/<campaign_id>",
    description="A campaign's allocation of seats and skills money to first-level units, and reports",
)


@blp.route("/allocation/preview", methods=["GET"])
@blp.arguments(WhatIf, location="query")
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign")
@requires(FEDERATION_ADMIN, AUDITOR)
def preview(what_if, campaign_id):
    """The proposal from today's weighted headcounts (largest remainder), without saving it; with settings in the
    query (what-if: pools, subsidy, key-industry weight), the proposal they would give, the campaign unchanged."""
    return allocations.preview(campaign_id, what_if)


@blp.route("/allocation", methods=["POST"])
@blp.response(201, AllocationOut)
@blp.alt_response(404, description="No such campaign")
@blp.alt_response(409, description="The allocation is already published")
@requires(FEDERATION_ADMIN)
def save(campaign_id):
    """Save the proposal as the draft allocation (recomputed while a draft), headcounts snapshotted."""
    return allocations.save_proposal(campaign_id)


@blp.route("/allocation", methods=["GET"])
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign or no saved allocation")
@requires(*READERS)
def get(campaign_id):
    """The saved allocation; a unit officer sees only its own line."""
    return allocations.get(current_identity(), campaign_id)


@blp.route("/allocation/lines/<unit_id>", methods=["PATCH"])
@blp.arguments(LineEdit)
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign, allocation or line")
@blp.alt_response(409, description="Below what the unit already uses")
@blp.alt_response(422, description="The total would exceed the pool (the excess is named)")
@requires(FEDERATION_ADMIN)
def edit_line(body, campaign_id, unit_id):
    """Change one unit's seats and/or money, with a reason (audited; announced at once when published)."""
    return allocations.edit_line(current_identity(), campaign_id, unit_id, body)


@blp.route("/allocation/import", methods=["POST"])
@blp.arguments(FileUpload, location="files")
@blp.response(200, AllocationOut)
@blp.alt_response(400, description="The file cannot be read")
@blp.alt_response(422, description="Rows with errors, or the total exceeds the pool: nothing was imported")
@requires(FEDERATION_ADMIN)
def import_table(upload, campaign_id):
    """Import the official allocation table (附件1) from .xlsx or .csv: it replaces every line (audited)."""
    rows = uploaded_rows(upload, IMPORT_COLUMNS, AllocationImportRow())
    return allocations.import_table(current_identity(), campaign_id, rows)


@blp.route("/allocation/publish", methods=["POST"])
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign or no saved allocation")
@blp.alt_response(409, description="The campaign is not published, or the allocation already is")
@requires(FEDERATION_ADMIN)
def publish(campaign_id):
    """Publish the allocation: one allocation.published per unit."""
    return allocations.publish(campaign_id)


@blp.route("/allocation/reallocations", methods=["POST"])
@blp.arguments(Reallocation)
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign, allocation or line")
@blp.alt_response(409, description="Before the registration deadline, or not that much unused quota")
@requires(FEDERATION_ADMIN)
def reallocate(body, campaign_id):
    """After the registration deadline, move unused seats or money between units (audited, announced)."""
    return allocations.reallocate(current_identity(), campaign_id, body)


@blp.route("/participants", methods=["GET"])
@blp.arguments(allocations.PARTICIPANTS.query, location="query")
@blp.response(200, ParticipantOut(many=True))
@blp.alt_response(404, description="No such campaign")
@requires(FEDERATION_ADMIN, AUDITOR)
def list_participants(query, campaign_id):
    """The first-level units taking part (by default every active one, fixed when the allocation is first saved)."""
    return allocations.participants(campaign_id, query)


@blp.route("/participants", methods=["PUT"])
@blp.arguments(ParticipantsChoice)
@blp.response(200, ParticipantOut(many=True))
@blp.alt_response(404, description="No such campaign, or a unit that is not an active first-level unit")
@blp.alt_response(409, description="The allocation is published: add units from the reserve instead")
@requires(FEDERATION_ADMIN)
def choose_participants(body, campaign_id):
    """Choose the participating units before the allocation is published (a draft is recomputed; audited)."""
    return allocations.choose_participants(current_identity(), campaign_id, body)


@blp.route("/participants/<unit_id>", methods=["POST"])
@blp.arguments(ParticipantAdded)
@blp.response(200, AllocationOut)
@blp.alt_response(404, description="No such campaign, or not an active first-level unit")
@blp.alt_response(422, description="The reserve cannot cover the seats or money asked (the excess is named)")
@requires(FEDERATION_ADMIN)
def add_participant(body, campaign_id, unit_id):
    """A unit joins later: a draft allocation is recomputed with it; a published one gives it the seats and money
    named, from the reserve (announced as its line's first revision; audited)."""
    return allocations.add_participant(current_identity(), campaign_id, unit_id, body)


@blp.route("/allocation/changes", methods=["GET"])
@blp.arguments(allocations.CHANGES.query, location="query")
@blp.response(200, ChangeOut(many=True))
@blp.alt_response(404, description="No such campaign or no saved allocation")
@requires(FEDERATION_ADMIN, AUDITOR)
def changes(args, campaign_id):
    """The audit trail: who changed which line, when, from what to what, and why."""
    return allocations.changes(campaign_id, args)


@blp.route("/allocation/export", methods=["GET"])
@blp.arguments(FormatQuery, location="query")
@blp.response(200, description="The allocation table as .xlsx or .csv (format=xlsx|csv)")
@blp.alt_response(404, description="No such campaign or no saved allocation")
@requires(*READERS)
def export_table(query, campaign_id):
    """The allocation table as a spreadsheet (re-importable: same headers)."""
    allocation = allocations.get(current_identity(), campaign_id)
    fmt = "csv" if query["format"] == "csv" else "xlsx"
    return export(allocation["lines"], ALLOCATION_COLUMNS, fmt, f"allocation-{campaign_id}")


@blp.route("/report", methods=["GET"])
@blp.arguments(FormatQuery, location="query")
@blp.response(200, CampaignReport, description="JSON, or .xlsx / .csv with format=xlsx|csv")
@blp.alt_response(404, description="No such campaign")
@requires(*READERS)
def report(query, campaign_id):
    """Per unit: allocated, reserved, consumed, spent, released, available, for seats and money; and totals."""
    data = reports.campaign_report(current_identity(), campaign_id)
    if query["format"] == "json":
        return data
    return export(reports.flat_rows(data), REPORT_COLUMNS, query["format"], f"quota-report-{campaign_id}")


@blp.route("/reservations", methods=["GET"])
@blp.arguments(reports.RESERVATIONS.query, location="query")
@blp.response(200, ReservationOut(many=True))
@blp.alt_response(404, description="No such campaign")
@requires(*READERS)
def list_reservations(query, campaign_id):
    """Which enrolments hold quota, and which were refused (by enrolment id; no personal data here)."""
    return reports.reservations(current_identity(), campaign_id, query)
