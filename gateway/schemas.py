"""The gateway's own API: what /auth/* takes and gives."""

from marshmallow import Schema, fields, validate

from .accounts import DEFAULT_SECRET_OVERLAP_HOURS, MAX_SECRET_OVERLAP_HOURS, USER_ROLES

SCOPE_ID = {"validate": validate.Length(min=1, max=64), "load_default": None}


class LoginIn(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata={"format": "password"})


class RefreshIn(Schema):
    refresh_token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class IdentityOut(Schema):
    subject = fields.String(required=True)
    role = fields.String(required=True)
    unit_id = fields.String(allow_none=True)
    grassroots_union_id = fields.String(allow_none=True)
    institution_id = fields.String(allow_none=True)
    employee_id = fields.String(allow_none=True)


class TokenOut(Schema):
    access_token = fields.String(required=True, metadata={"description": "JWT; send as `Authorization: Bearer ...`"})
    token_type = fields.String(required=True, metadata={"example": "Bearer"})
    expires_in = fields.Integer(required=True, metadata={"description": "seconds the access token is valid"})
    refresh_token = fields.String(required=True, metadata={"description": "for POST /auth/refresh, usable once"})
    refresh_expires_in = fields.Integer(required=True)
    identity = fields.Nested(IdentityOut, required=True)
    previous_login_at = fields.DateTime(
        metadata={"description": "A password login: when this account last logged in before (absent the first time)"}
    )


class RoleIn(Schema):
    role = fields.String(required=True, validate=validate.OneOf(USER_ROLES))
    unit_id = fields.String(**SCOPE_ID, metadata={"description": "unit_officer, grassroots_officer"})
    grassroots_union_id = fields.String(**SCOPE_ID, metadata={"description": "grassroots_officer"})
    institution_id = fields.String(**SCOPE_ID, metadata={"description": "institution_operator"})
    employee_id = fields.String(
        **SCOPE_ID, metadata={"description": "employee: enrollment's id (`emp-...`), or give resident_id instead"}
    )
    resident_id = fields.String(
        load_only=True,
        validate=validate.Length(min=1, max=40),
        load_default=None,
        metadata={
            "description": "employee: the resident ID number (身份证号); the "
            "account keeps only the employee id made from it"
        },
    )


class PasswordIn(Schema):
    password = fields.String(
        required=True,
        load_only=True,
        validate=validate.Length(max=1000),
        metadata={"format": "password", "description": "at least 10 characters"},
    )


class OwnPasswordIn(PasswordIn):
    current_password = fields.String(
        required=True, load_only=True, validate=validate.Length(max=1000), metadata={"format": "password"}
    )


class UserIn(RoleIn, PasswordIn):
    username = fields.String(required=True, metadata={"example": "tianhe.officer"})


class UserQuery(Schema):
    role = fields.String(validate=validate.OneOf(USER_ROLES))
    unit_id = fields.String(validate=validate.Length(min=1, max=64))
    grassroots_union_id = fields.String(validate=validate.Length(min=1, max=64))
    institution_id = fields.String(validate=validate.Length(min=1, max=64))
    employee_id = fields.String(validate=validate.Length(min=1, max=64))
    active = fields.Boolean()


class UserOut(Schema):
    id = fields.String(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_by = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    unit_id = fields.String(allow_none=True)
    grassroots_union_id = fields.String(allow_none=True)
    institution_id = fields.String(allow_none=True)
    employee_id = fields.String(allow_none=True)


class ClientIn(Schema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=200), metadata={"example": "广州职工教育网 exam system"}
    )
    institution_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ClientOut(Schema):
    key_id = fields.String(required=True)
    secret = fields.String(required=True, metadata={"description": "shown only now: store it safely"})
    name = fields.String(required=True)
    institution_id = fields.String(required=True)


class ClientQuery(Schema):
    active = fields.Boolean(metadata={"description": "true: active clients only; false: disabled ones only"})


class MachineRequestOut(Schema):
    """A signed request a machine client sent and the status it was answered with."""

    key_id = fields.String(required=True)
    at = fields.DateTime(required=True)
    method = fields.String(required=True)
    path = fields.String(required=True, metadata={"description": "Without the query"})
    status = fields.Integer(required=True)
    request_id = fields.String(required=True, metadata={"description": "X-Request-ID, to find it in the logs"})


class ClientListOut(Schema):
    """A machine client as listed: never its secret."""

    key_id = fields.String(required=True)
    name = fields.String(required=True)
    institution_id = fields.String(required=True)
    active = fields.Boolean(required=True)
    status = fields.Function(
        lambda client: "active" if client.active else "disabled", metadata={"enum": ["active", "disabled"]}
    )
    created_at = fields.DateTime(required=True)
    created_by = fields.String(required=True)
    last_used_at = fields.DateTime(
        allow_none=True, metadata={"description": "The last accepted signed request (to the minute)"}
    )
    secret_rotated_at = fields.DateTime(allow_none=True)
    previous_secret_until = fields.DateTime(
        allow_none=True, metadata={"description": "Until when the secret before the last rotation still works"}
    )


class ReasonIn(Schema):
    reason = fields.String(
        required=True, validate=validate.Length(min=1, max=2000), metadata={"example": "密钥疑似泄露"}
    )


class RotateIn(Schema):
    overlap_hours = fields.Integer(
        load_default=DEFAULT_SECRET_OVERLAP_HOURS,
        validate=validate.Range(min=0, max=MAX_SECRET_OVERLAP_HOURS),
        metadata={
            "description": f"How long the secret it replaces keeps working, in hours (0: refused at once; default "
            f"{DEFAULT_SECRET_OVERLAP_HOURS}, at most {MAX_SECRET_OVERLAP_HOURS})"
        },
    )
    reason = fields.String(validate=validate.Length(min=1, max=2000))


class RotatedOut(Schema):
    key_id = fields.String(required=True)
    secret = fields.String(required=True, metadata={"description": "shown only now: store it safely"})
    previous_secret_until = fields.DateTime(allow_none=True)
