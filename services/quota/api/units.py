"""Organisation units: first-level units and grassroots unions, one by one or imported from a spreadsheet."""

from __future__ import annotations

from flask_smorest import Blueprint

from servicekit.identity import (
    AUDITOR,
    FEDERATION_ADMIN,
    GRASSROOTS_OFFICER,
    UNIT_OFFICER,
    current_identity,
    requires,
)
from servicekit.tabular import Column

from .. import units
from ..schemas import (
    FileUpload,
    ImportResult,
    UnitFields,
    UnitImportRow,
    UnitIn,
    UnitOut,
)
from . import uploaded_rows

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

blp = Blueprint(
    "units", __name__, url_prefix="/units", description="Organisation units: first-level units and grassroots unions"
)


@blp.route("", methods=["POST"])
@blp.arguments(UnitIn)
@blp.response(201, UnitOut)
@blp.alt_response(409, description="A unit with this id exists")
@blp.alt_response(422, description="Invalid unit, or its parent is not a first-level unit")
@requires(FEDERATION_ADMIN)
def create_unit(body):
    """Add a first-level unit or a grassroots union (unit.upserted)."""
    return units.create(body)


@blp.route("", methods=["GET"])
@blp.arguments(units.LISTING.query, location="query")
@blp.response(200, UnitOut(many=True))
@requires(*READERS_OF_UNITS)
def list_units(query):
    """The units the caller may see: the federation all, a unit officer its unit and its unions."""
    return units.listing(current_identity(), query)


@blp.route("/<unit_id>", methods=["GET"])
@blp.response(200, UnitOut)
@blp.alt_response(404, description="No such unit, or not yours")
@requires(*READERS_OF_UNITS)
def get_unit(unit_id):
    """One unit, if the caller may see it."""
    return units.get(current_identity(), unit_id)


@blp.route("/<unit_id>", methods=["PATCH"])
@blp.arguments(UnitFields(partial=True))
@blp.response(200, UnitOut)
@blp.alt_response(404, description="No such unit")
@blp.alt_response(422, description="The change breaks a rule of units")
@requires(FEDERATION_ADMIN)
def edit_unit(body, unit_id):
    """Change a unit (unit.upserted with the next revision); published allocations keep their snapshot."""
    return units.edit(unit_id, body)


@blp.route("/import", methods=["POST"])
@blp.arguments(FileUpload, location="files")
@blp.response(200, ImportResult)
@blp.alt_response(400, description="The file cannot be read")
@blp.alt_response(422, description="Rows with errors: nothing was imported; every bad row is listed")
@requires(FEDERATION_ADMIN)
def import_units(upload):
    """Create or update units from an .xlsx or .csv file, all or nothing (headers in Chinese or English)."""
    return units.import_rows(uploaded_rows(upload, UNIT_COLUMNS, UnitImportRow()))
