"""GET /me/data: what a service holds about the calling employee (PIPL art. 45, the right of access).

A service that holds personal data declares `Service(personal_data=collect)`, `collect(session, employee_id)`
giving its parts: `{"enrolments": [row, ...], ...}`, each row its columns' values as JSON holds them
(`rows_of`). The gateway's `GET /api/me/data` asks every such service and merges the parts (gateway.me_api).
A service may record the read in the same transaction (enrollment records it in personal_data_views).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from .audit import plain
from .identity import EMPLOYEE, current_identity, requires

Collect = Callable[[Session, str], dict[str, list[dict]]]

blp = Blueprint(
    "subject_access", __name__, description="The employee's own data, everything this service holds (PIPL art. 45)"
)


class PersonalDataOut(Schema):
    service = fields.String(metadata={"description": "The service answering"})
    employee_id = fields.String(metadata={"description": "The employee's pseudonymous id"})
    parts = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.Dict()),
        metadata={"description": "Each kind of record (a table) and its rows, values as JSON holds them"},
    )


def rows_of(session: Session, model: Any, *conditions: Any, exclude: tuple[str, ...] = ()) -> list[dict]:
    """Every row of `model` meeting `conditions`, each as {column: value as JSON holds it}, in key order."""
    mapper: Any = inspect(model)
    keys: list[str] = [attribute.key for attribute in mapper.column_attrs if attribute.key not in exclude]
    order: list[Any] = [getattr(model, mapper.get_property_by_column(column).key) for column in mapper.primary_key]
    found: Any = session.scalars(select(model).where(*conditions).order_by(*order))
    return [{key: plain(getattr(row, key)) for key in keys} for row in found]


def enrolment_parts(
    session: Session, enrolments: Any, employee_id: str, kinds: tuple[tuple[str, Any], ...]
) -> dict[str, list[dict]]:
    """The employee's rows of the service's `enrolments` model, and for each (part name, model) of `kinds` the rows
    whose enrolment_id is one of theirs."""
    mine = select(enrolments.enrolment_id).where(enrolments.employee_id == employee_id).scalar_subquery()
    parts = {"enrolments": rows_of(session, enrolments, enrolments.employee_id == employee_id)}
    for name, model in kinds:
        parts[name] = rows_of(session, model, model.enrolment_id.in_(mine))
    return parts


@blp.route("/me/data", methods=["GET"])
@blp.response(200, PersonalDataOut)
@blp.alt_response(401, response="UNAUTHORIZED")
@blp.alt_response(403, response="FORBIDDEN")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")  # what servicekit.inputs refuses in any request
@requires(EMPLOYEE)
def my_data():
    """Everything this service holds about the calling employee, part by part (their right of access)."""
    runtime = current_app.extensions["runtime"]
    identity = current_identity()
    with runtime.unit_of_work() as uow:
        parts = runtime.service.personal_data(uow.session, identity.employee_id)
        uow.commit()  # what the service records of the read (enrollment: personal_data_views)
    return {"service": runtime.service.name, "employee_id": identity.employee_id, "parts": parts}
