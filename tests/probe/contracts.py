from marshmallow import Schema, fields, validate

from contracts import event


@event("probe.noted", 1, producer="probe")
class ProbeNoted(Schema):
    note_id = fields.UUID(required=True)
    key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    sleep_s = fields.Float(load_default=0, validate=validate.Range(min=0, max=60))
    fail_until_attempt = fields.Integer(load_default=0, strict=True)
    poison = fields.Boolean(load_default=False)
    marker_dir = fields.String(load_default=None, allow_none=True)


@event("probe.unheard", 1, producer="probe")
class ProbeUnheard(Schema):
    key = fields.String(required=True)
