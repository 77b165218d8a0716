"""The finance HTTP API: thin endpoints over the use cases and queries.

Money-moving requests (payments, charges, transfers, returns, reimbursement payments,
recoveries, rate raises) take an Idempotency-Key per caller (servicekit.idempotency): sending
the same request again with the same key answers with what the first one did, and changes nothing.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from flask_smorest import Blueprint

from servicekit import Problem, bulk, unit_of_work
from servicekit.bulk import BulkOut
from servicekit.db import utcnow
from servicekit.errors import FORBIDDEN, NOT_FOUND
from servicekit.i18n import _
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires
from servicekit.tabular import export

from . import fees, funds, invariants, queries, raises, reimbursements, reports, rules, schemas
from .models import Breakdown, Campaign, UnitPolicyRow

blp = Blueprint("finance", __name__, description="Cost sharing, payments, earmarked funds, reimbursements, ledger")

FEDERATION = ("federation_admin", "auditor")
EVERYONE = (
    "federation_admin",
    "auditor",
    "unit_officer",
    "grassroots_officer",
    "institution_operator",
    "institution_system",
    "employee",
)


def problems(*statuses: int):
    """Document the problem responses an endpoint may give (401/403/422 on every one)."""
    names = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 422: "UNPROCESSABLE_ENTITY"}

    def decorate(view):
        for status in sorted({401, 403, 422, *statuses}, reverse=True):
            view = blp.alt_response(status, response=names[status])(view)
        return view

    return decorate


def cause() -> str:
    """What a request's ledger postings are named by: each execution its own (retries never execute twice)."""
    return f"request:{uuid.uuid4()}"


@contextmanager
def reading():
    """A session for a read: the rows it loads stay readable after the (rolled back) transaction."""
    with unit_of_work() as uow:
        try:
            yield uow.session
        finally:
            uow.session.expunge_all()


@blp.route("/campaigns/<campaign_id>/policy", methods=["GET"])
@blp.response(200, schemas.CampaignPolicyOut)
@problems(404)
@requires(*EVERYONE)
def get_campaign_policy(campaign_id):
    """The campaign's cost-sharing policy (from quota's campaign.published)"""
    with reading() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise Problem(NOT_FOUND, _("No published campaign {campaign_id}.").format(campaign_id=campaign_id))
        return campaign


def _own_unit(unit_id: str) -> None:
    identity = current_identity()
    if not identity.is_federation and identity.unit_id != unit_id:
        raise Problem(FORBIDDEN, "A unit officer sees and sets only the policy of their own unit.")


def _policy_view(unit_id: str, policy: rules.UnitPolicy, is_default: bool) -> dict:
    return {
        "unit_id": unit_id,
        "is_default": is_default,
        **{
            name: getattr(policy, name)
            for name in ("academic_mode", "academic_value", "skills_unit_rate", "unit_share_timing")
        },
    }


@blp.route("/units/<unit_id>/policy", methods=["GET"])
@blp.response(200, schemas.UnitPolicyOut)
@problems()
@requires(*FEDERATION, "unit_officer")
def get_unit_policy(unit_id):
    """A unit's cost-sharing policy (the defaults until the unit sets its own)"""
    _own_unit(unit_id)
    with reading() as session:
        return _policy_view(unit_id, fees.unit_policy(session, unit_id), session.get(UnitPolicyRow, unit_id) is None)


@blp.route("/units/<unit_id>/policy", methods=["PUT"])
@blp.arguments(schemas.UnitPolicyIn)
@blp.response(200, schemas.UnitPolicyOut)
@problems()
@requires("unit_officer")
def put_unit_policy(body, unit_id):
    """Set the unit's own policy; it applies to breakdowns computed from now on"""
    _own_unit(unit_id)
    if body["skills_unit_rate"] is None:
        body["skills_unit_rate"] = rules.DEFAULT_SKILLS_UNIT_RATE
    policy = rules.UnitPolicy(**body)
    with unit_of_work() as uow:
        uow.session.merge(
            UnitPolicyRow(unit_id=unit_id, updated_by=current_identity().subject, updated_at=utcnow(), **body)
        )
        uow.commit()
    return _policy_view(unit_id, policy, False)


