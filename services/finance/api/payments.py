"""Fee breakdowns, charges and the students' payments to institutions."""

from __future__ import annotations

from servicekit import Problem, bulk, unit_of_work
from servicekit.audit import audited
from servicekit.bulk import BulkOut
from servicekit.errors import NOT_FOUND
from servicekit.i18n import _
from servicekit.idempotency import idempotent
from servicekit.identity import current_identity, requires
from servicekit.refusals import DomainError
from servicekit.tabular import IMPORT_REJECTED, Column, export, read_rows, validate_rows

from .. import fees, queries, refunds, reimbursements, schemas
from ..models import Breakdown, Enrolment
from . import EVERYONE, blp, cause, id_of, problems, reading


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
@requires("institution_operator", "institution_system")
@idempotent
@blp.arguments(schemas.ChargeIn)
@blp.response(201, schemas.ChargeOut)
@blp.alt_response(200, schema=schemas.ChargeOut, description="this reference was recorded before: nothing changed")
@problems(404, 409)
def record_charge(body, enrolment_id):
    """The institution adds a re-exam, retake or practice fee the employee alone pays to their breakdown"""
    with unit_of_work() as uow:
        with audited(uow, "recorded", "charge") as decision:
            charge, new = fees.record_charge(uow, current_identity(), enrolment_id, body)
            decision.entity_id = id_of(charge, "charge_id", enrolment_id)
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
        with audited(uow, "recorded", "payment") as decision:
            payment = fees.record_payment(
                uow, current_identity(), enrolment_id, body["amount"], body["paid_on"], body.get("reference"), cause()
            )
            decision.entity_id = id_of(payment, "payment_id", enrolment_id)
            reimbursements.payment_recorded(uow.session, uow.session.get(Enrolment, enrolment_id), payment.cause)
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
            with audited(uow, "recorded", "payment", item["enrolment_id"]):
                payment = fees.record_payment(
                    uow, identity, item["enrolment_id"], item["amount"], item["paid_on"], item.get("reference"), cause()
                )
                enrolment = uow.session.get(Enrolment, item["enrolment_id"])
                reimbursements.payment_recorded(uow.session, enrolment, payment.cause)
            uow.commit()

    return bulk.each(body["items"], record, lambda item: item["enrolment_id"])


PAYMENT_COLUMNS = [
    Column("enrolment_id", "报名编号 Enrolment id"),
    Column("amount", "金额 Amount"),
    Column("paid_on", "缴费日期 Paid on"),
    Column("reference", "单据号 Reference"),
]


# What the prefilled template adds for the people filling it in: the import reads none of it.
TEMPLATE_COLUMNS = [
    *PAYMENT_COLUMNS,
    Column("programme_id", "项目编号（不导入）Programme (not imported)"),
    Column("total", "应缴合计（不导入）Total due (not imported)"),
    Column("paid", "已缴（不导入）Paid so far (not imported)"),
]


@blp.route("/payments/import/template", methods=["GET"])
@blp.arguments(schemas.PaymentTemplateQuery, location="query")
@blp.response(200, description="The .xlsx to fill in: the import's headers, prefilled with `campaign_id`")
@problems(404)
@requires("institution_operator", "institution_system")
def payments_template(query):
    """The workbook to fill in for the import: the columns the import reads. With `campaign_id`, one row per
    registered student of the institution who still owes part of the fee, the amount being what is still due (the
    date and the reference left to fill in; delete the rows of students who did not pay)"""
    if not query.get("campaign_id"):
        return export([], PAYMENT_COLUMNS, "xlsx", "payments-import")
    with reading() as session:
        rows = queries.payment_template_rows(session, current_identity(), str(query["campaign_id"]))
    return export(rows, TEMPLATE_COLUMNS, "xlsx", "payments-import")


