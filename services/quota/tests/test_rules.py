"""The pure quota rules: apportionment by the largest-remainder method and friends."""

from datetime import UTC, date
from decimal import Decimal
from itertools import permutations

import pytest

from services.quota.rules import (
    Claimant,
    Usage,
    apportion,
    excess_over_pool,
    seats_from_pool,
    weight_of,
)


def test_seats_follow_from_the_academic_pool():
    assert seats_from_pool(Decimal("5000000.00"), Decimal("1500.00")) == 3333
    assert seats_from_pool(Decimal("2999.99"), Decimal("1500.00")) == 1
    with pytest.raises(ValueError):
        seats_from_pool(Decimal("100.00"), Decimal("0.00"))


def test_parts_sum_exactly_to_the_pool_for_seats_and_fen():
    units = [Claimant(f"U{i:02d}", headcount) for i, headcount in enumerate([70_123, 3, 18_000, 999, 45_678, 1, 0])]
    seats = apportion(3333, units)
    fen = apportion(500_000_000, units)
    assert sum(seats.values()) == 3333
    assert sum(fen.values()) == 500_000_000
    assert seats["U06"] == 0 and fen["U06"] == 0  # zero headcount gets nothing


def test_largest_remainders_get_the_leftover():
    # exact shares 10 × 5/12 = 4.17, 10 × 4/12 = 3.33, 10 × 3/12 = 2.5 → floors 4,3,2; 1 left → C (0.5)
    assert apportion(10, [Claimant("A", 5), Claimant("B", 4), Claimant("C", 3)]) == {"A": 4, "B": 3, "C": 3}


def test_key_industry_weight_raises_the_share():
    plain = apportion(100, [Claimant("A", 100), Claimant("B", 100)])
    weighted = apportion(100, [Claimant("A", 100, Decimal("1.5")), Claimant("B", 100)])
    assert plain == {"A": 50, "B": 50}
    assert weighted == {"A": 60, "B": 40}


def test_ties_break_by_weighted_headcount_then_unit_id_whatever_the_order():
    # 3 seats over 2 equal units (1.5 each) and 1 larger: the remainders tie.
    units = [Claimant("B", 10), Claimant("A", 10), Claimant("C", 20)]
    results = {tuple(sorted(apportion(2, list(order)).items())) for order in permutations(units)}
    assert results == {(("A", 1), ("B", 0), ("C", 1))}
    # equal remainders and equal weighted headcount: the smaller unit id wins
    assert apportion(1, [Claimant("Z", 5), Claimant("M", 5)]) == {"M": 1, "Z": 0}


def test_pool_smaller_than_the_number_of_units():
    units = [Claimant(f"U{i}", 100) for i in range(5)]
    assert apportion(3, units) == {"U0": 1, "U1": 1, "U2": 1, "U3": 0, "U4": 0}
    assert apportion(0, units) == {f"U{i}": 0 for i in range(5)}


def test_no_weighted_headcount_apportions_nothing():
    assert apportion(10, [Claimant("A", 0), Claimant("B", 0)]) == {"A": 0, "B": 0}
    assert apportion(10, []) == {}


@pytest.mark.parametrize(
    "bad",
    [
        dict(pool=-1, claimants=[Claimant("A", 1)]),
        dict(pool=1, claimants=[Claimant("A", -1)]),
        dict(pool=1, claimants=[Claimant("A", 1, Decimal("-1"))]),
        dict(pool=1, claimants=[Claimant("A", 1), Claimant("A", 2)]),
    ],
)
def test_bad_input_is_refused(bad):
    with pytest.raises(ValueError):
        apportion(**bad)


def test_weight_of_a_unit():
    assert weight_of(False, Decimal("2"), Decimal("1.5")) == 1
    assert weight_of(True, None, Decimal("1.5")) == Decimal("1.5")
    assert weight_of(True, Decimal("2"), Decimal("1.5")) == 2


def test_usage_and_excess():
    usage = Usage(allocated=10, reserved=3, consumed=2, spent=1)
    assert (usage.in_use, usage.available) == (6, 4)
    assert excess_over_pool(Decimal("10.00"), Decimal("8.00")) == Decimal("2.00")
    assert excess_over_pool(5, 8) == 0


def test_china_date_is_the_guangzhou_calendar_day():
    from datetime import datetime

    from servicekit.clock import china_date

    assert china_date(datetime(2014, 1, 15, 16, 30, tzinfo=UTC)) == date(2014, 1, 16)
    assert china_date(datetime(2014, 1, 15, 15, 59, tzinfo=UTC)) == date(2014, 1, 15)
