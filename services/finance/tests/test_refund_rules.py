"""Refunds after a withdrawal, by the fee's breakdown (pure: no database, no broker)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.finance.rules import (
    CHARGE_LINES,
    FEE_LINES,
    REFUND_LINES,
    CampaignPolicy,
    Line,
    RefundPolicy,
    UnitPolicy,
    breakdown,
    recovered,
    refund,
    shrink,
    with_charges,
)

D = Decimal
CAMPAIGN = CampaignPolicy(D("1500.00"), D("0.40"))
FEES = {
    "tuition_or_training": D("2350.00"),
    "appraisal_exam": D("180.00"),
    "textbook": D("60.00"),
    "registration": D("20.00"),
    "entrance_test": D("0.00"),
}
SKILLS = breakdown("skills", FEES, "焊工", CAMPAIGN, UnitPolicy())


def amounts(result) -> dict[str, str]:
    return {line.name: str(line.amount) for line in result.back.lines if line.amount}


def test_before_admission_everything_paid_comes_back():
    result = refund(SKILLS, D("2610.00"), "before_admission", RefundPolicy(), frozenset())
    assert result.refunded == D("2610.00")
    assert result.after.total == 0
    assert (result.back.federation, result.back.unit, result.back.employee) == (D("940.00"), D("940.00"), D("730.00"))


def test_after_admission_only_the_lines_not_consumed_come_back():
    untouched = refund(SKILLS, D("2610.00"), "after_admission", RefundPolicy(), frozenset())
    assert amounts(untouched) == {"appraisal_exam": "180.00", "textbook": "60.00"}
    assert untouched.refunded == D("240.00")
    sat_the_exam = refund(SKILLS, D("2610.00"), "after_admission", RefundPolicy(), frozenset({"exam_taken"}))
    assert amounts(sat_the_exam) == {"textbook": "60.00"}
    both = refund(
        SKILLS, D("2610.00"), "after_admission", RefundPolicy(), frozenset({"exam_taken", "textbooks_issued"})
    )
    assert (amounts(both), both.refunded, both.after) == ({}, D("0.00"), SKILLS)


def test_only_what_was_paid_beyond_what_stays_due_is_paid_back():
    # paid 2400 of 2610; after admission 240 is no longer due: 2370 stays due, 30 comes back
    assert refund(SKILLS, D("2400.00"), "after_admission", RefundPolicy(), frozenset()).refunded == D("30.00")
    assert refund(SKILLS, D("2000.00"), "after_admission", RefundPolicy(), frozenset()).refunded == D("0.00")


def test_a_campaign_may_refund_half_the_training_fee_after_admission_exact_to_the_fen():
    policy = RefundPolicy(
        {
            "before_admission": {name: D("1") for name in REFUND_LINES},
            "after_admission": {"tuition_or_training": D("0.5")},
        }
    )
    odd = breakdown("skills", {**FEES, "tuition_or_training": D("2350.05")}, "焊工", CAMPAIGN, UnitPolicy())
    result = refund(odd, odd.total, "after_admission", policy, frozenset())
    [training] = [line for line in result.back.lines if line.amount]
    assert training.amount == D("1175.03")  # half of 2350.05, half-up
    kept = result.after.lines[0]
    assert (kept.amount, kept.federation + kept.unit + kept.employee) == (D("1175.02"), D("1175.02"))
    assert training.federation + kept.federation == odd.lines[0].federation


@pytest.mark.parametrize(
    "fractions",
    [
        {"before_admission": {}},
        {"before_admission": {"tuition": D("1")}, "after_admission": {}},
        {"before_admission": {"textbook": D("1.5")}, "after_admission": {}},
    ],
)
def test_inconsistent_refund_policies_are_refused(fractions):
    with pytest.raises(ValueError):
        RefundPolicy(fractions)


def test_the_refund_goes_first_where_reimbursements_were_paid_beyond_what_is_due():
    assert recovered(D("240.00"), D("0.00"), D("940.00")) == (D("0.00"), D("240.00"), D("0.00"), D("700.00"))
    assert recovered(D("2610.00"), D("940.00"), D("940.00")) == (D("940.00"), D("940.00"), D("730.00"), D("0.00"))


fen_amounts = st.integers(0, 2_000_000).map(lambda fen: D(fen) / 100)
fractions = st.integers(0, 10_000).map(lambda n: D(n) / 10_000)
policies = st.builds(
    lambda before, after: RefundPolicy({"before_admission": before, "after_admission": after}),
    st.dictionaries(st.sampled_from(REFUND_LINES), fractions),
    st.dictionaries(st.sampled_from(REFUND_LINES), fractions),
)


@settings(max_examples=1500, deadline=None)
@given(
    fees=st.fixed_dictionaries({name: fen_amounts for name in FEE_LINES}),
    charges=st.dictionaries(st.sampled_from(CHARGE_LINES), fen_amounts.filter(bool)),
    rate=fractions,
    unit_rate=fractions,
    kind=st.sampled_from(["academic", "skills"]),
    paid_fraction=st.integers(0, 120).map(lambda n: D(n) / 100),
    policy=policies,
    stage=st.sampled_from(["before_admission", "after_admission"]),
    consumed=st.frozensets(st.sampled_from(["exam_taken", "textbooks_issued"])),
)
def test_property_each_share_shrinks_exactly_to_the_fen_and_nothing_is_refunded_twice(
    fees, charges, rate, unit_rate, kind, paid_fraction, policy, stage, consumed
):
    base = with_charges(
        breakdown(kind, fees, None, CampaignPolicy(D("1500.00"), rate), UnitPolicy(skills_unit_rate=unit_rate)),
        charges,
    )
    paid = (base.total * paid_fraction).quantize(D("0.01"))
    result = refund(base, paid, stage, policy, consumed)
    for before, back, after in zip(base.lines, result.back.lines, result.after.lines, strict=True):
        assert back.amount + after.amount == before.amount
        for payer in ("federation", "unit", "employee"):
            part, kept = getattr(back, payer), getattr(after, payer)
            assert part >= 0 and kept >= 0 and part == part.quantize(D("0.01"))
            assert part + kept == getattr(before, payer)
        assert after.federation + after.unit + after.employee == after.amount
        if "exam_taken" in consumed and before.name == "appraisal_exam":
            assert back.amount == 0
    assert result.refunded == max(paid - result.after.total, D("0.00"))
    assert 0 <= result.refunded <= paid
    again = refund(
        result.after,
        paid - result.refunded,
        stage,
        RefundPolicy({s: {} for s in ("before_admission", "after_admission")}),
        consumed,
    )
    assert again.refunded == 0  # what is left, nothing refundable, refunds nothing


@settings(max_examples=1000, deadline=None)
@given(amount=fen_amounts, cut=st.integers(0, 100), federation=fractions, unit=fractions)
def test_property_a_shrunk_line_keeps_its_shares_in_proportion_within_a_fen(amount, cut, federation, unit):
    f = (amount * federation).quantize(D("0.01"))
    u = min((amount * unit).quantize(D("0.01")), amount - f)
    line = Line("tuition_or_training", amount, f, u, amount - f - u)
    smaller = (amount * cut / 100).quantize(D("0.01"))
    shrunk = shrink(line, smaller)
    assert shrunk.federation + shrunk.unit + shrunk.employee == smaller
    if amount:
        for payer in ("federation", "unit", "employee"):
            exact = getattr(line, payer) * smaller / amount
            assert abs(getattr(shrunk, payer) - exact) < D("0.01")
            assert getattr(shrunk, payer) <= getattr(line, payer)
