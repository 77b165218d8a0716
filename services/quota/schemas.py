"""HTTP schemas of the quota service (input validation and the OpenAPI document)."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from servicekit.i18n import _
from servicekit.money import Money

LEVELS = ("first_level", "grassroots")
CATEGORIES = ("district", "industry", "directly_affiliated", "grassroots")
FORMATS = ("json", "xlsx", "csv")
MAX_SEATS = 10_000_000  # as many as Guangzhou has workers: far below what the Integer columns hold


def Rate(**kwargs) -> fields.Decimal:
    """A share as a fraction of 1 ("0.40" is 40 %), at most 4 decimals."""
    return fields.Decimal(
        as_string=True,
        validate=[validate.Range(Decimal("0"), Decimal("1")), _four_places],
        metadata={"example": "0.40", **kwargs.pop("metadata", {})},
        **kwargs,
    )


def Weight(**kwargs) -> fields.Decimal:
    return fields.Decimal(
        as_string=True,
        validate=[validate.Range(Decimal("0"), Decimal("99")), _four_places],
        metadata={"example": "1.20", **kwargs.pop("metadata", {})},
        **kwargs,
    )


def _four_places(value: Decimal) -> None:
    if value.as_tuple().exponent < -4:
        raise ValidationError("At most 4 decimals.")


def UnitId(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"), **kwargs)


class FundPools(Schema):
    academic = Money(required=True)
    skills = Money(required=True)


class Windows(Schema):
    registration_start = fields.Date(required=True)
    registration_end = fields.Date(required=True)
    study_start = fields.Date(required=True)
    study_end = fields.Date(required=True)
    exams_from = fields.Date(required=True)

    @validates_schema
    def _ordered(self, data, **kwargs):
        for start, end in (("registration_start", "registration_end"), ("study_start", "study_end")):
            if start in data and end in data and data[start] > data[end]:
                raise ValidationError(_("Must not be before {start}.").format(start=start), end)


class WindowsChange(Windows):
    """Some of the windows: the others keep their dates."""

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


class CampaignIn(Schema):
    """A campaign's settings; every one left out takes the plan's value (windows: the plan's calendar in that year)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    fund_pools = fields.Nested(FundPools)
    academic_subsidy_per_student = Money(minimum=Decimal("0.01"))
    skills_federation_rate = Rate()
    skills_rate_overrides = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=100)), values=Rate())
    key_industry_weight = Weight(metadata={"description": "weight of a key-industry unit's headcount (default 1.20)"})
    windows = fields.Nested(Windows)
    dedicated_class_threshold = fields.Integer(strict=True, validate=validate.Range(min=1, max=1000))
    public_notice_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=60))
    roster_lead_working_days = fields.Integer(strict=True, validate=validate.Range(min=0, max=60))
    transfer_deadline = fields.Date(
        metadata={"description": "the federation transfers the earmarked funds to units by this day (default: 31 Dec)"}
    )
    transfer_warning_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=366),
        metadata={"description": "untransferred money is shown as due soon this many days before (default 30)"},
    )


