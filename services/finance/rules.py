"""Cost-sharing rules: who pays what of an enrolment's fees, exact to the fen.

Pure functions, no Flask and no SQL.

Which lines are shared
    academic: the tuition only; skills: the training fee only. Every other line
    (appraisal exam, textbook, registration, entrance test, and the extra
    charges an institution records later: re-exam, retake, practice) is the
    employee's alone.

How a shared line is split (the rounding rule)
    1. federation share first:
       academic: the campaign's subsidy per student, capped at the tuition;
       skills: fee × the federation rate (the trade's override, else the
       campaign's rate; a raise within the surplus lifts it), rounded half-up
       to the fen.
    2. unit share next, capped at what the federation leaves:
       academic: `match` the federation's amount (default), a `fixed` amount,
       or a `percentage` of the tuition rounded half-up;
       skills: fee × the unit rate (default 0.40) rounded half-up.
    3. the employee pays the remainder, so the three shares always sum to the
       fee exactly and none is ever negative.

Example: skills training fee 2350.00 at 40 % / 40 % → 940.00 / 940.00 / 470.00.

The employee first pays the institution every line in full; the federation's
share comes back to the employee from the unit's earmarked account when the
certificate is issued, the unit's share when the unit's policy says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from servicekit.money import round_half_up

ZERO = Decimal("0.00")
SHARED_LINE = "tuition_or_training"
FEE_LINES = ("tuition_or_training", "appraisal_exam", "textbook", "registration", "entrance_test")
CHARGE_LINES = ("re_exam", "retake", "practice")  # recorded by the institution after enrolment
PAYERS = ("federation", "unit", "employee")
ACADEMIC_UNIT_MODES = ("match", "fixed", "percentage")
UNIT_SHARE_TIMINGS = ("on_enrolment", "on_certification", "outside")
DEFAULT_SKILLS_UNIT_RATE = Decimal("0.40")


@dataclass(frozen=True)
class CampaignPolicy:
    academic_subsidy: Decimal
    skills_federation_rate: Decimal
    skills_rate_overrides: dict[str, Decimal] = field(default_factory=dict)

    def federation_rate(self, trade: str | None) -> Decimal:
        return self.skills_rate_overrides.get(trade or "", self.skills_federation_rate)

    def raised(self, raises: dict[str, Decimal]) -> CampaignPolicy:
        """The policy with finance's own per-trade raises: a raise only ever lifts the trade's rate."""
        overrides = dict(self.skills_rate_overrides)
        for trade, rate in raises.items():
            overrides[trade] = max(rate, self.federation_rate(trade))
        return CampaignPolicy(self.academic_subsidy, self.skills_federation_rate, overrides)


@dataclass(frozen=True)
class UnitPolicy:
    """A unit's own cost-sharing choice; the defaults are the programme's [decided] ones."""

    academic_mode: str = "match"
    academic_value: Decimal | None = None  # the fixed amount, or the percentage as a fraction of 1
    skills_unit_rate: Decimal = DEFAULT_SKILLS_UNIT_RATE
    unit_share_timing: str = "on_certification"

    def __post_init__(self):
        if self.academic_mode not in ACADEMIC_UNIT_MODES:
            raise ValueError(f"unknown academic mode {self.academic_mode!r}")
        if (self.academic_mode == "match") != (self.academic_value is None):
            raise ValueError("a fixed amount or a percentage needs a value; match takes none")
        if self.unit_share_timing not in UNIT_SHARE_TIMINGS:
            raise ValueError(f"unknown timing {self.unit_share_timing!r}")
        if not ZERO <= self.skills_unit_rate <= 1:
            raise ValueError("the skills unit rate is a fraction between 0 and 1")
        value = self.academic_value  # None only when matching (checked above)
        if self.academic_mode == "percentage" and value is not None and not ZERO <= value <= 1:
            raise ValueError("the academic percentage is a fraction between 0 and 1")
        if self.academic_mode == "fixed" and value is not None and value < 0:
            raise ValueError("the fixed academic amount cannot be negative")


@dataclass(frozen=True)
class Line:
    name: str
    amount: Decimal
    federation: Decimal
    unit: Decimal
    employee: Decimal

    @property
    def shared(self) -> bool:
        return self.name == SHARED_LINE


@dataclass(frozen=True)
class Breakdown:
    lines: tuple[Line, ...]

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def federation(self) -> Decimal:
        return sum((line.federation for line in self.lines), ZERO)

    @property
    def unit(self) -> Decimal:
        return sum((line.unit for line in self.lines), ZERO)

    @property
    def employee(self) -> Decimal:
        return sum((line.employee for line in self.lines), ZERO)


def split_shared(fee: Decimal, federation: Decimal, unit_wanted: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Federation capped at the fee, unit capped at what is left, employee the remainder."""
    federation = min(federation, fee)
    unit = min(unit_wanted, fee - federation)
    return federation, unit, fee - federation - unit


