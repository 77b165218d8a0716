"""Request and response schemas (marshmallow) of the evaluation API."""

from __future__ import annotations

import re

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from contracts.common import Bool, not_blank
from servicekit.i18n import _

from .problems import TOKEN_SCHEME_RETIRED


def Text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), not_blank], **kwargs)


# --- exam results ------------------------------------------------------------------------------


class ResultLine(Schema):
    enrolment_id = fields.UUID(required=True)
    exam = Text(200, required=True, metadata={"description": "The exam or course, e.g. 电工中级职业技能鉴定"})
    held_on = fields.Date(required=True)
    score = fields.Decimal(required=True, places=2, as_string=True, validate=validate.Range(min=0, max=1000))
    passed = Bool(required=True)  # true/false only: "yes" or 1 is refused, not guessed


class ResultRow(ResultLine):
    """A row of an imported spreadsheet: 是/否 (or true/false, or the spreadsheet's own TRUE/FALSE) for passed."""

    passed = fields.Boolean(
        required=True, truthy={"是", "通过", "合格", "true", True}, falsy={"否", "不通过", "不合格", "false", False}
    )


class ResultBatchIn(Schema):
    # 1000 lines take about 4 s on a loaded 2-core machine: well inside the gateway's 10 s upstream timeout.
    lines = fields.List(fields.Nested(ResultLine), required=True, validate=validate.Length(min=1, max=1000))


class RecordedLine(Schema):
    line = fields.Integer(metadata={"description": "0-based index in the batch"})
    result_id = fields.String()
    enrolment_id = fields.String()
    exam = fields.String()
    attempt = fields.Integer()
    passed = fields.Boolean()
    retake = fields.String(allow_none=True)


class ResultBatchOut(Schema):
    idempotency_key = fields.String()
    recorded = fields.Integer()
    results = fields.List(fields.Nested(RecordedLine))


class ResultTemplateQuery(Schema):
    format = fields.String(
        load_default="xlsx", validate=validate.OneOf(["xlsx"]), metadata={"description": "xlsx only"}
    )
    campaign_id = fields.UUID(
        metadata={"description": "prefilled: one row per active student of your institution in the campaign"}
    )
    programme_id = Text(64, metadata={"description": "with campaign_id: only the students of this programme"})


class EnrolmentQuery(Schema):
    enrolment_id = fields.UUID()


class ResultOut(Schema):
    result_id = fields.String()
    enrolment_id = fields.String()
    institution_id = fields.String()
    exam = fields.String()
    held_on = fields.Date()
    score = fields.Decimal(as_string=True)
    passed = fields.Boolean()
    attempt = fields.Integer()
    retake = fields.String(
        allow_none=True,
        metadata={
            "description": "after a fail: free_later_class (skills: a later class of the same trade at the same "
            "institution, free of training fee) or course_retake (academic)"
        },
    )
    recorded_at = fields.DateTime()
    holder_name_masked = fields.String(allow_none=True, metadata={"description": "e.g. 张*明: never the full name"})


# --- certificates ------------------------------------------------------------------------------


class CertificateIn(Schema):
    enrolment_id = fields.UUID(required=True)
    number = Text(64, required=True, metadata={"description": "Unique within the institution"})
    issued_on = fields.Date(required=True)


class CertificateRow(CertificateIn):
    """A certificate of a batch: a JSON object, or a spreadsheet row."""


class CertificateBatchIn(Schema):
    certificates = fields.List(
        fields.Dict(),
        required=True,
        validate=validate.Length(min=1),
        metadata={
            "description": "At most 1000 objects {enrolment_id, number, issued_on}, as for one certificate; a bad "
            "one is reported under errors.rows with its 0-based index as `row`"
        },
    )


class UploadFile(Schema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": ".xlsx or .csv, first row the headers"},
    )


class RevocationIn(Schema):
    reason = Text(500, required=True)


class CertificateOut(Schema):
    certificate_id = fields.String()
    revision = fields.Integer()
    institution_id = fields.String()
    number = fields.String()
    enrolment_id = fields.String()
    kind = fields.String(metadata={"description": "skills: completion certificate; academic: graduation certificate"})
    issued_on = fields.Date()
    revoked_on = fields.Date(allow_none=True)
    revocation_reason = fields.String(allow_none=True)
    holder_name_masked = fields.String(allow_none=True, metadata={"description": "e.g. 张*明: never the full name"})


class IssuedOut(CertificateOut):
    row = fields.Integer(metadata={"description": "the spreadsheet row, or the 0-based index in `certificates`"})
    issued_now = fields.Boolean(metadata={"description": "false: this row had already issued it (a replay)"})


class CertificateBatchOut(Schema):
    issued = fields.Integer(metadata={"description": "certificates issued by this request"})
    already_issued = fields.Integer(metadata={"description": "rows that had already issued their certificate"})
    certificates = fields.List(fields.Nested(IssuedOut))


class VerifyQuery(Schema):
    institution_id = Text(64, required=True)
    number = Text(64, required=True)