class CampaignPatch(CampaignIn):
    """Any subset of the settings; windows may be given in part."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    year = fields.Integer(strict=True, validate=validate.Range(min=2000, max=2100))
    windows = fields.Nested(lambda: WindowsChange())


class CloseIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    unspent_funds = fields.String(
        load_default="return_to_pool",
        validate=validate.OneOf(("return_to_pool", "keep_with_units")),
        metadata={
            "description": "return_to_pool (default): each unit's free earmarked balance goes back to the federation's "
            "pool (a traceable movement per unit); keep_with_units: it stays where it is, reported"
        },
    )


class CampaignOut(Schema):
    id = fields.String()
    name = fields.String()
    year = fields.Integer()
    status = fields.String(metadata={"description": "draft | published | closed (read-only everywhere)"})
    revision = fields.Integer(metadata={"description": "revision of campaign.published; 0 while draft"})
    fund_pools = fields.Nested(FundPools)
    academic_subsidy_per_student = Money()
    academic_seats = fields.Integer(metadata={"description": "seats the academic pool pays for"})
    skills_federation_rate = Rate()
    skills_rate_overrides = fields.Dict(keys=fields.String(), values=Rate())
    key_industry_weight = Weight()
    windows = fields.Nested(Windows)
    dedicated_class_threshold = fields.Integer()
    public_notice_days = fields.Integer()
    roster_lead_working_days = fields.Integer()
    transfer_deadline = fields.Date()
    transfer_warning_days = fields.Integer()
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    close_reason = fields.String(allow_none=True)
    unspent_funds = fields.String(allow_none=True, metadata={"description": "the close's choice for unspent funds"})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UnitFields(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    category = fields.String(required=True, validate=validate.OneOf(CATEGORIES))
    parent_id = UnitId(
        load_default=None, allow_none=True, metadata={"description": "the first-level unit of a grassroots union"}
    )
    headcount = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    key_industry = fields.Boolean(load_default=False)
    key_industry_weight = Weight(
        load_default=None, allow_none=True, metadata={"description": "own weight; empty: the campaign's"}
    )

    @validates_schema
    def _level_matches(self, data, **kwargs):
        if "level" not in data:
            return
        grassroots = data["level"] == "grassroots"
        if "parent_id" in data and grassroots != bool(data["parent_id"]):
            raise ValidationError("Required for a grassroots union, and only for one.", "parent_id")
        if "category" in data and grassroots != (data["category"] == "grassroots"):
            raise ValidationError("Category grassroots goes with level grassroots, and only with it.", "category")


class UnitIn(UnitFields):
    id = UnitId(required=True, metadata={"example": "GZ-HZ"})


class UnitImportRow(UnitIn):
    """A spreadsheet row: cells arrive as text or numbers; an empty cell is no value."""

    @pre_load
    def _empty_cells(self, row, **kwargs):
        return {key: None if value == "" else value for key, value in row.items()}

    headcount = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000_000))
    parent_id = UnitId(load_default=None, allow_none=True)
    key_industry = fields.Boolean(
        load_default=False,
        truthy={"是", "Y", "y", "yes", "true", "1", 1},
        falsy={"否", "N", "n", "no", "false", "0", 0, "", None},
    )


class UnitOut(UnitIn):
    revision = fields.Integer()
    updated_at = fields.DateTime()
    status = fields.String(metadata={"description": "active | retired (kept with its history, takes nothing new)"})
    successor_id = fields.String(allow_none=True, metadata={"description": "after a merge: the successor"})


class UnitRetirement(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    successor_id = UnitId(
        metadata={"description": "merge: the first-level unit that takes over the grassroots unions (else: retire)"}
    )


class RetiredUnitOut(UnitOut):
    grassroots_unions_moved = fields.List(fields.String())


class ParticipantsChoice(Schema):
    unit_ids = fields.List(UnitId(), required=True, validate=validate.Length(min=1, max=500))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ParticipantAdded(Schema):
    academic_seats = fields.Integer(
        strict=True,
        load_default=0,
        validate=validate.Range(min=0, max=MAX_SEATS),
        metadata={"description": "from the reserve, when the allocation is published"},
    )
    skills_money = Money(load_default=Decimal("0.00"), metadata={"description": "from the reserve, when published"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ParticipantOut(Schema):
    unit_id = fields.String()
    unit_name = fields.String()
    unit_status = fields.String(metadata={"description": "active | retired"})
    chosen = fields.Boolean(metadata={"description": "false: taking part by default (nothing chosen or saved yet)"})
    added_by = fields.String(allow_none=True)
    added_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)


class UnitQuery(Schema):
    level = fields.String(validate=validate.OneOf(LEVELS))
    parent_id = UnitId()


class FileUpload(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class ImportResult(Schema):
    imported = fields.Integer()
    changed = fields.Integer(metadata={"description": "rows that changed something (each emits its event)"})


class FormatQuery(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class LineOut(Schema):
    unit_id = fields.String()
    unit_name = fields.String()
    revision = fields.Integer()
    headcount = fields.Integer(metadata={"description": "snapshot taken with the allocation"})
    key_industry = fields.Boolean()
    weight = Weight()
    academic_seats = fields.Integer()
    skills_money = Money()
    academic_received = Money(
        metadata={"description": "academic money finance has transferred to the unit (less reclaims)"}
    )
    skills_received = Money(
        metadata={"description": "skills money finance has transferred to the unit (less reclaims)"}
    )


class AllocationOut(Schema):
    id = fields.String(allow_none=True, metadata={"description": "null for a preview"})
    campaign_id = fields.String()
    status = fields.String(metadata={"description": "preview | draft | published"})
    source = fields.String(metadata={"description": "computed | imported"})
    pools = fields.Nested(FundPools)
    academic_seats_pool = fields.Integer()
    totals = fields.Dict(metadata={"description": "academic_seats and skills_money over all lines"})
    lines = fields.List(fields.Nested(LineOut))


class LineEdit(Schema):
    academic_seats = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_SEATS))
    skills_money = Money()
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _something(self, data, **kwargs):
        if "academic_seats" not in data and "skills_money" not in data:
            raise ValidationError("Give academic_seats, skills_money or both.", "academic_seats")


class AllocationImportRow(Schema):
    unit_id = UnitId(required=True)
    academic_seats = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SEATS))
    skills_money = Money(required=True)


class Reallocation(Schema):
    from_unit_id = UnitId(required=True)
    to_unit_id = UnitId(required=True)
    academic_seats = fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0, max=MAX_SEATS))
    skills_money = Money(load_default=Decimal("0.00"))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))

    @validates_schema
    def _moves_something(self, data, **kwargs):
        if data.get("from_unit_id") == data.get("to_unit_id"):
            raise ValidationError("Must differ from from_unit_id.", "to_unit_id")
        if not data.get("academic_seats") and not data.get("skills_money"):
            raise ValidationError("Move some seats or money.", "academic_seats")


class ChangeOut(Schema):
    unit_id = fields.String()
    action = fields.String(metadata={"description": "edited | imported | reallocated"})
    old_seats = fields.Integer()
    new_seats = fields.Integer()
    old_money = Money()
    new_money = Money()
    reason = fields.String()
    changed_by = fields.String()
    changed_at = fields.DateTime()


class KindUsage(Schema):
    allocated = fields.Raw(metadata={"description": 'seats (integer) or money ("1500.00")'})
    reserved = fields.Raw()
    consumed = fields.Raw()
    spent = fields.Raw()
    released = fields.Raw(metadata={"description": "released so far (no longer in use)"})
    available = fields.Raw()


class UsageTotals(Schema):
    seats = fields.Nested(KindUsage)
    money = fields.Nested(KindUsage)


class UnitReport(UsageTotals):
    unit_id = fields.String()
    unit_name = fields.String()


class CampaignReport(Schema):
    campaign_id = fields.String()
    allocation_status = fields.String()
    pools = fields.Dict(metadata={"description": "seats and money of the campaign's pools"})
    unallocated = fields.Dict(metadata={"description": "pool minus allocated, seats and money"})
    totals = fields.Nested(UsageTotals)
    units = fields.List(fields.Nested(UnitReport))


class ReservationQuery(Schema):
    unit_id = UnitId(metadata={"description": "federation only; a unit officer always sees its own unit"})
    status = fields.String(validate=validate.OneOf(["reserved", "consumed", "spent", "released", "refused"]))


class ReservationOut(Schema):
    enrolment_id = fields.String()
    unit_id = fields.String()
    kind = fields.String()
    seats = fields.Integer(metadata={"description": "academic: seats held (1)"})
    amount = Money(metadata={"description": "skills: subsidy money held"})
    status = fields.String(metadata={"description": "reserved | consumed | spent | released | refused"})
    refusal_reason = fields.String(
        allow_none=True,
        metadata={"description": "Why the last request was refused; on a held reservation, a refused change of amount"},
    )
    revision = fields.Integer(metadata={"description": "the enrolment's revision last applied"})
    updated_at = fields.DateTime()
