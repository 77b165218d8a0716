"""Invariants, the student ledger, fund reports, the skills surplus and rate raises."""

from __future__ import annotations

from servicekit import unit_of_work
from servicekit.audit import audited
from servicekit.clock import china_today
from servicekit.closing import CloseoutPartOut
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires
from servicekit.tabular import export

from .. import closeout, invariants, raises, reports, schemas
from . import EVERYONE, FEDERATION, blp, cause, problems, reading


@blp.route("/invariants", methods=["GET"])
@blp.response(200, schemas.InvariantOut)
@problems()
@requires(*FEDERATION)
def check_invariants():
    """Prove the ledger: every drift to the fen; `passed` only when there is none"""
    with reading() as session:
        return invariants.check(session)


@blp.route("/ledger", methods=["GET"])
@blp.arguments(schemas.ExportArgs, location="query")
@blp.response(
    200,
    description="One row per student: fees, the three shares, payments, reimbursements "
    "(JSON list, or a .csv / .xlsx download)",
)
@problems()
@requires(*EVERYONE)
def student_ledger(args):
    """The training ledger's money columns, per student the caller may see (streamed)"""
    identity = current_identity()

    def rows():
        with reading() as session:
            yield from reports.student_ledger(session, identity, args.get("campaign_id"))

    return export(rows(), reports.LEDGER_COLUMNS, args["format"], "finance-ledger")


@blp.route("/reports/funds", methods=["GET"])
@blp.arguments(schemas.FundReportArgs, location="query")
@blp.response(
    200,
    description="Per campaign (federation) or per unit: allocated, transferred, committed, paid, "
    "returned, remaining; per institution: fund usage (经费使用管理情况)",
)
@problems(404)
@requires(*FEDERATION, "unit_officer", "institution_operator", "institution_system")
def fund_report(args):
    """Fund usage per campaign, per unit or per institution, as JSON, .csv or .xlsx"""
    with reading() as session:
        rows = reports.fund_usage(session, current_identity(), args["campaign_id"], args["by"])
    columns = {
        "campaign": reports.CAMPAIGN_COLUMNS,
        "unit": reports.UNIT_COLUMNS,
        "institution": reports.INSTITUTION_COLUMNS,
    }[args["by"]]
    return _rows(rows, columns, args["format"], f"fund-usage-by-{args['by']}")


@blp.route("/reports/transfer-deadline", methods=["GET"])
@blp.arguments(schemas.CampaignArgs, location="query")
@blp.response(200, schemas.TransferDeadlineOut)
@problems(404)
@requires(*FEDERATION, "unit_officer")
def transfer_deadline(args):
    """The year-end transfer deadline: what is still untransferred per unit, due soon or overdue"""
    with reading() as session:
        return reports.transfer_deadline(session, current_identity(), args["campaign_id"], china_today())


@blp.route("/reports/skills-surplus", methods=["GET"])
@blp.arguments(schemas.CampaignArgs, location="query")
@blp.response(200, schemas.SkillsSurplusOut)
@problems(404)
@requires(*FEDERATION)
def skills_surplus(args):
    """Unused skills money: what is left for raising the federation's rate for chosen trades"""
    with reading() as session:
        return reports.skills_surplus(session, args["campaign_id"])


@blp.route("/campaigns/<campaign_id>/skills-rate-raises", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.RateRaiseIn)
@blp.response(201, schemas.RateRaiseOut)
@problems(404, 409)
def raise_skills_rate(body, campaign_id):
    """Raise the federation's skills rate for one trade within the skills surplus; unpaid shares follow"""
    with unit_of_work() as uow:
        with audited(uow, "raised", "skills_rate", reason=body["reason"]) as decision:
            record = raises.raise_rate(uow, current_identity(), campaign_id, body, cause())
            decision.entity_id = f"{campaign_id}/{body['trade']}"
        uow.commit()
    return record


def _rows(rows: list[dict], columns, fmt: str, filename: str):
    return rows if fmt == "json" else export(rows, columns, fmt, filename)


@blp.route("/campaigns/<campaign_id>/closeout", methods=["GET"])
@blp.response(200, CloseoutPartOut)
@problems()
@requires("federation_admin", "auditor")
def closeout_part(campaign_id):
    """Finance's part of the close-out (merged by the gateway at /api/campaigns/{campaign_id}/closeout):
    reimbursements paid, funds transferred; money per payer per unit and institution, unspent per unit"""
    with reading() as session:
        return closeout.part(session, campaign_id)
