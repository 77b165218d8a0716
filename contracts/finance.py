"""Events produced by the finance service: fee breakdowns, payments, earmarked fund transfers, reimbursements.

Bank details of a student stay in finance: they are personal data.
"""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import event
from .common import UUID, Amount, Code, Date, Kind, Part, Revision, Text

PRODUCER = "finance"


@event("payment.recorded", 1, PRODUCER)
class PaymentRecorded(Schema):
    """An employee's payment to the institution; `status` compares what is paid so far with what is due."""

    payment_id = UUID(required=True)
    enrolment_id = UUID(required=True)
    amount = Amount(required=True, above_zero=True)
    paid_on = Date(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["full", "partial", "over"]))
    reference = Text(max_length=100)
    # Added in place (additive): where the payment belongs, and the running totals behind `status`.
    campaign_id = UUID()
    institution_id = Code()
    paid_total = Amount()  # paid for this enrolment so far, this payment included
    due = Amount()  # the enrolment's fees in full (every line: the employee pays up front)


class _ShareMoved(Schema):
    """One student's share (the federation's or the unit's) moving between the unit's union and the student."""

    reimbursement_id = UUID(required=True)
    enrolment_id = UUID(required=True)
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    kind = Kind(required=True)
    share = fields.String(required=True, validate=validate.OneOf(["federation", "unit"]))
    amount = Amount(required=True, above_zero=True)
    certificate_id = UUID()  # the certificate that made the federation's share payable
    reference = Text(max_length=100)


@event("reimbursement.paid", 1, PRODUCER)
class ReimbursementPaid(_ShareMoved):
    """A share paid by the unit's union to the student: the federation's on certificate, or the unit's own."""

    paid_on = Date(required=True)


@event("funds.transferred", 1, PRODUCER)
class FundsTransferred(Schema):
    """Federation money moved into a unit's earmarked account (专款专用)."""

    transfer_id = UUID(required=True)
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    kind = Kind(required=True)
    amount = Amount(required=True, above_zero=True)
    transferred_on = Date(required=True)
    reference = Text(required=True, max_length=100)


@event("funds.reclaimed", 1, PRODUCER)
class FundsReclaimed(Schema):
    """Federation money taken back from a unit's earmarked account into the federation's pool: the unit had
    received more than its (edited or reallocated) allocation, and the federation confirmed the reclaim."""

    transfer_id = UUID(required=True)
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    kind = Kind(required=True)
    amount = Amount(required=True, above_zero=True)
    reclaimed_on = Date(required=True)
    reference = Text(required=True, max_length=100)


BREAKDOWN_LINES = (
    "tuition_or_training",
    "appraisal_exam",
    "textbook",
    "registration",
    "entrance_test",
    "re_exam",
    "retake",
    "practice",
)

PAYERS = ("federation", "unit", "employee")


class BreakdownLine(Schema):
    """One fee line split between the payers; a line only the employee pays has zero shares for the others."""

    line = fields.String(required=True, validate=validate.OneOf(BREAKDOWN_LINES))
    amount = Amount(required=True)
    federation = Amount(required=True)
    unit = Amount(required=True)
    employee = Amount(required=True)

    @validates_schema
    def _shares_make_the_fee(self, data, **kwargs):
        if sum(Decimal(data[payer]) for payer in PAYERS) != Decimal(data["amount"]):
            raise ValidationError("federation + unit + employee must equal amount.", "amount")


@event("breakdown.settled", 1, PRODUCER)
class BreakdownSettled(Schema):
    """An enrolment's fee breakdown as it now stands: on registration, and again whenever it changes
    (a transfer, a rate raise, a re-exam charge, a withdrawal: `status` cancelled, nothing payable)."""

    enrolment_id = UUID(required=True)
    revision = Revision(required=True)  # finance's own count of changes to this breakdown
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    institution_id = Code(required=True)
    kind = Kind(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["settled", "cancelled"]))
    lines = fields.List(Part(BreakdownLine), required=True, validate=validate.Length(min=1))
    total = Amount(required=True)
    federation = Amount(required=True)
    unit = Amount(required=True)
    employee = Amount(required=True)

    @validates_schema
    def _totals_add_up(self, data, **kwargs):
        lines = data.get("lines") or []
        for field in ("amount", *PAYERS):
            wanted = sum((Decimal(line[field]) for line in lines), Decimal("0.00"))
            name = "total" if field == "amount" else field
            if wanted != Decimal(data[name]):
                raise ValidationError(f"Must be the sum of the lines' {field} ({wanted}).", name)


@event("reimbursement.recovered", 1, PRODUCER)
class ReimbursementRecovered(_ShareMoved):
    """A share paid to a student whose certificate was later revoked, paid back into the unit's earmarked account."""

    recovered_on = Date(required=True)


@event("announcement.requested", 1, PRODUCER)
class AnnouncementRequested(Schema):
    """Finance asks enrollment to announce an enrolment again: a certificate came for an enrolment finance has
    not heard of (its registration is late, or was lost). Enrollment answers with the enrolment's current
    `enrollment.registered` or `enrollment.admitted`, which every consumer already handles idempotently."""

    enrolment_id = UUID(required=True)
    certificate_id = UUID()  # the certificate that waits for the enrolment's facts