@blp.route("/payments/import", methods=["POST"])
@requires("institution_operator", "institution_system")
@idempotent
@blp.arguments(schemas.UploadFile, location="files")
@blp.response(201, schemas.PaymentImportOut)
@blp.alt_response(400, description="The file cannot be read as .xlsx or .csv")
@problems(422)
def import_payments(files):
    """Payments from .xlsx/.csv (报名编号 / 金额 / 缴费日期 / 单据号), all rows or none: a row refused (not your
    student, withdrawn, bad amount) refuses the file, with a report per spreadsheet row; an Idempotency-Key makes
    sending the file again record nothing more"""
    upload = files["file"]
    rows = read_rows(upload.read(), upload.filename or "", PAYMENT_COLUMNS)
    items = validate_rows(rows, schemas.PaymentItem())
    identity, recorded, refused = current_identity(), [], []
    with unit_of_work() as uow:
        with audited(uow, "imported", "payment", f"{len(items)} rows"):
            for (number, _row), item in zip(rows, items, strict=True):
                try:
                    with uow.session.begin_nested():
                        payment = fees.record_payment(
                            uow,
                            identity,
                            item["enrolment_id"],
                            item["amount"],
                            item["paid_on"],
                            item.get("reference"),
                            cause(),
                        )
                        reimbursements.payment_recorded(
                            uow.session, uow.session.get(Enrolment, item["enrolment_id"]), payment.cause
                        )
                    recorded.append({**schemas.PaymentOut().dump(payment), "row": number})
                except DomainError as error:
                    refused.append({"row": number, "errors": {"enrolment_id": [str(error.detail or error.title_en)]}})
        if refused:
            raise Problem(
                IMPORT_REJECTED,
                _("{bad} of {total} rows have errors.").format(bad=len(refused), total=len(rows)),
                errors={"rows": refused},
            )
        uow.commit()
    return {"recorded": len(recorded), "payments": recorded}


@blp.route("/payments", methods=["GET"])
@blp.arguments(queries.PAYMENTS.query, location="query")
@blp.response(200, schemas.PaymentOut(many=True))
@problems()
@requires(*EVERYONE)
def list_payments(args):
    """Payments the caller may see (institutions: their own students' only)"""
    with reading() as session:
        return queries.payments(session, current_identity(), args)


@blp.route("/enrolments/<enrolment_id>/refund", methods=["POST"])
@requires("institution_operator", "institution_system")
@idempotent
@blp.arguments(schemas.RefundIn)
@blp.response(201, schemas.RefundOut)
@blp.alt_response(200, schema=schemas.RefundOut, description="this refund was recorded before: nothing changed")
@problems(404, 409)
def record_refund(body, enrolment_id):
    """The institution records its refund to a withdrawn student: the campaign's refund rule gives each line's
    refund, the breakdown shrinks with each share exact to the fen, a reimbursement paid beyond the shares now
    due is recovered out of it (the federation's into the earmarked account)"""
    with unit_of_work() as uow:
        with audited(uow, "refunded", "enrolment", enrolment_id):
            refund, new = refunds.record(uow, current_identity(), enrolment_id, body, cause())
        uow.commit()
    return refund, 201 if new else 200


@blp.route("/enrolments/<enrolment_id>/refund", methods=["GET"])
@blp.response(200, schemas.RefundOut)
@problems(404)
@requires(*EVERYONE)
def get_refund(enrolment_id):
    """The refund recorded after an enrolment's withdrawal"""
    with reading() as session:
        return refunds.find(session, current_identity(), enrolment_id)


@blp.route("/campaigns/<campaign_id>/refund-policy", methods=["GET"])
@blp.response(200, schemas.RefundPolicyOut)
@problems(404)
@requires(*EVERYONE)
def get_refund_policy(campaign_id):
    """The campaign's refund rule: per stage, the fraction of each line refunded after a withdrawal"""
    with reading() as session:
        return refunds.get_policy(session, campaign_id)


@blp.route("/campaigns/<campaign_id>/refund-policy", methods=["PUT"])
@requires("federation_admin")
@blp.arguments(schemas.RefundPolicyIn)
@blp.response(200, schemas.RefundPolicyOut)
@problems(404)
def set_refund_policy(body, campaign_id):
    """The federation sets the campaign's refund rule (audited)"""
    with unit_of_work() as uow:
        with audited(uow, "updated", "refund_policy", campaign_id):
            after = refunds.set_policy(uow.session, current_identity(), campaign_id, body)
        uow.commit()
    return after
