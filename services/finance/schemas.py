"""Request and response schemas of the finance API (documented in its OpenAPI)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from servicekit.bulk import bulk_of
from servicekit.clock import china_today
from servicekit.money import Money

from .rules import ACADEMIC_UNIT_MODES, CHARGE_LINES, FEE_LINES, REFUND_LINES, UNIT_SHARE_TIMINGS

KIND = validate.OneOf(["academic", "skills"])
RATE = dict(as_string=True, places=4, validate=validate.Range(min=0, max=1))
BANK_ACCOUNT = re.compile(r"^\d{8,30}$")


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def not_in_future(value: date) -> None:
    if value > china_today():
        raise ValidationError("Must not be in the future.")


def past_date(**kwargs) -> fields.Date:
    return fields.Date(validate=not_in_future, **kwargs)


def text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length), not_blank], **kwargs)


def masked_account(number: str | None) -> str | None:
    """A bank account shown with its last four digits only (personal data)."""
    return None if not number else "*" * (len(number) - 4) + number[-4:]


class CampaignPolicyOut(Schema):
    campaign_id = fields.String()
    revision = fields.Integer()
    name = fields.String()
    academic_subsidy_per_student = Money(attribute="academic_subsidy")
    skills_federation_rate = fields.Decimal(as_string=True, places=4)
    skills_rate_overrides = fields.Dict(keys=fields.String(), values=fields.String())


class UnitPolicyIn(Schema):
    academic_mode = fields.String(
        required=True,
        validate=validate.OneOf(ACADEMIC_UNIT_MODES),
        metadata={
            "description": "match: the same amount as the federation, capped at what remains; fixed: academic_value "
            "yuan; percentage: academic_value as a fraction of the tuition (0.30 = 30 %)"
        },
    )
    academic_value = fields.Decimal(
        as_string=True,
        places=4,
        allow_none=True,
        load_default=None,
        validate=validate.Range(min=0, max=Decimal("9999999999.9999")),  # what its Numeric(14, 4) column holds
    )
    skills_unit_rate = fields.Decimal(load_default=None, **RATE, metadata={"description": "default 0.40"})
    unit_share_timing = fields.String(load_default="on_certification", validate=validate.OneOf(UNIT_SHARE_TIMINGS))

    @validates_schema
    def _value_matches_mode(self, data, **kwargs):
        value, mode = data.get("academic_value"), data["academic_mode"]
        if (mode == "match") != (value is None):
            raise ValidationError("Required for fixed and percentage, absent for match.", "academic_value")
        if mode == "percentage" and value > 1:
            raise ValidationError("A percentage is a fraction between 0 and 1 (0.30 = 30 %).", "academic_value")
        if mode == "fixed" and value != value.quantize(Decimal("0.01")):
            raise ValidationError("An amount has at most two decimals.", "academic_value")


class UnitPolicyOut(Schema):
    unit_id = fields.String()
    academic_mode = fields.String()
    academic_value = fields.Decimal(as_string=True, places=4, allow_none=True)
    skills_unit_rate = fields.Decimal(as_string=True, places=4)
    unit_share_timing = fields.String()
    is_default = fields.Boolean()


class LineOut(Schema):
    line = fields.String(metadata={"description": f"one of {', '.join(FEE_LINES)}"})
    shared = fields.Boolean()
    amount = Money()
    federation = Money()
    unit = Money()
    employee = Money()


FEE = dict(required=True, validate=validate.Range(min=0, max=1_000_000))


class FeeSharesQuery(Schema):
    """A programme's fee standard (before or after it is saved) and whose it is: kind, and trade for skills."""

    kind = fields.String(required=True, validate=KIND)
    trade = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    tuition_or_training = Money(**FEE)
    appraisal_exam = Money(**FEE)
    textbook = Money(**FEE)
    registration = Money(**FEE)
    entrance_test = Money(**FEE)


class FeeSharesOut(Schema):
    campaign_id = fields.String()
    lines = fields.List(fields.Nested(LineOut))
    total = Money()
    federation = Money()
    unit = Money()
    employee = Money()
    unit_policy = fields.String(
        metadata={"description": "default: a unit's own cost-sharing policy may change its share and the employee's"}
    )


