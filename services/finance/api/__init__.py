"""The finance HTTP API: thin endpoints over the use cases and queries (one module per area).

Money-moving requests (payments, charges, transfers, returns, reimbursement payments,
recoveries, rate raises) take an Idempotency-Key per caller (servicekit.idempotency): sending
the same request again with the same key answers with what the first one did, and changes nothing.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

from flask_smorest import Blueprint

from servicekit import unit_of_work

blp = Blueprint("finance", __name__, description="Cost sharing, payments, earmarked funds, reimbursements, ledger")

FEDERATION = ("federation_admin", "auditor")
EVERYONE = (
    "federation_admin",
    "auditor",
    "unit_officer",
    "grassroots_officer",
    "institution_operator",
    "institution_system",
    "employee",
)


def problems(*statuses: int):
    """Document the problem responses an endpoint may give (401/403/422 on every one)."""
    names = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 422: "UNPROCESSABLE_ENTITY"}

    def decorate(view):
        for status in sorted({401, 403, 422, *statuses}, reverse=True):
            view = blp.alt_response(status, response=names[status])(view)
        return view

    return decorate


def id_of(answer, key: str, default: str) -> str:
    """The id in a use case's answer (a row or its view), for the audit entry."""
    found = answer.get(key) if isinstance(answer, dict) else getattr(answer, key, None)
    return str(found or default)


def cause() -> str:
    """What a request's ledger postings are named by: each execution its own (retries never execute twice)."""
    return f"request:{uuid.uuid4()}"


@contextmanager
def reading():
    """A session for a read: the rows it loads stay readable after the (rolled back) transaction."""
    with unit_of_work() as uow:
        try:
            yield uow.session
        finally:
            uow.session.expunge_all()


def blueprints() -> list:
    """The blueprint, once every module has added its endpoints to it."""
    from . import funds, payments, policies, reimbursements, reports  # noqa: F401  (they register the routes)

    return [blp]
