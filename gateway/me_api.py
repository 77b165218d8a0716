"""GET /api/me/data: everything the system holds about the calling employee (PIPL art. 45, right of access).

The gateway asks each service that holds personal data for its part (`GET /me/data`, servicekit.subject_access,
signed for that one request and service, in parallel), adds the employee's account, and answers the whole as
JSON or, with `format=xlsx`, as a workbook of one sheet per part (`<service>.<part>`). Quota holds nothing about
employees. The read is recorded in the gateway's audit trail (`personal_data.accessed`), and enrollment records it
in personal_data_views (it shows the full resident ID number). A service that cannot answer makes it 503: the
employee is never given a part of their data as if it were all of it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from servicekit import audit
from servicekit.audit import actor_of
from servicekit.i18n import _
from servicekit.identity import EMPLOYEE
from servicekit.tabular import workbook

from .accounts import find_user
from .fanout import Reader
from .guard import require
from .models import User, audit_entries

blp = Blueprint("me", __name__, url_prefix="/api", description="The employee's own data (个人信息查阅)")

HOLDERS = ("enrollment", "finance", "evaluation")  # the services holding personal data of employees
ACCOUNT_FIELDS = ("username", "role", "employee_id", "active", "created_at", "created_by")


class MyDataQuery(Schema):
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(("json", "xlsx")),
        metadata={"description": "xlsx: a workbook, one sheet per part (<service>.<part>)"},
    )


class MyDataOut(Schema):
    employee_id = fields.String(metadata={"description": "The employee's pseudonymous id"})
    generated_at = fields.DateTime()
    services = fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.List(fields.Dict())),
        metadata={"description": "Per service (and gateway: the account), each part (a kind of record) and its rows"},
    )


@blp.route("/me/data", methods=["GET"])
@blp.arguments(MyDataQuery, location="query")
@blp.response(200, MyDataOut, description="JSON, or an .xlsx download with format=xlsx")
@blp.alt_response(403, description="Only an employee reads their own data here")
@blp.alt_response(503, description="A service's part cannot be read now (retry)")
def my_data(query):
    """Everything the system holds about the calling employee: the account, and each service's records of them
    (enrolments, classes, fees and payments, results, certificates, reimbursements, correction requests, who was
    shown their full ID number). Each read is recorded."""
    reader = Reader.of_request(require(EMPLOYEE))
    identity = reader.identity
    holders = [name for name in HOLDERS if name in reader.upstreams.services]
    parts = dict(zip(holders, reader.each(lambda name: _part(reader, name), holders)))
    with reader.runtime.sessions() as session:
        user = find_user(session, identity.subject)
        account = [_account(user)] if user is not None and user.employee_id == identity.employee_id else []
        audit.record(
            session,
            audit_entries,
            "personal_data.accessed",
            "employee",
            identity.employee_id,
            after={"format": query["format"], "services": holders},
            actor=actor_of(identity),
        )
        session.commit()
    services = {"gateway": {"account": account}, **parts}
    if query["format"] == "xlsx":
        sheets = {f"{service}.{part}": rows for service, found in services.items() for part, rows in found.items()}
        return workbook(sheets, "my-data")
    return {"employee_id": identity.employee_id, "generated_at": datetime.now(UTC), "services": services}


def _account(user: User) -> dict:
    return {name: audit.plain(getattr(user, name)) for name in ACCOUNT_FIELDS}


def _part(reader: Reader, service: str) -> dict[str, list[dict]]:
    unavailable = _("What {service} holds about you cannot be read now.").format(service=service)
    return reader.get(service, "/me/data", {}, unavailable)["parts"]
