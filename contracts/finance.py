"""Events produced by the finance service: payments, earmarked fund transfers, reimbursements.

Bank details of a student stay in finance: they are personal data.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .base import event
from .common import UUID, Amount, Code, Date, Kind, Text

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


@event("reimbursement.paid", 1, PRODUCER)
class ReimbursementPaid(Schema):
    """A share paid by the unit's union to the student: the federation's on certificate, or the unit's own."""

    reimbursement_id = UUID(required=True)
    enrolment_id = UUID(required=True)
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    kind = Kind(required=True)
    share = fields.String(required=True, validate=validate.OneOf(["federation", "unit"]))
    amount = Amount(required=True, above_zero=True)
    paid_on = Date(required=True)
    certificate_id = UUID()  # the certificate that made the federation's share payable
    reference = Text(max_length=100)


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
