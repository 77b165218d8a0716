"""/auth/activation-codes and /auth/activation: employees activate their own accounts (gateway.activation).

The officer's request names the nomination (enrolment); the gateway reads it from enrollment as that officer
(signed for this one request, as the proxy signs what it forwards), so an officer gets codes only for the
employees their own union nominated, and the code goes to the phone the nomination holds.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from servicekit.audit import Actor, actor_of
from servicekit.audit import record as trail_record
from servicekit.clock import china_date
from servicekit.errors import TOO_MANY_REQUESTS, UNAUTHORIZED, Problem
from servicekit.i18n import _
from servicekit.identity import EMPLOYEE, GRASSROOTS_OFFICER
from servicekit.personal import mask_phone

from . import accounts, activation, sms
from .auth_api import account_problems
from .fanout import Reader
from .guard import LOGIN_WINDOW_SECONDS, current_guard, require
from .incoming import client_address
from .limits import hit
from .models import audit_entries

log = logging.getLogger("gateway.activation")

blp = Blueprint(
    "activation", __name__, url_prefix="/auth", description="Employees activate their accounts with a code (账号激活)"
)


class CodeIn(Schema):
    enrolment_id = fields.String(required=True, validate=validate.Length(min=1, max=36))


class CodeOut(Schema):
    code = fields.String(metadata={"description": "Shown this once: to print or hand to the employee"})
    expires_at = fields.DateTime()
    phone = fields.String(metadata={"description": "The nomination's phone, masked: where it was sent by SMS"})
    sms_sent = fields.Boolean(
        metadata={
            "description": "false: the SMS provider did not take it (the code works all the same; ask again to "
            "send a new one)"
        }
    )
    employee_id = fields.String()


class ActivationIn(Schema):
    resident_id = fields.String(required=True, validate=validate.Length(min=1, max=18))
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    username = fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "A new account's username (not needed to set a new password)"},
    )
    password = fields.String(required=True, validate=validate.Length(max=200))


class ActivatedOut(Schema):
    username = fields.String()
    created = fields.Boolean(metadata={"description": "true: a new account; false: a new password"})


def _nomination(officer, enrolment_id: str) -> dict:
    """The enrolment as enrollment shows it to this officer (404 when it is not their union's)."""
    return Reader.of_request(officer).get(
        "enrollment",
        f"/enrolments/{enrolment_id}",
        {},
        _("The nomination cannot be read now."),
        _("No such nomination of your union."),
        not_found_on=(403, 404),
    )


@blp.route("/activation-codes", methods=["POST"])
@blp.arguments(CodeIn)
@blp.response(201, CodeOut)
@blp.alt_response(403, description="Only the nominating grassroots union's officer")
@blp.alt_response(404, description="No such nomination of the officer's union")
def issue_code(body):
    """A one-time code for the nominated employee to activate their account (or set a new password with):
    shown once here and sent to the nomination's phone (`sms_sent` false: the SMS provider failed; the code works
    all the same); an earlier code stops working."""
    guard, officer = current_guard(), require(GRASSROOTS_OFFICER)
    nomination = _nomination(officer, body["enrolment_id"])
    now = datetime.now(UTC)
    with guard.transaction() as session:
        issued = activation.issue(
            session,
            employee_id=nomination["employee_id"],
            issued_by=officer.subject,
            now=now,
            hours=guard.settings.activation_code_hours,
        )
        trail_record(
            session,
            audit_entries,
            "activation_code.issued",
            "employee",
            nomination["employee_id"],
            after={"expires_at": issued.expires_at.isoformat(), "enrolment_id": body["enrolment_id"]},
            actor=actor_of(officer),
        )
    until = issued.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    message = sms.Message(
        _("Your activation code for the Million Workers Upskilling platform: {code} (valid until {until}).").format(
            code=issued.code, until=until
        ),
        # Template variables are short: the code, and the last day it works (China's date).
        (issued.code, china_date(issued.expires_at).isoformat()),
    )
    try:
        sms.sender(guard.settings.sms_provider, guard.settings.sms_tencent).send(nomination["phone"], message)
        sent = True
    except sms.NotSent as failure:
        # The code stands (committed above): the officer still hands it over, or asks again for a new one.
        sent = False
        log.warning(
            "activation code not sent by SMS",
            extra={
                "employee_id": nomination["employee_id"],
                "provider": guard.settings.sms_provider,
                "reason": failure.reason,
            },
        )
    return {
        "code": issued.code,
        "expires_at": issued.expires_at,
        "phone": mask_phone(nomination["phone"]),
        "sms_sent": sent,
        "employee_id": nomination["employee_id"],
    }


@blp.route("/activation", methods=["POST"])
@blp.arguments(ActivationIn)
@blp.response(201, ActivatedOut)
@blp.doc(security=[])
@blp.alt_response(401, description="Wrong ID number or code, or the code used, expired or tried too often")
@blp.alt_response(422, description="A resident ID number failing its checks, a short password, a username taken")
@blp.alt_response(429, description="Too many failed activations from this address (Retry-After)")
def activate(body):
    """The employee activates their account with their resident ID number, the union's code and a password of
    their own (for an account that exists: a new password, every login with the old one ends)."""
    guard = current_guard()
    address = client_address(
        request.remote_addr or "", request.headers.get("X-Forwarded-For"), guard.settings.trusted_proxies
    )
    key, now = f"activation:failed:addr:{address}", datetime.now(UTC)
    with account_problems("The account cannot be activated as given."):
        employee_id = activation.employee_of(body["resident_id"], guard.employee_key)
        password_errors = accounts.password_errors(body["password"])
        if password_errors:
            raise accounts.AccountError(password_errors)
        refused = False
        with guard.transaction() as session:
            # Counted before the check, given back on success: parallel tries cannot pass the limit together.
            verdict = hit(
                session,
                key,
                now=now.timestamp(),
                window=LOGIN_WINDOW_SECONDS,
                limit=guard.settings.login_failures_per_address,
            )
            if verdict.allowed:
                try:
                    used = activation.check_code(session, employee_id=employee_id, code=body["code"], now=now)
                except activation.Refused:
                    refused = True
                else:
                    user, created = activation.activate(
                        session,
                        employee_id=employee_id,
                        used=used,
                        username=body["username"],
                        password=body["password"],
                    )
                    hit(session, key, now=now.timestamp(), window=LOGIN_WINDOW_SECONDS, limit=0, amount=-1)
                    session.flush()
                    accounts.record(
                        session,
                        "user created" if created else "password reset",
                        user,
                        None if created else accounts.user_state(user),
                        Actor(f"activation:{used.id}", "user", EMPLOYEE),
                    )
                    answer = {"username": user.username, "created": created}
    if not verdict.allowed:
        raise Problem(
            TOO_MANY_REQUESTS,
            _("Too many failed activations from this address; try again later."),
            headers={"Retry-After": str(verdict.retry_after)},
        )
    if refused:
        raise Problem(
            UNAUTHORIZED,
            _(
                "The resident ID number or the activation code is wrong, used or expired: "
                "ask your union for a new code."
            ),
        )
    return answer
