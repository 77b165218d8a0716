"""Reimbursements to certified students, and recoveries."""

from __future__ import annotations

from servicekit import unit_of_work
from servicekit.audit import audited
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires

from .. import queries, reimbursements, schemas
from . import FEDERATION, blp, cause, problems, reading


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
        with audited(uow, "paid", "reimbursement", reimbursement_id):
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
        with audited(uow, "recovered", "reimbursement", reimbursement_id, reason=body.get("reference")):
            recovery, row, enrolment = reimbursements.recover(uow, current_identity(), reimbursement_id, body)
        uow.commit()
    return queries.reimbursement_view(row, enrolment, recovery)