def academic_unit_share(policy: UnitPolicy, tuition: Decimal, federation: Decimal) -> Decimal:
    value = policy.academic_value
    if policy.academic_mode == "match" or value is None:  # UnitPolicy gives a value to every other mode
        return federation
    if policy.academic_mode == "fixed":
        return value
    return round_half_up(tuition * value)


def shared_split(
    kind: str, fee: Decimal, trade: str | None, campaign: CampaignPolicy, unit: UnitPolicy
) -> tuple[Decimal, Decimal, Decimal]:
    """(federation, unit, employee) of the one shared line of an enrolment."""
    if kind == "academic":
        federation = min(campaign.academic_subsidy, fee)
        return split_shared(fee, federation, academic_unit_share(unit, fee, federation))
    if kind == "skills":
        return split_shared(
            fee, round_half_up(fee * campaign.federation_rate(trade)), round_half_up(fee * unit.skills_unit_rate)
        )
    raise ValueError(f"unknown kind {kind!r}")


def breakdown(
    kind: str, fees: dict[str, Decimal], trade: str | None, campaign: CampaignPolicy, unit: UnitPolicy
) -> Breakdown:
    """The line-by-line breakdown of one enrolment's fees (every line of `FEE_LINES` present)."""
    missing = [name for name in FEE_LINES if name not in fees]
    if missing:
        raise ValueError(f"fee lines missing: {', '.join(missing)}")
    if any(fees[name] < 0 for name in FEE_LINES):
        raise ValueError("a fee cannot be negative")
    lines = []
    for name in FEE_LINES:
        amount = fees[name]
        if name == SHARED_LINE:
            federation, unit_share, employee = shared_split(kind, amount, trade, campaign, unit)
        else:
            federation, unit_share, employee = ZERO, ZERO, amount
        lines.append(Line(name, amount, federation, unit_share, employee))
    return Breakdown(tuple(lines))


def with_charges(base: Breakdown, charges: dict[str, Decimal]) -> Breakdown:
    """The breakdown's fee lines as they stand, then one employee-only line per kind of extra charge
    (`charges`: the charges of one kind summed). The shares of the fees do not move."""
    unknown = set(charges) - set(CHARGE_LINES)
    if unknown:
        raise ValueError(f"unknown charge lines: {', '.join(sorted(unknown))}")
    if any(amount <= 0 for amount in charges.values()):
        raise ValueError("a charge is above zero")
    fees = tuple(line for line in base.lines if line.name not in CHARGE_LINES)
    return Breakdown(
        fees + tuple(Line(name, charges[name], ZERO, ZERO, charges[name]) for name in CHARGE_LINES if name in charges)
    )


def reshare(base: Breakdown, federation_rate: Decimal) -> Breakdown:
    """A skills breakdown at a raised federation rate: the unit keeps the share it had, capped at what
    the federation now leaves, and the employee pays the remainder (the same rounding rule)."""

    def raised(line: Line) -> Line:
        federation, unit, employee = split_shared(line.amount, round_half_up(line.amount * federation_rate), line.unit)
        return Line(line.name, line.amount, federation, unit, employee)

    return Breakdown(tuple(raised(line) if line.shared else line for line in base.lines))


def payment_status(due: Decimal, paid: Decimal) -> str:
    """What the employee has paid the institution so far, against the full fees due."""
    if paid == due:
        return "full"
    return "partial" if paid < due else "over"


def deadline_status(untransferred: Decimal, days_left: int, warning_days: int) -> str:
    """How a unit's untransferred money stands against the year-end transfer deadline."""
    if untransferred <= 0:
        return "transferred"
    if days_left < 0:
        return "overdue"
    return "due_soon" if days_left <= warning_days else "open"