class ChargeIn(Schema):
    line = fields.String(
        required=True,
        validate=validate.OneOf(CHARGE_LINES),
        metadata={"description": "re_exam (补考费), retake (重修费) or practice (实操练习费)"},
    )
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))
    charged_on = past_date(required=True)
    reference = text(
        100,
        required=True,
        metadata={"description": "the institution's document for the charge; the same reference again records nothing"},
    )


def _fractions(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(validate=validate.OneOf(REFUND_LINES)),
        values=fields.Decimal(**RATE),
        required=True,
        metadata={"description": description},
    )


class RefundPolicyIn(Schema):
    """Per stage, the fraction (0 to 1, e.g. "1", "0.5") of each fee line refunded after a withdrawal; a line
    left out is not refunded. A consumed line (appraisal_exam once an exam was sat, textbook once issued) never is."""

    before_admission = _fractions("withdrawn before admission")
    after_admission = _fractions("withdrawn after admission")


class RefundPolicyOut(Schema):
    campaign_id = fields.String()
    custom = fields.Boolean(metadata={"description": "false: the programme's defaults"})
    before_admission = fields.Dict(keys=fields.String(), values=fields.String(), metadata={"description": '"1", "0.5"'})
    after_admission = fields.Dict(keys=fields.String(), values=fields.String())
    consumed_by = fields.Dict(keys=fields.String(), values=fields.String())


class RefundIn(Schema):
    refunded_on = past_date(required=True)
    reference = text(100, required=True, metadata={"description": "the institution's refund document"})
    exam_taken = fields.Boolean(required=True, metadata={"description": "the student sat the appraisal exam"})
    textbooks_issued = fields.Boolean(required=True, metadata={"description": "the textbooks were handed out"})


class RefundLineOut(Schema):
    line = fields.String()
    amount = fields.String(metadata={"description": "refunded of this line"})
    federation = fields.String()
    unit = fields.String()
    employee = fields.String()


class RefundOut(Schema):
    refund_id = fields.String()
    enrolment_id = fields.String()
    stage = fields.String(metadata={"description": "before_admission / after_admission"})
    exam_taken = fields.Boolean()
    textbooks_issued = fields.Boolean()
    refunded = Money(metadata={"description": "paid back by the institution: what was paid beyond what stays due"})
    to_federation = Money(metadata={"description": "into the unit's earmarked account: federation share paid beyond"})
    to_unit = Money(metadata={"description": "to the unit: its own share paid beyond what stays due"})
    to_employee = Money()
    left_to_recover = Money(metadata={"description": "reimbursed beyond the shares due, more than the refund covers"})
    lines = fields.List(fields.Nested(RefundLineOut))
    refunded_on = fields.Date()
    reference = fields.String()
    recorded_at = fields.DateTime()


class ChargeOut(Schema):
    charge_id = fields.String()
    enrolment_id = fields.String()
    line = fields.String()
    amount = Money()
    charged_on = fields.Date()
    reference = fields.String()
    recorded_at = fields.DateTime()


class BreakdownOut(Schema):
    enrolment_id = fields.String()
    revision = fields.Integer(metadata={"description": "finance's count of changes, as in breakdown.settled"})
    campaign_id = fields.String()
    kind = fields.String()
    unit_id = fields.String()
    institution_id = fields.String()
    programme_id = fields.String()
    employee_id = fields.String()
    status = fields.String(metadata={"description": "active, or cancelled by a withdrawal"})
    total = Money()
    federation = Money()
    unit = Money()
    employee = Money()
    paid = Money(metadata={"description": "what the employee paid the institution so far"})
    payment_status = fields.String(metadata={"description": "unpaid / partial / full / over"})
    lines = fields.List(fields.Nested(LineOut))
    charges = fields.List(
        fields.Nested(ChargeOut), metadata={"description": "the extra charges behind the employee-only charge lines"}
    )


class ListArgs(Schema):
    """A list's own filters; servicekit.paging adds limit, cursor, sort, count and the declared filters."""

    campaign_id = fields.String()


