"""Pure quota rules: apportionment, seats from a pool, windows, what is left to use.

No Flask, no SQL: every function takes plain values and is unit-tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

ONE = Decimal("1")


@dataclass(frozen=True)
class Claimant:
    """One first-level unit's claim on a pool: its headcount, weighted when in a key industry."""

    unit_id: str
    headcount: int
    weight: Decimal = ONE  # the key-industry weight; 1 for other units

    @property
    def weighted_headcount(self) -> Fraction:
        return Fraction(self.headcount) * Fraction(self.weight)


def apportion(pool: int, claimants: list[Claimant]) -> dict[str, int]:
    """Split an integer pool (seats, or money in fen) by the largest-remainder method.

    Each unit first gets the whole part of its exact share, pool × weighted
    headcount / total weighted headcount; what is left (fewer units than had a
    fraction) goes one each to the largest fractional remainders. Ties are
    broken, in this order, by the larger remainder, then the larger weighted
    headcount, then the smaller unit id, so the same input always gives the
    same answer. The parts add up exactly to the pool, unless no unit has any
    weighted headcount: then nothing can be apportioned and every part is 0.
    """
    if pool < 0:
        raise ValueError("a pool cannot be negative")
    if len({c.unit_id for c in claimants}) != len(claimants):
        raise ValueError("each unit may claim once")
    if any(c.headcount < 0 or c.weight < 0 for c in claimants):
        raise ValueError("headcounts and weights cannot be negative")
    total = sum((c.weighted_headcount for c in claimants), Fraction(0))
    if total == 0:
        return {c.unit_id: 0 for c in claimants}
    exact = {c.unit_id: pool * c.weighted_headcount / total for c in claimants}
    parts = {unit: int(share) for unit, share in exact.items()}  # floor: shares are never negative
    left = pool - sum(parts.values())
    ranked = sorted(claimants, key=lambda c: (-(exact[c.unit_id] - parts[c.unit_id]), -c.weighted_headcount, c.unit_id))
    for claimant in ranked[:left]:
        parts[claimant.unit_id] += 1
    return parts


def seats_from_pool(pool: Decimal, subsidy_per_student: Decimal) -> int:
    """Academic seats a pool pays for: whole students only (5,000,000 / 1,500 = 3,333)."""
    if subsidy_per_student <= 0:
        raise ValueError("the subsidy per student must be above zero")
    return int(pool // subsidy_per_student)


def weight_of(key_industry: bool, unit_weight: Decimal | None, campaign_weight: Decimal) -> Decimal:
    """A key-industry unit counts with its own weight, else the campaign's; any other unit with 1."""
    if not key_industry:
        return ONE
    return unit_weight if unit_weight is not None else campaign_weight


@dataclass(frozen=True)
class Usage:
    """One unit's use of one kind of quota (seats, or money in yuan)."""

    allocated: int | Decimal
    reserved: int | Decimal
    consumed: int | Decimal
    spent: int | Decimal

    @property
    def in_use(self):
        return self.reserved + self.consumed + self.spent

    @property
    def available(self):
        return self.allocated - self.in_use


def excess_over_pool(total, pool):
    """How much a total of allocation lines exceeds its pool (0 when within)."""
    return max(total - pool, 0 * pool)


def seats_covering(amount: Decimal, subsidy: Decimal) -> int:
    """The fewest academic seats whose subsidy covers `amount` (money a unit already received)."""
    if amount <= 0:
        return 0
    return int(-(-amount // subsidy))