# Refunds after a withdrawal [decided]: the plan leaves refunds to the Ministry's rules (academic) and the
# institution's published terms (skills), so the federation sets, per campaign, which share of each line comes back
# at each stage; these are the defaults. Before admission everything paid comes back; after admission only the
# lines not yet consumed: the appraisal exam fee if no exam was sat, the textbook fee if no textbook was issued.
REFUND_STAGES = ("before_admission", "after_admission")
REFUND_LINES = FEE_LINES + CHARGE_LINES
CONSUMED_BY = {"appraisal_exam": "exam_taken", "textbook": "textbooks_issued"}  # a consumed line is never refunded
ONE = Decimal("1")


def default_refund_fractions() -> dict[str, dict[str, Decimal]]:
    return {
        "before_admission": {name: ONE for name in REFUND_LINES},
        "after_admission": {name: ONE if name in CONSUMED_BY else ZERO for name in REFUND_LINES},
    }


@dataclass(frozen=True)
class RefundPolicy:
    """Per stage, the fraction (0 to 1) of each line refunded; a line the policy does not name is not refunded."""

    fractions: dict[str, dict[str, Decimal]] = field(default_factory=default_refund_fractions)

    def __post_init__(self):
        if set(self.fractions) != set(REFUND_STAGES):
            raise ValueError(f"a refund policy names the stages {', '.join(REFUND_STAGES)}")
        for stage in self.fractions.values():
            unknown = set(stage) - set(REFUND_LINES)
            if unknown:
                raise ValueError(f"unknown lines: {', '.join(sorted(unknown))}")
            if any(not ZERO <= value <= ONE for value in stage.values()):
                raise ValueError("a refunded fraction is between 0 and 1")

    def fraction(self, stage: str, line: str, consumed: frozenset[str]) -> Decimal:
        if CONSUMED_BY.get(line) in consumed:
            return ZERO
        return self.fractions[stage].get(line, ZERO)


def shrink(line: Line, amount: Decimal) -> Line:
    """The line at a smaller amount, its shares scaled down by the largest remainder to the fen: they add up
    to the new amount exactly and none grows (so what each payer gets back is never negative)."""
    if not ZERO <= amount <= line.amount:
        raise ValueError("a line shrinks to an amount between zero and itself")
    if amount == line.amount:
        return line
    parts = (line.federation, line.unit, line.employee)
    cents = int(amount * 100)
    exact = [Decimal(int(part * 100)) * cents / Decimal(int(line.amount * 100)) for part in parts]
    floors = [int(value) for value in exact]  # all non-negative: int() floors
    order = sorted(range(3), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: cents - sum(floors)]:
        floors[i] += 1
    federation, unit, employee = (Decimal(value) / 100 for value in floors)
    return Line(line.name, amount, federation, unit, employee)


@dataclass(frozen=True)
class Refund:
    back: Breakdown  # what each line gives back, split by payer
    after: Breakdown  # the breakdown once refunded
    refunded: Decimal  # money the institution pays back: what was paid beyond what is still due


def refund(base: Breakdown, paid: Decimal, stage: str, policy: RefundPolicy, consumed: frozenset[str]) -> Refund:
    """A withdrawn enrolment's refund: each line shrinks by its refunded fraction (rounded half-up to the fen),
    its shares scaled down with it; the institution pays back what the employee paid beyond the new total."""
    if stage not in REFUND_STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    kept, given_back = [], []
    for line in base.lines:
        back = round_half_up(line.amount * policy.fraction(stage, line.name, consumed))
        after = shrink(line, line.amount - back)
        kept.append(after)
        given_back.append(
            Line(
                line.name,
                back,
                line.federation - after.federation,
                line.unit - after.unit,
                line.employee - after.employee,
            )
        )
    after_breakdown = Breakdown(tuple(kept))
    return Refund(Breakdown(tuple(given_back)), after_breakdown, max(paid - after_breakdown.total, ZERO))


def recovered(refunded: Decimal, federation_owed_back: Decimal, unit_owed_back: Decimal) -> tuple[Decimal, ...]:
    """Where the refunded money goes: first back to the federation's earmarked account what it reimbursed beyond
    its share now, then to the unit what it reimbursed beyond its share now, the rest to the employee; what the
    refund cannot cover stays to recover from the employee. (federation, unit, employee, left to recover)."""
    federation = min(federation_owed_back, refunded)
    unit = min(unit_owed_back, refunded - federation)
    left = federation_owed_back - federation + unit_owed_back - unit
    return federation, unit, refunded - federation - unit, left