class BreakdownArgs(ListArgs):
    status = fields.String(validate=validate.OneOf(["active", "cancelled"]))
    payment_status = fields.String(validate=validate.OneOf(["unpaid", "partial", "full", "over"]))


class PaymentIn(Schema):
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))
    paid_on = past_date(required=True)
    reference = text(100)


class PaymentItem(PaymentIn):
    enrolment_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


PaymentsIn = bulk_of(PaymentItem, "PaymentsIn")


class PaymentTemplateQuery(Schema):
    format = fields.String(
        load_default="xlsx", validate=validate.OneOf(["xlsx"]), metadata={"description": "xlsx only"}
    )
    campaign_id = fields.UUID(
        metadata={"description": "prefilled: one row per student of your institution who still owes part of the fee"}
    )


class UploadFile(Schema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": ".xlsx or .csv, first row the headers"},
    )


class ImportedPaymentOut(Schema):
    row = fields.Integer(metadata={"description": "the spreadsheet row"})
    payment_id = fields.String()
    enrolment_id = fields.String()
    amount = Money()
    status = fields.String()


class PaymentImportOut(Schema):
    recorded = fields.Integer()
    payments = fields.List(fields.Nested(ImportedPaymentOut))


class PaymentOut(Schema):
    payment_id = fields.String()
    enrolment_id = fields.String()
    amount = Money()
    paid_on = fields.Date()
    reference = fields.String()
    status = fields.String(metadata={"description": "full / partial / over: paid so far against the fees due"})
    flagged = fields.Function(lambda p: p.status != "full", metadata={"description": "partial or over-payment"})
    recorded_at = fields.DateTime()


class PaymentArgs(ListArgs):
    enrolment_id = fields.String()
    flagged = fields.Boolean(metadata={"description": "only partial or over-payments"})


class TransferIn(Schema):
    campaign_id = fields.UUID(required=True)
    unit_id = text(64, required=True)
    kind = fields.String(required=True, validate=KIND)
    amount = Money(required=True, validate=validate.Range(min=0, min_inclusive=False))
    transferred_on = past_date(required=True)
    reference = text(100, required=True, metadata={"description": "the transfer document, e.g. 穗工财〔2013〕88号"})


class TransferOut(Schema):
    transfer_id = fields.String()
    direction = fields.String(
        metadata={
            "description": "to_unit, returned by the unit, or reclaimed by the federation (beyond the allocation)"
        }
    )
    campaign_id = fields.String()
    unit_id = fields.String()
    kind = fields.String()
    amount = Money()
    transferred_on = fields.Date()
    reference = fields.String()


TransfersIn = bulk_of(TransferIn, "TransfersIn")


class TransferArgs(ListArgs):
    unit_id = fields.String()


class ReimbursementOut(Schema):
    reimbursement_id = fields.String()
    enrolment_id = fields.String()
    employee_id = fields.String()
    unit_id = fields.String()
    kind = fields.String()
    share = fields.String(metadata={"description": "federation (from the earmarked account) or unit (its own)"})
    amount = Money()
    status = fields.String(
        metadata={
            "description": "awaiting_payment (the employee has not paid the whole fee yet) / awaiting_funds / "
            "payable / paid / cancelled / recovered"
        }
    )
    certificate_id = fields.String(allow_none=True)
    certificate_revoked = fields.Boolean(metadata={"description": "revoked after payment: to be recovered"})
    recovered_on = fields.Date(allow_none=True)
    recovery_reference = fields.String(allow_none=True)
    paid_on = fields.Date(allow_none=True)
    reference = fields.String(allow_none=True)
    bank_name = fields.String(allow_none=True)
    bank_account = fields.Function(lambda r: masked_account(r["bank_account"]), allow_none=True)


class ReimbursementArgs(ListArgs):
    status = fields.String(
        validate=validate.OneOf(["awaiting_payment", "awaiting_funds", "payable", "paid", "cancelled", "recovered"])
    )
    share = fields.String(validate=validate.OneOf(["federation", "unit"]))


