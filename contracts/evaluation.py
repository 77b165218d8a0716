"""Events produced by the evaluation service: exam results, certificates, institution sanctions."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .base import event
from .common import UUID, Bool, Code, Date, DecimalString, Int, Kind, Revision, Text, Timestamp

PRODUCER = "evaluation"
RETAKES = ("free_later_class", "course_retake")


@event("exam.result_recorded", 1, PRODUCER)
class ExamResultRecorded(Schema):
    """One attempt at one exam; a retake is a new result with a higher attempt, never an overwrite."""

    result_id = UUID(required=True)
    enrolment_id = UUID(required=True)
    institution_id = Code(required=True)
    exam = Text(required=True, max_length=200)
    held_on = Date(required=True)
    score = DecimalString(required=True, minimum="0")
    passed = Bool(required=True)
    attempt = Int(required=True, validate=validate.Range(min=1))
    campaign_id = UUID()
    # After a fail: skills -> a free later class of the same trade at the same institution
    # (enrollment places the student; the re-exam fee is theirs); academic -> the course is retaken.
    retake = fields.String(validate=validate.OneOf(RETAKES))

    @validates_schema
    def _retake_only_after_a_fail(self, data, **kwargs):
        if data.get("passed") and "retake" in data:
            raise ValidationError("Only a failed attempt leads to a retake.", "retake")


class _Certificate(Schema):
    certificate_id = UUID(required=True)
    revision = Revision(required=True)
    number = Text(required=True, max_length=64)  # unique per institution
    enrolment_id = UUID(required=True)
    institution_id = Code(required=True)
    kind = Kind(required=True)  # skills: completion certificate; academic: graduation certificate
    campaign_id = UUID()


@event("certificate.issued", 1, PRODUCER)
class CertificateIssued(_Certificate):
    issued_on = Date(required=True)


@event("certificate.revoked", 1, PRODUCER)
class CertificateRevoked(_Certificate):
    reason = Text(required=True)
    revoked_on = Date(required=True)


class _Decision(Schema):
    """A decision on an institution's standing; `revision` orders the decisions on one institution."""

    institution_id = Code(required=True)
    revision = Revision(required=True)
    campaign_id = UUID()
    reason = Text(required=True)
    decided_by = Code(required=True)  # the deciding user's id, never a name
    decided_at = Timestamp(required=True)


@event("institution.notified", 1, PRODUCER)
class InstitutionNotified(_Decision):
    campaign_id = UUID(required=True)  # a notice is about one campaign's evaluation


@event("institution.disqualified", 1, PRODUCER)
class InstitutionDisqualified(_Decision):
    pass


@event("institution.reinstated", 1, PRODUCER)
class InstitutionReinstated(_Decision):
    pass
