"""No value is flushed that its column cannot hold: a 422 problem naming it, and nothing written (embedded)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import BigInteger, Integer, Numeric, String, func, select

from servicekit import Problem
from servicekit.columns import fault_of, insert_checked
from tests.probe.models import Handling, Note


def test_a_row_that_does_not_fit_its_columns_is_refused_before_the_flush(probe_runtime):
    runtime = probe_runtime
    with runtime.unit_of_work() as uow, pytest.raises(Problem) as refused:
        uow.session.add(Note(id="n1", key="x" * 101))
        uow.session.add(Handling(event_id="e", key="k", pid=1, attempt=2**31))
        uow.commit()
    assert refused.value.problem.code == "value_out_of_range"
    assert set(refused.value.errors) == {"key", "attempt"}
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Note)) == 0


def test_a_changed_row_is_refused_for_the_value_it_changed_to(probe_runtime):
    runtime = probe_runtime
    with runtime.unit_of_work() as uow:
        uow.session.add(Note(id="n1", key="short"))
        uow.commit()
    with runtime.unit_of_work() as uow, pytest.raises(Problem) as refused:
        uow.session.get(Note, "n1").key = "x" * 101
        uow.commit()
    assert set(refused.value.errors) == {"key"}
    with runtime.unit_of_work() as uow:
        assert uow.session.get(Note, "n1").key == "short"


def test_rows_inserted_in_bulk_are_checked_as_a_flush_checks_them(probe_runtime):
    runtime = probe_runtime
    with runtime.unit_of_work() as uow, pytest.raises(Problem) as refused:
        insert_checked(uow.session, Note, [{"id": "n1", "key": "fits"}, {"id": "n2", "key": "x" * 101}])
    assert refused.value.problem.code == "value_out_of_range"
    assert set(refused.value.errors) == {"key"}
    with runtime.unit_of_work() as uow:
        insert_checked(uow.session, Note, [{"id": "n1", "key": "fits"}, {"id": "n2", "key": "also"}])
        uow.commit()
    with runtime.unit_of_work() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Note)) == 2


@pytest.mark.parametrize(
    ("kind", "value", "fits"),
    [
        (Integer(), 2**31 - 1, True),
        (Integer(), 2**31, False),
        (Integer(), -(2**31), True),
        (BigInteger(), 2**63 - 1, True),
        (BigInteger(), 2**63, False),
        (Numeric(14, 2), Decimal("999999999999.99"), True),
        (Numeric(14, 2), Decimal("1000000000000.00"), False),
        (Numeric(14, 2), Decimal("-1E+26"), False),
        (Numeric(5, 4), Decimal("9.9999"), True),
        (Numeric(5, 4), Decimal("10"), False),
        (String(3), "abc", True),
        (String(3), "abcd", False),
        (String(), "a\x00", False),
    ],
)
def test_what_each_column_type_holds(kind, value, fits):
    assert (fault_of(kind)(value) is None) is fits
