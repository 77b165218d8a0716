"""The last guard before the database: no value is flushed that its column cannot hold.

Inputs are bounded by their schemas (servicekit.money, servicekit.openapi); values
computed from them (a breakdown's total, seats times a subsidy) could still pass
what a column holds, and PostgreSQL would refuse the whole transaction with an
error the API could only answer with a 500. Before every flush each new or
changed row is checked against its columns' types (Integer/BigInteger ranges,
Numeric precision, String length, text PostgreSQL cannot store): a value that does
not fit is a 422 problem naming the attribute, and nothing is written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import cast

from sqlalchemy import BigInteger, Integer, Numeric, SmallInteger, String, Table, event, insert, inspect
from sqlalchemy.orm import InstanceState, Mapper, Session, sessionmaker

from .errors import Problem, define_problem
from .i18n import _
from .inputs import text_fault

VALUE_TOO_LARGE = define_problem(
    "value_out_of_range", 422, "A value is beyond what can be recorded", "数值超出可记录的范围"
)
INTEGER_RANGES = {SmallInteger: 2**15, Integer: 2**31, BigInteger: 2**63}
Fault = Callable[[object], str | None]


def guard_columns(sessions: sessionmaker[Session]) -> None:
    event.listen(sessions, "before_flush", _check)


def _check(session: Session, _flush_context, _instances) -> None:
    errors: dict[str, list[str]] = {}
    for row in (*session.new, *session.dirty):
        state = inspect(row)
        checks = column_checks(state.mapper)
        # a new row's every column, a changed row's changed ones (its others were checked when they were)
        names = checks if state.key is None else [name for name in modified_columns(state) if name in checks]
        _note_faults(checks, {name: state.dict.get(name) for name in names}, errors)
    if errors:
        raise Problem(VALUE_TOO_LARGE, errors=errors)


def insert_checked(session: Session, model: type, rows: list[dict]) -> None:
    """Insert `rows` (column values of `model`) in one statement, past the ORM's unit of work, checked as a
    flush checks new rows: a value that does not fit is a 422 problem and nothing is written."""
    if not rows:
        return
    mapper: Mapper = inspect(model)
    checks = column_checks(mapper)
    errors: dict[str, list[str]] = {}
    for row in rows:
        _note_faults(checks, row, errors)
    if errors:
        raise Problem(VALUE_TOO_LARGE, errors=errors)
    session.execute(insert(cast(Table, mapper.local_table)), rows)


def _note_faults(checks: dict[str, Fault], values: dict, errors: dict[str, list[str]]) -> None:
    for name, value in values.items():
        if value is not None and name in checks and (fault := checks[name](value)):
            errors.setdefault(name, []).append(fault)


def modified_columns(state: InstanceState) -> list[str]:
    """The column attributes of a loaded row its session has changed since loading it: a changed row's few,
    not its every column's history."""
    columns = column_keys(state.mapper)
    unmodified = state.unmodified_intersection(columns)
    return [name for name in columns if name not in unmodified]


@functools.cache
def column_keys(mapper: Mapper) -> tuple[str, ...]:
    """The keys of a mapped class's column attributes, in its order."""
    return tuple(attribute.key for attribute in mapper.column_attrs)


@functools.cache
def column_checks(mapper: Mapper) -> dict[str, Fault]:
    """For each column attribute whose type can refuse a value, what says why a value does not fit it:
    worked out once a class, as every flush of every row asks."""
    return {key: check for key in column_keys(mapper) if (check := fault_of(mapper.columns[key].type))}


def fault_of(kind) -> Fault | None:
    """What says why a value does not fit a column of type `kind`; None for a type that takes any value of its own."""
    if isinstance(kind, Integer):
        limit = INTEGER_RANGES.get(type(kind), 2**31)

        def integer(value) -> str | None:
            if isinstance(value, int) and not isinstance(value, bool) and not -limit <= value < limit:
                return _("Must be between {low} and {high}.").format(low=-limit, high=limit - 1)
            return None

        return integer
    if isinstance(kind, Numeric) and kind.precision is not None:
        whole_digits = kind.precision - (kind.scale or 0)
        bound = Decimal(10) ** whole_digits

        def number(value) -> str | None:
            if isinstance(value, Decimal) and (not value.is_finite() or abs(value) >= bound):
                return _("Must be less than {limit} in size.").format(limit=10**whole_digits)
            return None

        return number
    if isinstance(kind, String):

        def text(value) -> str | None:
            if not isinstance(value, str):
                return None
            if kind.length is not None and len(value) > kind.length:
                return _("Longer than maximum length {max}.").format(max=kind.length)
            return text_fault(value)

        return text
    return None
