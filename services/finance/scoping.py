"""Who sees which enrolments: every query on students goes through here."""

from __future__ import annotations

from sqlalchemy import Select, false

from servicekit.identity import Identity

from .models import Enrolment

_SCOPE = {  # role -> (identity field, enrolment column)
    "unit_officer": ("unit_id", Enrolment.unit_id),
    "grassroots_officer": ("grassroots_union_id", Enrolment.grassroots_union_id),
    "institution_operator": ("institution_id", Enrolment.institution_id),
    "institution_system": ("institution_id", Enrolment.institution_id),
    "employee": ("employee_id", Enrolment.employee_id),
}


def scoped(query: Select, identity: Identity) -> Select:
    """`query` (joined to Enrolment) narrowed to what the caller may see."""
    if identity.is_federation:
        return query
    if identity.role not in _SCOPE:
        return query.where(false())
    field, column = _SCOPE[identity.role]
    return query.where(column == getattr(identity, field))


def sees(identity: Identity, enrolment: Enrolment) -> bool:
    if identity.is_federation:
        return True
    if identity.role not in _SCOPE:
        return False
    field, column = _SCOPE[identity.role]
    return getattr(enrolment, column.key) == getattr(identity, field)