@blp.route("/enrolments/<enrolment_id>/breakdown", methods=["GET"])
@blp.response(200, schemas.BreakdownOut)
@problems(404)
@requires(*EVERYONE)
def get_breakdown(enrolment_id):
    """An enrolment's fee breakdown, line by line, with the three shares"""
    with reading() as session:
        enrolment = fees.visible_enrolment(session, current_identity(), enrolment_id)
        breakdown = session.get(Breakdown, enrolment_id)
        if breakdown is None:
            raise Problem(NOT_FOUND, "This enrolment has no fee breakdown yet.")
        return queries.breakdown_view(session, enrolment, breakdown)


@blp.route("/enrolments/<enrolment_id>/charges", methods=["POST"])
@requires("institution_operator")
@idempotent
@blp.arguments(schemas.ChargeIn)
@blp.response(201, schemas.ChargeOut)
@blp.alt_response(200, schema=schemas.ChargeOut, description="this reference was recorded before: nothing changed")
@problems(404, 409)
def record_charge(body, enrolment_id):
    """The institution adds a re-exam, retake or practice fee the employee alone pays to their breakdown"""
    with unit_of_work() as uow:
        charge, new = fees.record_charge(uow, current_identity(), enrolment_id, body)
        uow.commit()
    return charge, 201 if new else 200


@blp.route("/breakdowns", methods=["GET"])
@blp.arguments(queries.BREAKDOWNS.query, location="query")
@blp.response(200, schemas.BreakdownOut(many=True))
@problems()
@requires(*EVERYONE)
def list_breakdowns(args):
    """Fee breakdowns the caller may see (a unit its students, an institution its students, an employee theirs)"""
    with reading() as session:
        return queries.breakdowns(session, current_identity(), args)


@blp.route("/enrolments/<enrolment_id>/payments", methods=["POST"])
@requires("institution_operator", "institution_system")
@idempotent
@blp.arguments(schemas.PaymentIn)
@blp.response(201, schemas.PaymentOut)
@problems(404, 409)
def record_payment(body, enrolment_id):
    """The institution records what the employee paid; a partial or over-payment is recorded and flagged"""
    with unit_of_work() as uow:
        payment = fees.record_payment(
            uow, current_identity(), enrolment_id, body["amount"], body["paid_on"], body.get("reference"), cause()
        )
        uow.commit()
    return payment


@blp.route("/payments/record", methods=["POST"])
@requires("institution_operator", "institution_system")
@idempotent
@blp.arguments(schemas.PaymentsIn)
@blp.response(200, BulkOut)
@problems()
def record_payments(body):
    """Record many payments at once (at most 500): each recorded or refused on its own, reported per item"""
    identity = current_identity()

    def record(item: dict) -> None:
        with unit_of_work() as uow:
            fees.record_payment(
                uow, identity, item["enrolment_id"], item["amount"], item["paid_on"], item.get("reference"), cause()
            )
            uow.commit()

    return bulk.each(body["items"], record, lambda item: item["enrolment_id"])


@blp.route("/payments", methods=["GET"])
@blp.arguments(queries.PAYMENTS.query, location="query")
@blp.response(200, schemas.PaymentOut(many=True))
@problems()
@requires(*EVERYONE)
def list_payments(args):
    """Payments the caller may see (institutions: their own students' only)"""
    with reading() as session:
        return queries.payments(session, current_identity(), args)


@blp.route("/transfers", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransferIn)
@blp.response(201, schemas.TransferOut)
@problems(404, 409)
def transfer_funds(body):
    """Transfer allocated money from the federation's pool into a unit's earmarked account"""
    return _move_funds(body, "to_unit")


@blp.route("/returns", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransferIn)
@blp.response(201, schemas.TransferOut)
@problems(404, 409)
def return_funds(body):
    """Record unused earmarked money a unit returned to the federation"""
    return _move_funds(body, "returned")


