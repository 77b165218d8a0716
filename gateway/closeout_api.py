"""GET /api/campaigns/{campaign_id}/closeout: a campaign's close-out (结项), merged from every service's part.

The facts live where they are owned: quota the campaign (and whether it is closed), enrollment the classes,
objections and who was nominated, registered, trained; evaluation the results, certificates and satisfaction;
finance the reimbursements, transfers and money per payer. Each answers `GET /campaigns/{id}/closeout` with its
checklist items and its figures per first-level unit and per institution (servicekit.closing); this route asks
them all at once and merges: the checklist the federation sees before closing (each item with its counts and
what is missing), and the close-out report per unit and per institution as JSON or .xlsx (money as numbers).
Closing is quota's: POST /api/quota/campaigns/{campaign_id}/close.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from servicekit.closing import ChecklistItemOut
from servicekit.errors import NOT_FOUND, Problem
from servicekit.i18n import _
from servicekit.identity import AUDITOR, FEDERATION_ADMIN
from servicekit.tabular import Column, export

from .fanout import Reader
from .guard import require

blp = Blueprint("closeout", __name__, url_prefix="/api", description="A campaign's close-out (结项)")

PARTS = ("enrollment", "evaluation", "finance")
CHECKLIST = ("classes_finished", "results_in", "reimbursements_paid", "funds_transferred", "objections_decided")
COUNTS = ("nominated", "registered", "trained", "withdrawn", "passed", "certified")
MONEY = (
    "fees",
    "federation",
    "unit",
    "employee",
    "paid_by_employees",
    "refunded",
    "federation_reimbursed",
    "unit_reimbursed",
    "transferred",
    "unspent",
    "returned_at_close",
)
COLUMNS = [
    Column("level", "层级 Level"),
    Column("id", "编号 Id"),
    Column("nominated", "推荐 Nominated"),
    Column("registered", "报名 Registered"),
    Column("trained", "参训 Trained"),
    Column("withdrawn", "退学 Withdrawn"),
    Column("passed", "考试通过 Passed"),
    Column("certified", "取得证书 Certified"),
    Column("fees", "费用合计 Fees"),
    Column("federation", "市总承担 Federation share"),
    Column("unit", "单位承担 Unit share"),
    Column("employee", "个人承担 Employee share"),
    Column("paid_by_employees", "学员已缴 Paid by employees"),
    Column("refunded", "退费 Refunded"),
    Column("federation_reimbursed", "市总补助已发放 Federation reimbursed"),
    Column("unit_reimbursed", "单位补助已发放 Unit reimbursed"),
    Column("transferred", "已划拨 Transferred"),
    Column("unspent", "结余未用 Unspent"),
    Column("returned_at_close", "结项退回 Returned at close"),
    Column("satisfaction", "满意度 Satisfaction"),
]


class CloseoutQuery(Schema):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "xlsx")),
        metadata={"description": "xlsx: the report per unit and per institution as a spreadsheet"},
    )


class MergedItemOut(ChecklistItemOut):
    service = fields.String(metadata={"description": "whose facts: enrollment, evaluation, finance"})


class CloseoutOut(Schema):
    campaign_id = fields.String()
    name = fields.String()
    status = fields.String(metadata={"description": "published, or closed (read-only in every service)"})
    closed_at = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    unspent_funds = fields.String(allow_none=True)
    ready = fields.Boolean(metadata={"description": "every checklist item done"})
    checklist = fields.List(fields.Nested(MergedItemOut))
    units = fields.List(fields.Dict(), metadata={"description": "per first-level unit: counts, money per payer"})
    institutions = fields.List(fields.Dict(), metadata={"description": "per institution: counts, money, satisfaction"})


@blp.route("/campaigns/<campaign_id>/closeout", methods=["GET"])
@blp.arguments(CloseoutQuery, location="query")
@blp.response(200, CloseoutOut, description="JSON, or an .xlsx download with format=xlsx")
@blp.alt_response(403, description="Only the federation admin and the auditor see the close-out")
@blp.alt_response(404, description="No such campaign")
@blp.alt_response(503, description="A service cannot answer now (retry)")
def closeout(query, campaign_id):
    """The close-out of a campaign: the checklist (classes finished, results in, reimbursements paid, funds
    transferred, objections decided: each with its counts and what is missing) and the report per first-level
    unit and per institution (nominated, registered, trained, passed, certified, money per payer, satisfaction)"""
    reader = Reader.of_request(require(FEDERATION_ADMIN, AUDITOR))
    try:
        campaign_id = str(uuid.UUID(campaign_id))  # campaigns are named by UUIDs: anything else names none
    except ValueError:
        raise Problem(NOT_FOUND, _("No campaign {campaign_id}.").format(campaign_id=campaign_id)) from None

    def fetch(service: str) -> dict:
        path = f"/campaigns/{campaign_id}" + ("" if service == "quota" else "/closeout")
        return reader.get(
            service,
            path,
            {},
            _("The close-out of {service} cannot be read now.").format(service=service),
            _("No campaign {campaign_id}.").format(campaign_id=campaign_id),
        )

    answers = dict(zip(("quota", *PARTS), reader.each(fetch, ("quota", *PARTS))))
    merged = merge(answers["quota"], {service: answers[service] for service in PARTS})
    if query["format"] == "xlsx":
        return export(rows(merged), COLUMNS, "xlsx", f"closeout-{campaign_id}")
    return merged


def merge(campaign: dict, parts: dict[str, dict]) -> dict:
    items = {
        item["item"]: {**item, "service": service} for service, part in parts.items() for item in part["checklist"]
    }
    checklist = [items[name] for name in CHECKLIST if name in items]
    return {
        "campaign_id": campaign["id"],
        "name": campaign["name"],
        "status": campaign["status"],
        "closed_at": campaign.get("closed_at"),
        "close_reason": campaign.get("close_reason"),
        "unspent_funds": campaign.get("unspent_funds"),
        "ready": all(item["done"] for item in checklist),
        "checklist": checklist,
        "units": _figures(parts, "units", "unit_id"),
        "institutions": _figures(parts, "institutions", "institution_id"),
    }


def _figures(parts: dict[str, dict], level: str, key: str) -> list[dict]:
    merged: dict[str, dict] = {}
    for part in parts.values():
        for owner, figures in part[level].items():
            merged.setdefault(owner, {key: owner}).update(figures)
    return [merged[owner] for owner in sorted(merged)]


def rows(merged: dict):
    """One row per unit, then one per institution: counts as integers, money as numbers (Decimal)."""
    for level, key in (("units", "unit_id"), ("institutions", "institution_id")):
        for figures in merged[level]:
            yield {
                "level": "单位 unit" if level == "units" else "机构 institution",
                "id": figures[key],
                **{name: figures.get(name, 0) for name in COUNTS},
                **{name: Decimal(figures[name]) for name in MONEY if figures.get(name) is not None},
                "satisfaction": figures.get("satisfaction"),
            }