class ReimbursementPaymentIn(Schema):
    paid_on = past_date(required=True)
    reference = text(100)
    bank_name = text(100, required=True)
    bank_account = fields.String(
        required=True, validate=validate.Regexp(BANK_ACCOUNT, error="A bank account number is 8 to 30 digits.")
    )


class RecoveryArgs(ListArgs):
    status = fields.String(
        validate=validate.OneOf(["due", "recovered"]),
        metadata={"description": "due: paid, then the certificate was revoked; recovered: paid back"},
    )


class RecoveryIn(Schema):
    amount = Money(
        required=True,
        validate=validate.Range(min=0, min_inclusive=False),
        metadata={"description": "the share paid, in full"},
    )
    recovered_on = past_date(required=True)
    reference = text(100, required=True, metadata={"description": "the receipt of the money paid back"})


class AccountOut(Schema):
    code = fields.String()
    type = fields.String()
    campaign_id = fields.String()
    kind = fields.String()
    unit_id = fields.String(allow_none=True)
    balance = Money(minimum=None)


class InvariantOut(Schema):
    passed = fields.Boolean()
    checks = fields.Integer()
    drift = fields.List(fields.Dict(), metadata={"description": "every check with a non-zero drift, to the fen"})


class ExportArgs(Schema):
    campaign_id = fields.String()
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv", "xlsx"]))


class CampaignArgs(Schema):
    campaign_id = fields.String(required=True)


class TradeOut(Schema):
    trade = fields.String()
    students = fields.Integer()
    training_fees = fields.String()
    federation_rate = fields.String()
    federation_committed = fields.String()


class RateRaiseIn(Schema):
    trade = text(100, required=True)
    rate = fields.Decimal(
        required=True,
        as_string=True,
        places=4,
        validate=validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "the federation's new share of the training fee, e.g. 0.5500"},
    )
    reason = text(500, required=True)


class RateRaiseOut(Schema):
    raise_id = fields.String()
    campaign_id = fields.String()
    trade = fields.String()
    rate_before = fields.Decimal(as_string=True, places=4)
    rate_after = fields.Decimal(as_string=True, places=4)
    extra_cost = Money(metadata={"description": "federation shares added to enrolments already settled"})
    enrolments = fields.Integer(metadata={"description": "breakdowns recomputed"})
    surplus_before = Money()
    surplus_after = Money()
    reason = fields.String()
    raised_by = fields.String()
    raised_at = fields.DateTime()


class SkillsSurplusOut(Schema):
    campaign_id = fields.String()
    skills_fund = fields.String()
    allocated = fields.String()
    transferred = fields.String()
    committed = fields.String(
        metadata={
            "description": "federation shares committed or paid: the federation total of every active skills breakdown"
        }
    )
    surplus = fields.String(metadata={"description": "skills fund less committed: what a rate raise may use"})
    by_trade = fields.List(fields.Nested(TradeOut))
    raises = fields.List(
        fields.Nested(RateRaiseOut),
        metadata={"description": "rate raises in order, each with the surplus before and after it"},
    )


class DeadlineLineOut(Schema):
    unit_id = fields.String()
    unit_name = fields.String()
    kind = fields.String()
    allocated = fields.String()
    transferred = fields.String()
    not_transferred = fields.String()
    status = fields.String(metadata={"description": "transferred / open / due_soon / overdue"})


class TransferDeadlineOut(Schema):
    campaign_id = fields.String()
    transfer_deadline = fields.Date()
    warning_days = fields.Integer()
    today = fields.Date(metadata={"description": "the day in Guangzhou the report was made"})
    days_left = fields.Integer(metadata={"description": "negative once the deadline has passed"})
    status = fields.String(metadata={"description": "the worst line's: transferred / open / due_soon / overdue"})
    not_transferred = fields.Dict(
        keys=fields.String(), values=fields.String(), metadata={"description": "per kind, over the units shown"}
    )
    units = fields.List(fields.Nested(DeadlineLineOut))


class FundReportArgs(ExportArgs):
    by = fields.String(load_default="unit", validate=validate.OneOf(["campaign", "unit", "institution"]))
    campaign_id = fields.String(required=True)
