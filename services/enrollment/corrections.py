"""Use cases of the right to correction (PIPL art. 46): the employee asks, the nominating grassroots union
(or the federation) decides with a reason, an accepted request changes the record."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select

from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Forbidden, Invalid, NotFound

from .domain import corrections as rules
from .domain.people import InvalidPersonalData, mask_name, mask_phone
from .models import CorrectionRequest, Employee, Enrolment
from .problems import WRONG_STATUS, flush_or_conflict


def request_correction(uow, identity: Identity, body: dict) -> CorrectionRequest:
    session = uow.session
    employee = session.get(Employee, identity.employee_id)
    if employee is None:
        raise NotFound(_("Nothing is held about you: there is nothing to correct."))
    field = body["field"]
    try:
        value = rules.normalise_value(field, body["requested_value"])
    except InvalidPersonalData as exc:
        raise Invalid(errors={"requested_value": [exc.args[0]]}) from None
    if value in _current_values(session, employee, field):
        raise Invalid(errors={"requested_value": [_("The record already holds this value.")]})
    request = CorrectionRequest(
        request_id=str(uuid.uuid4()),
        employee_id=employee.employee_id,
        field=field,
        requested_value=value,
        reason=body["reason"],
        state=rules.OPEN,
        requested_at=utcnow(),
    )
    session.add(request)
    flush_or_conflict(session, _("A request to correct this is already open."))
    return request


def _current_values(session, employee: Employee, field: str) -> list[str]:
    if field == "education":
        return list(
            session.scalars(select(Enrolment.education).where(Enrolment.employee_id == employee.employee_id).distinct())
        )
    return [getattr(employee, field)]


def scoped(query: Select, identity: Identity) -> Select:
    """The requests the caller may see: their own (an employee), of the employees their union or unit nominated
    (officers), every one (the federation and the auditor)."""
    if identity.is_federation:
        return query
    if identity.role == "employee":
        return query.where(CorrectionRequest.employee_id == identity.employee_id)
    nominated = {
        "grassroots_officer": lambda: Enrolment.grassroots_union_id == identity.grassroots_union_id,
        "unit_officer": lambda: Enrolment.unit_id == identity.unit_id,
    }.get(identity.role)
    if nominated is None:
        raise Forbidden(_("The role {role} sees no correction requests.").format(role=identity.role))
    return query.where(CorrectionRequest.employee_id.in_(select(Enrolment.employee_id).where(nominated())))


def decide(uow, identity: Identity, request_id: str, body: dict) -> CorrectionRequest:
    session = uow.session
    request = session.scalar(
        scoped(select(CorrectionRequest).where(CorrectionRequest.request_id == request_id), identity).with_for_update()
    )
    if request is None:
        raise NotFound(_("No correction request {request_id} that you may see.").format(request_id=request_id))
    try:
        request.state = rules.decided_state(request.state, body["decision"])
    except ValueError:
        raise WRONG_STATUS(_("The request is already decided.")) from None
    request.decided_by, request.decided_role, request.decided_at = identity.subject, identity.role, utcnow()
    request.decision_reason = body["reason"]
    if request.state == rules.ACCEPTED:
        _apply(uow, request)
    flush_or_conflict(session)
    return request


def _apply(uow, request: CorrectionRequest) -> None:
    """The record takes the corrected value; a corrected name reaches the services that show it (masked)."""
    session = uow.session
    if request.field == "education":
        # row by row: the audit entry shows every enrolment that changed
        for enrolment in session.scalars(
            select(Enrolment).where(Enrolment.employee_id == request.employee_id).with_for_update()
        ):
            enrolment.education = request.requested_value
        return
    employee = session.get(Employee, request.employee_id, with_for_update=True)
    setattr(employee, request.field, request.requested_value)
    # the copies the nominations gave (what the nominating unions see) were as wrong: corrected alike
    for enrolment in session.scalars(
        select(Enrolment).where(Enrolment.employee_id == request.employee_id).with_for_update()
    ):
        if getattr(enrolment, f"nominated_{request.field}") is not None:
            setattr(enrolment, f"nominated_{request.field}", request.requested_value)
    if request.field == "name":
        uow.publish(
            "employee.corrected",
            {"employee_id": employee.employee_id, "holder_name_masked": mask_name(employee.name)},
        )


def correction_view(session, identity: Identity, request: CorrectionRequest) -> dict:
    employee = session.get(Employee, request.employee_id)
    own = identity.role == "employee"
    # phones in clear only to the employee and the nominating union (as on enrolments), names to the employee
    clear_phone = own or identity.role == "grassroots_officer"
    current = ", ".join(_current_values(session, employee, request.field)) or None
    view = {column.key: getattr(request, column.key) for column in CorrectionRequest.__table__.columns}
    if request.field == "phone" and not clear_phone:
        current = current and mask_phone(current)
        view["requested_value"] = mask_phone(request.requested_value)
    return {**view, "name": employee.name if own else mask_name(employee.name), "current_value": current}