class ProgrammeOut(Schema):
    programme_id = fields.String()
    level = fields.String()
    trade = fields.String(allow_none=True)
    major = fields.String(allow_none=True)


class VerificationOut(Schema):
    number = fields.String()
    holder_name_masked = fields.String(
        allow_none=True,
        metadata={"description": "the holder's name masked, e.g. 张*明 (null when enrollment did not send it)"},
    )
    institution_id = fields.String()
    institution_name = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "valid | revoked"})
    kind = fields.String()
    programme = fields.Nested(ProgrammeOut, allow_none=True)
    issued_on = fields.Date()
    revoked_on = fields.Date(allow_none=True)


# --- anonymous surveys -------------------------------------------------------------------------


class HexBytes(fields.String):
    """Bytes written as hexadecimal, two digits per byte; loaded as bytes."""

    def __init__(self, most: int, least: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.least, self.most = least, most

    def _deserialize(self, value, attr, data, **kwargs) -> bytes:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
            raise ValidationError("Not hexadecimal bytes (two digits per byte).")
        if not self.least <= len(text) // 2 <= self.most:
            raise ValidationError(_("Must be {least} to {most} bytes.").format(least=self.least, most=self.most))
        return bytes.fromhex(text)


class SurveyIn(Schema):
    campaign_id = fields.UUID(required=True)
    institution_id = Text(64, required=True)
    closes_on = fields.Date(required=True)


class PublicKeyOut(Schema):
    variant = fields.String(metadata={"description": "RFC 9474 variant: RSABSSA-SHA384-PSS-Randomized"})
    pem = fields.String(metadata={"description": "the survey's RSA public key: SubjectPublicKeyInfo, PEM"})
    modulus_bits = fields.Integer(metadata={"description": "3072 for new surveys; modulus_len = bits / 8"})
    fingerprint = fields.String(
        metadata={"description": "SHA-256 of the DER SubjectPublicKeyInfo: the same for every student"}
    )


class SurveyOut(Schema):
    survey_id = fields.String()
    campaign_id = fields.String()
    institution_id = fields.String()
    closes_on = fields.Date()
    questions = fields.List(fields.String())
    public_key = fields.Nested(PublicKeyOut)
    token_issued = fields.Boolean(metadata={"description": "employees only: whether their token was issued"})


class BlindedIn(Schema):
    blinded_msg = HexBytes(
        512,
        required=True,
        metadata={"description": "RFC 9474 Blind(pk, input_msg)'s blinded_msg: modulus_len bytes, hexadecimal"},
    )


class BlindSignatureOut(Schema):
    blind_sig = fields.String(
        metadata={"description": "RFC 9474 BlindSign's blind_sig, hexadecimal: Finalize it with your inv"}
    )


class AnswerIn(Schema):
    @pre_load
    def refuse_the_retired_scheme(self, data, **kwargs):
        """Before RFC 9474 an answer carried `token` and `signature`: say so rather than list unknown fields."""
        if isinstance(data, dict) and "token" in data and "input_msg" not in data:
            raise TOKEN_SCHEME_RETIRED("Ask for a survey key of the current scheme (RFC 9474).")
        return data

    input_msg = HexBytes(
        96,
        48,
        required=True,
        metadata={
            "description": "the token: RFC 9474 Prepare's input_msg (32 random bytes || a message of 16-64 random "
            "bytes), hexadecimal"
        },
    )
    sig = HexBytes(512, required=True, metadata={"description": "RFC 9474 Finalize's sig on input_msg, hexadecimal"})
    teaching = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    service = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    organisation = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    comment = fields.String(load_default=None, validate=validate.Length(max=2000))


class Averages(Schema):
    teaching = fields.Decimal(as_string=True)
    service = fields.Decimal(as_string=True)
    organisation = fields.Decimal(as_string=True)


class SurveyResultsOut(Schema):
    survey_id = fields.String()
    campaign_id = fields.String()
    institution_id = fields.String()
    withheld = fields.Boolean(metadata={"description": "true: fewer than 5 answers, nothing is shown"})
    answers = fields.Integer()
    averages = fields.Nested(Averages)
    overall = fields.Decimal(as_string=True)
    distribution = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()))
    comments = fields.List(fields.String())


# --- inspections, scores, sanctions ------------------------------------------------------------


def Weight(**kwargs) -> fields.Decimal:
    return fields.Decimal(as_string=True, places=2, validate=validate.Range(min=0, max=1), **kwargs)


class Weights(Schema):
    plan_execution = Weight(required=True)
    satisfaction = Weight(required=True)
    results = Weight(required=True)
    use_of_funds = Weight(required=True)
    inspection = Weight(required=True)


class ScoringSettingsIO(Schema):
    weights = fields.Nested(Weights, required=True, metadata={"description": "must add up to 1"})
    notice_threshold = fields.Decimal(required=True, as_string=True, places=2, validate=validate.Range(min=0, max=100))


