"""Thin HTTP layer: campaigns and organisation units (allocations and reports: api_allocations.py)."""

from __future__ import annotations

from flask_smorest import Blueprint

from servicekit.identity import (
    AUDITOR,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    ROLES,
    UNIT_OFFICER,
    current_identity,
    requires,
)
from servicekit.tabular import Column, read_rows, validate_rows

from . import campaigns, units
from .schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    FileUpload,
    ImportResult,
    UnitFields,
    UnitImportRow,
    UnitIn,
    UnitOut,
)

READERS_OF_UNITS = (FEDERATION_ADMIN, AUDITOR, UNIT_OFFICER, GRASSROOTS_OFFICER)
UNIT_COLUMNS = [
    Column("id", "单位编号 Unit id", ("unit_id", "编号")),
    Column("name", "单位名称 Unit name", ("名称",)),
    Column("level", "层级 Level (first_level/grassroots)", ("层级",)),
    Column("category", "类别 Category (district/industry/directly_affiliated/grassroots)", ("类别",)),
    Column("parent_id", "上级单位编号 Parent unit id", ("上级单位", "parent")),
    Column("headcount", "职工人数 Headcount", ("职工人数",)),
    Column("key_industry", "重点产业 Key industry", ("重点产业",)),
    Column("key_industry_weight", "重点产业权重 Key-industry weight", ("权重", "weight")),
]

campaigns_blp = Blueprint(
    "campaigns",
    __name__,
    url_prefix="/campaigns",
    description="Campaigns (计划年度): funds, rates, windows and thresholds",
)
units_blp = Blueprint(
    "units", __name__, url_prefix="/units", description="Organisation units: first-level units and grassroots unions"
)


@campaigns_blp.route("", methods=["POST"])
@campaigns_blp.arguments(CampaignIn)
@campaigns_blp.response(201, CampaignOut)
@campaigns_blp.alt_response(403, description="Only the federation sets up campaigns")
@requires(FEDERATION_ADMIN)
def create_campaign(body):
    """Create a draft campaign; every setting left out takes the plan's value."""
    return campaigns.create(body)


@campaigns_blp.route("", methods=["GET"])
@campaigns_blp.arguments(campaigns.LISTING.query, location="query")
@campaigns_blp.response(200, CampaignOut(many=True))
@requires(*ROLES)
def list_campaigns(args):
    """All campaigns, the latest year first."""
    return campaigns.listing(args)


@campaigns_blp.route("/<campaign_id>", methods=["GET"])
@campaigns_blp.response(200, CampaignOut)
@campaigns_blp.alt_response(404, description="No such campaign")
@requires(*ROLES)
def get_campaign(campaign_id):
    """One campaign with every setting and the seats its academic pool pays for."""
    return campaigns.get(campaign_id)


@campaigns_blp.route("/<campaign_id>", methods=["PATCH"])
@campaigns_blp.arguments(CampaignPatch)
@campaigns_blp.response(200, CampaignOut)
@campaigns_blp.alt_response(404, description="No such campaign")
@campaigns_blp.alt_response(422, description="Invalid settings, or pools below what is already allocated")
@requires(FEDERATION_ADMIN)
def edit_campaign(body, campaign_id):
    """Change settings; once published, every edit publishes the next revision of campaign.published."""
    return campaigns.edit(campaign_id, body)


@campaigns_blp.route("/<campaign_id>/publish", methods=["POST"])
@campaigns_blp.response(200, CampaignOut)
@campaigns_blp.alt_response(404, description="No such campaign")
@campaigns_blp.alt_response(409, description="Already published")
@requires(FEDERATION_ADMIN)
def publish_campaign(campaign_id):
    """Publish the campaign (campaign.published, revision 1)."""
    return campaigns.publish(campaign_id)


@units_blp.route("", methods=["POST"])
@units_blp.arguments(UnitIn)
@units_blp.response(201, UnitOut)
@units_blp.alt_response(409, description="A unit with this id exists")
@units_blp.alt_response(422, description="Invalid unit, or its parent is not a first-level unit")
@requires(FEDERATION_ADMIN)
def create_unit(body):
    """Add a first-level unit or a grassroots union (unit.upserted)."""
    return units.create(body)


@units_blp.route("", methods=["GET"])
@units_blp.arguments(units.LISTING.query, location="query")
@units_blp.response(200, UnitOut(many=True))
@requires(*READERS_OF_UNITS)
def list_units(query):
    """The units the caller may see: the federation all, a unit officer its unit and its unions."""
    return units.listing(current_identity(), query)


@units_blp.route("/<unit_id>", methods=["GET"])
@units_blp.response(200, UnitOut)
@units_blp.alt_response(404, description="No such unit, or not yours")
@requires(*READERS_OF_UNITS)
def get_unit(unit_id):
    """One unit, if the caller may see it."""
    return units.get(current_identity(), unit_id)


@units_blp.route("/<unit_id>", methods=["PATCH"])
@units_blp.arguments(UnitFields(partial=True))
@units_blp.response(200, UnitOut)
@units_blp.alt_response(404, description="No such unit")
@units_blp.alt_response(422, description="The change breaks a rule of units")
@requires(FEDERATION_ADMIN)
def edit_unit(body, unit_id):
    """Change a unit (unit.upserted with the next revision); published allocations keep their snapshot."""
    return units.edit(unit_id, body)


@units_blp.route("/import", methods=["POST"])
@units_blp.arguments(FileUpload, location="files")
@units_blp.response(200, ImportResult)
@units_blp.alt_response(400, description="The file cannot be read")
@units_blp.alt_response(422, description="Rows with errors: nothing was imported; every bad row is listed")
@requires(FEDERATION_ADMIN)
def import_units(upload):
    """Create or update units from an .xlsx or .csv file, all or nothing (headers in Chinese or English)."""
    return units.import_rows(uploaded_rows(upload, UNIT_COLUMNS, UnitImportRow()))


def uploaded_rows(upload: dict, columns: list[Column], schema) -> list[tuple[int, dict]]:
    """(row number, validated row) for every row of an uploaded .xlsx/.csv, or the per-row problem."""
    file = upload["file"]
    rows = read_rows(file.read(), file.filename or "upload.csv", columns)
    loaded = validate_rows(rows, schema)
    return [(number, row) for (number, _), row in zip(rows, loaded)]
