"""Listing rows tied to an enrolment (results, certificates), scoped to the caller."""

from __future__ import annotations

from sqlalchemy import select

from servicekit.identity import EMPLOYEE, Identity

from .models import Enrolment, as_dict


def by_enrolment(session, identity: Identity, model, args: dict, order_by: tuple) -> list[dict]:
    """An employee sees their own rows, an institution its own, the federation all; `args`: enrolment_id, page."""
    query = select(model).join(Enrolment, Enrolment.enrolment_id == model.enrolment_id)
    if identity.role == EMPLOYEE:
        query = query.where(Enrolment.employee_id == identity.employee_id)
    elif not identity.is_federation:
        query = query.where(model.institution_id == identity.institution_id)
    if args.get("enrolment_id"):
        query = query.where(model.enrolment_id == str(args["enrolment_id"]))
    query = query.order_by(*order_by).limit(args["limit"]).offset(args["offset"])
    return [as_dict(row) for row in session.scalars(query)]