class InspectionIn(Schema):
    campaign_id = fields.UUID(required=True)
    institution_id = Text(64, required=True)
    inspector = Text(200, required=True)
    inspected_on = fields.Date(required=True)
    scores = fields.Dict(
        keys=Text(100),
        values=fields.Integer(strict=True, validate=validate.Range(min=0, max=100)),
        required=True,
        validate=validate.Length(min=1, max=30),
        metadata={"description": 'criterion -> 0-100, e.g. {"教学场地": 85}'},
    )
    notes = fields.String(load_default=None, validate=validate.Length(max=5000))


class InspectionOut(Schema):
    inspection_id = fields.String()
    campaign_id = fields.String()
    institution_id = fields.String()
    inspector = fields.String()
    inspected_on = fields.Date()
    scores = fields.Dict(keys=fields.String(), values=fields.Integer())
    notes = fields.String(allow_none=True)
    recorded_by = fields.String()


class CampaignQuery(Schema):
    campaign_id = fields.UUID(required=True)


class ReportQuery(CampaignQuery):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx", "csv"]))


class CriterionOut(Schema):
    score = fields.Decimal(as_string=True, allow_none=True)
    weight = fields.Decimal(as_string=True)
    figures = fields.Dict(metadata={"description": "the counts the score comes from"})


class CriteriaOut(Schema):
    plan_execution = fields.Nested(CriterionOut)
    satisfaction = fields.Nested(CriterionOut)
    results = fields.Nested(CriterionOut)
    use_of_funds = fields.Nested(CriterionOut)
    inspection = fields.Nested(CriterionOut)


class DecisionOut(Schema):
    institution_id = fields.String()
    revision = fields.Integer()
    action = fields.String(metadata={"description": "notified | disqualified | reinstated"})
    campaign_id = fields.String(allow_none=True)
    reason = fields.String()
    decided_by = fields.String()
    decided_at = fields.DateTime()


class EvaluationIn(CampaignQuery):
    respond_by = fields.Date(
        metadata={
            "description": "below the threshold: the date the rectification report is due (default: 10 working days "
            "from today)"
        }
    )


class NoticeQuery(Schema):
    state = fields.String(
        validate=validate.OneOf(["open", "overdue", "awaiting_report", "answered", "accepted", "not_accepted"]),
        metadata={
            "description": "open (no report, not yet due) | overdue (no report, past due) | awaiting_report (open, "
            "overdue or not accepted) | answered (a report awaiting the verdict) | accepted | not_accepted"
        },
    )


class NoticeOut(Schema):
    notice_id = fields.String()
    institution_id = fields.String()
    revision = fields.Integer(metadata={"description": "the notice's decision in the institution's trail"})
    campaign_id = fields.String(allow_none=True)
    reason = fields.String()
    issued_at = fields.DateTime()
    respond_by = fields.Date(allow_none=True)
    state = fields.String(metadata={"description": "open | overdue | answered | accepted | not_accepted"})
    overdue = fields.Boolean(metadata={"description": "no report yet and past respond_by"})
    days_left = fields.Integer(
        allow_none=True, metadata={"description": "calendar days to respond_by (negative: late)"}
    )
    report = fields.String(allow_none=True)
    report_revision = fields.Integer()
    reported_by = fields.String(allow_none=True)
    reported_at = fields.DateTime(allow_none=True)
    reported_late = fields.Boolean(allow_none=True)
    verdict = fields.String(allow_none=True)
    verdict_reason = fields.String(allow_none=True)
    verdict_by = fields.String(allow_none=True)
    verdict_at = fields.DateTime(allow_none=True)


class RectificationIn(Schema):
    report = Text(10000, required=True, metadata={"description": "what the institution corrected, and how"})
    reason = fields.String(
        load_default=None, validate=validate.Length(max=500), metadata={"description": "a revision: why"}
    )


class VerdictIn(Schema):
    accepted = Bool(required=True)
    reason = fields.String(
        load_default=None, validate=validate.Length(max=500), metadata={"description": "required when not accepted"}
    )

    @validates_schema
    def _reason_when_refused(self, data, **kwargs):
        if data.get("accepted") is False and not (data.get("reason") or "").strip():
            raise ValidationError(_("Say why the rectification is not accepted."), "reason")


class DeadlineIn(Schema):
    respond_by = fields.Date(required=True)
    reason = Text(500, required=True)


class ScoreOut(Schema):
    campaign_id = fields.String()
    institution_id = fields.String()
    institution_name = fields.String(allow_none=True)
    score = fields.Decimal(as_string=True, allow_none=True)
    notice_threshold = fields.Decimal(as_string=True)
    below_threshold = fields.Boolean()
    criteria = fields.Nested(CriteriaOut)
    notice = fields.Nested(DecisionOut, allow_none=True, metadata={"description": "evaluations: the notice sent"})
    rectification = fields.Nested(
        NoticeOut, allow_none=True, metadata={"description": "evaluations: the notice's rectification (due date)"}
    )


class SanctionIn(Schema):
    reason = Text(500, required=True)
    campaign_id = fields.UUID()


class StandingOut(Schema):
    institution_id = fields.String()
    disqualified = fields.Boolean()
    decisions = fields.List(fields.Nested(DecisionOut))
