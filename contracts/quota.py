"""Events produced by the quota service: campaigns, units, allocations, reservations."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import event
from .common import UUID, Amount, Bool, Code, Date, DecimalString, Int, Kind, Part, Rate, Revision, Text, Timestamp

PRODUCER = "quota"
REFUSAL_REASONS = ("no_quota_left", "window_closed", "unit_unknown", "campaign_not_published", "unit_retired")
UNSPENT_FUNDS = ("return_to_pool", "keep_with_units")


class FundPools(Schema):
    academic = Amount(required=True)
    skills = Amount(required=True)


class Windows(Schema):
    registration_start = Date(required=True)
    registration_end = Date(required=True)
    study_start = Date(required=True)
    study_end = Date(required=True)
    exams_from = Date(required=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        for start, end in (("registration_start", "registration_end"), ("study_start", "study_end")):
            if data[start] > data[end]:
                raise ValidationError(f"Must not be before {start}.", end)


@event("campaign.published", 1, PRODUCER)
class CampaignPublished(Schema):
    """Published once, then again with a higher revision after every edit."""

    campaign_id = UUID(required=True)
    revision = Revision(required=True)
    name = Text(required=True)
    year = Int(required=True, validate=validate.Range(min=2000, max=2100))
    fund_pools = Part(FundPools, required=True)
    academic_subsidy_per_student = Amount(required=True)
    skills_federation_rate = Rate(required=True)
    # trade -> federation rate for that trade; {} when no trade is raised
    skills_rate_overrides = fields.Dict(keys=Text(max_length=100), values=Rate(), required=True)
    windows = Part(Windows, required=True)
    dedicated_class_threshold = Int(required=True, validate=validate.Range(min=1))
    public_notice_days = Int(required=True, validate=validate.Range(min=0))
    roster_lead_working_days = Int(required=True, validate=validate.Range(min=0))
    # Added in place (additive): the year-end transfer deadline and how early untransferred money is flagged.
    transfer_deadline = Date()
    transfer_warning_days = Int(validate=validate.Range(min=0))


@event("campaign.closed", 1, PRODUCER)
class CampaignClosed(Schema):
    """The federation closed the campaign (结项): read-only in every service from now on. `unspent_funds`:
    whether finance returns each unit's free earmarked balance to the federation's pool or leaves it."""

    campaign_id = UUID(required=True)
    closed_at = Timestamp(required=True)
    reason = Text(required=True, max_length=2000)
    unspent_funds = fields.String(required=True, validate=validate.OneOf(UNSPENT_FUNDS))


@event("unit.upserted", 1, PRODUCER)
class UnitUpserted(Schema):
    unit_id = Code(required=True)
    revision = Revision(required=True)
    name = Text(required=True)
    level = fields.String(required=True, validate=validate.OneOf(["first_level", "grassroots"]))
    parent_id = Code()  # the first-level unit of a grassroots union
    category = fields.String(
        required=True,
        validate=validate.OneOf(["district", "industry", "directly_affiliated", "grassroots"]),
    )
    headcount = Int(required=True, validate=validate.Range(min=0))
    key_industry = Bool(required=True)
    key_industry_weight = DecimalString(minimum="0")
    # Added in place (additive): a retired unit (absent: active) and, after a merge, its successor.
    status = fields.String(validate=validate.OneOf(["active", "retired"]))
    successor_id = Code()

    @validates_schema
    def _level_matches(self, data, **kwargs):
        grassroots = data["level"] == "grassroots"
        if grassroots and not data.get("parent_id"):
            raise ValidationError("Required for a grassroots union.", "parent_id")
        if not grassroots and "parent_id" in data:
            raise ValidationError("Only a grassroots union has a parent.", "parent_id")
        if grassroots != (data["category"] == "grassroots"):
            raise ValidationError("Category grassroots goes with level grassroots, and only with it.", "category")


@event("allocation.published", 1, PRODUCER)
class AllocationPublished(Schema):
    """One unit's line of a published allocation; edits and reallocations raise the revision."""

    campaign_id = UUID(required=True)
    allocation_id = UUID(required=True)
    revision = Revision(required=True)
    unit_id = Code(required=True)
    academic_seats = Int(required=True, validate=validate.Range(min=0))
    skills_money = Amount(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(["initial", "edited", "reallocated"]))


class _Answer(Schema):
    """The answer to one enrollment.requested: academic asks for seats, skills for money."""

    enrolment_id = UUID(required=True)
    campaign_id = UUID(required=True)
    unit_id = Code(required=True)
    kind = Kind(required=True)
    seats = Int(validate=validate.Range(min=1))
    amount = Amount(above_zero=True)
    revision = Revision()  # added in place: the revision of the request this answers

    @validates_schema
    def _seats_or_amount(self, data, **kwargs):
        wanted, other = ("seats", "amount") if data["kind"] == "academic" else ("amount", "seats")
        if wanted not in data:
            raise ValidationError(f"Required for kind {data['kind']}.", wanted)
        if other in data:
            raise ValidationError(f"Not used for kind {data['kind']}.", other)


@event("quota.reserved", 1, PRODUCER)
class QuotaReserved(_Answer):
    pass


@event("quota.refused", 1, PRODUCER)
class QuotaRefused(_Answer):
    reason = fields.String(required=True, validate=validate.OneOf(REFUSAL_REASONS))
    detail = Text()