@blp.route("/transfers/record", methods=["POST"])
@requires("federation_admin")
@idempotent
@blp.arguments(schemas.TransfersIn)
@blp.response(200, BulkOut)
@problems()
def transfer_funds_to_units(body):
    """Transfer allocated money to several units at once (at most 500): each transfer done or refused on its own"""
    identity = current_identity()

    def transfer(item: dict) -> None:
        with unit_of_work() as uow:
            funds.move(uow, identity, {**item, "campaign_id": str(item["campaign_id"])}, cause(), "to_unit")
            uow.commit()

    return bulk.each(body["items"], transfer, lambda item: item["unit_id"])


def _move_funds(body: dict, direction: str):
    with unit_of_work() as uow:
        row = funds.move(uow, current_identity(), {**body, "campaign_id": str(body["campaign_id"])}, cause(), direction)
        uow.commit()
    return row


@blp.route("/transfers", methods=["GET"])
@blp.arguments(queries.TRANSFERS.query, location="query")
@blp.response(200, schemas.TransferOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_transfers(args):
    """Transfers and returns (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.transfers(session, current_identity(), args)


@blp.route("/reimbursements", methods=["GET"])
@blp.arguments(queries.REIMBURSEMENTS.query, location="query")
@blp.response(200, schemas.ReimbursementOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer", "employee")
def list_reimbursements(args):
    """Shares owed or paid back to students (bank accounts masked)"""
    with reading() as session:
        return queries.reimbursements(session, current_identity(), args)


@blp.route("/reimbursements/<reimbursement_id>/payment", methods=["POST"])
@requires("unit_officer")
@idempotent
@blp.arguments(schemas.ReimbursementPaymentIn)
@blp.response(200, schemas.ReimbursementOut)
@problems(404, 409)
def pay_reimbursement(body, reimbursement_id):
    """The unit records paying a share to the student; refused if the earmarked account cannot cover it"""
    with unit_of_work() as uow:
        row, enrolment = reimbursements.pay(uow, current_identity(), reimbursement_id, body, cause())
        uow.commit()
    return queries.reimbursement_view(row, enrolment)


@blp.route("/recoveries", methods=["GET"])
@blp.arguments(queries.RECOVERIES.query, location="query")
@blp.response(200, schemas.ReimbursementOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_recoveries(args):
    """Shares paid before their certificate was revoked: due to be recovered, or recovered (a unit its own)"""
    with reading() as session:
        return queries.recoveries(session, current_identity(), args)


@blp.route("/reimbursements/<reimbursement_id>/recovery", methods=["POST"])
@requires("unit_officer")
@idempotent
@blp.arguments(schemas.RecoveryIn)
@blp.response(200, schemas.ReimbursementOut)
@problems(404, 409)
def recover_reimbursement(body, reimbursement_id):
    """The unit records the share a student paid back after the certificate was revoked (once)"""
    with unit_of_work() as uow:
        recovery, row, enrolment = reimbursements.recover(uow, current_identity(), reimbursement_id, body)
        uow.commit()
    return queries.reimbursement_view(row, enrolment, recovery)


@blp.route("/accounts", methods=["GET"])
@blp.arguments(queries.ACCOUNTS.query, location="query")
@blp.response(200, schemas.AccountOut(many=True))
@problems()
@requires(*FEDERATION, "unit_officer")
def list_accounts(args):
    """Ledger accounts and balances (a unit officer: their own unit's)"""
    with reading() as session:
        return queries.accounts(session, current_identity(), args)


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
    """The training ledger's money columns, per student the caller may see"""
    with reading() as session:
        rows = reports.student_ledger(session, current_identity(), args.get("campaign_id"))
    return _rows(rows, reports.LEDGER_COLUMNS, args["format"], "finance-ledger")


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
        record = raises.raise_rate(uow, current_identity(), campaign_id, body, cause())
        uow.commit()
    return record


def _rows(rows: list[dict], columns, fmt: str, filename: str):
    return rows if fmt == "json" else export(rows, columns, fmt, filename)
