"""The cost-sharing rules, exact to the fen (pure: no database, no broker)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.finance.rules import (
    CHARGE_LINES,
    FEE_LINES,
    CampaignPolicy,
    UnitPolicy,
    breakdown,
    payment_status,
    reshare,
    shared_split,
    with_charges,
)

D = Decimal
CAMPAIGN = CampaignPolicy(D("1500.00"), D("0.40"), {"电工": D("0.50")})


def fees(tuition: str, **others: str) -> dict[str, Decimal]:
    lines = {name: D("0.00") for name in FEE_LINES}
    lines["tuition_or_training"] = D(tuition)
    lines.update({name: D(value) for name, value in others.items()})
    return lines


def shares(line) -> tuple[str, str, str]:
    return str(line.federation), str(line.unit), str(line.employee)


def test_skills_training_fee_is_shared_4_4_2_and_the_appraisal_fee_is_the_employees():
    result = breakdown("skills", fees("2350.00", appraisal_exam="180.00"), "焊工", CAMPAIGN, UnitPolicy())
    training, appraisal = result.lines[0], result.lines[1]
    assert shares(training) == ("940.00", "940.00", "470.00")
    assert (appraisal.name, shares(appraisal)) == ("appraisal_exam", ("0.00", "0.00", "180.00"))
    assert (result.total, result.federation, result.unit, result.employee) == (
        D("2530.00"),
        D("940.00"),
        D("940.00"),
        D("650.00"),
    )


def test_only_the_shared_line_is_shared():
    result = breakdown(
        "academic",
        fees("5600.00", textbook="300.00", registration="80.00", entrance_test="50.00", appraisal_exam="120.00"),
        None,
        CAMPAIGN,
        UnitPolicy(),
    )
    assert [line.name for line in result.lines if line.federation or line.unit] == ["tuition_or_training"]
    assert all(line.employee == line.amount for line in result.lines if not line.shared)


def test_academic_default_unit_matches_the_federation_and_the_employee_pays_the_rest():
    assert shared_split("academic", D("5600.00"), None, CAMPAIGN, UnitPolicy()) == (
        D("1500.00"),
        D("1500.00"),
        D("2600.00"),
    )


@pytest.mark.parametrize(
    ("tuition", "expected"),
    [
        ("2000.00", ("1500.00", "500.00", "0.00")),  # the unit's match is capped at what remains
        ("1200.00", ("1200.00", "0.00", "0.00")),  # the subsidy is capped at the fee
        ("0.00", ("0.00", "0.00", "0.00")),
    ],
)
def test_academic_caps(tuition, expected):
    assert tuple(map(str, shared_split("academic", D(tuition), None, CAMPAIGN, UnitPolicy()))) == expected


def test_academic_fixed_and_percentage_unit_policies():
    fixed = UnitPolicy(academic_mode="fixed", academic_value=D("800.00"))
    assert shared_split("academic", D("5600.00"), None, CAMPAIGN, fixed) == (D("1500.00"), D("800.00"), D("3300.00"))
    assert shared_split("academic", D("1800.00"), None, CAMPAIGN, fixed) == (D("1500.00"), D("300.00"), D("0.00"))
    percent = UnitPolicy(academic_mode="percentage", academic_value=D("0.3333"))
    # 5600.01 × 0.3333 = 1866.483333 → 1866.48 (half-up to the fen)
    assert shared_split("academic", D("5600.01"), None, CAMPAIGN, percent) == (D("1500.00"), D("1866.48"), D("2233.53"))


def test_per_trade_override_raises_the_federation_rate_for_that_trade_only():
    assert shared_split("skills", D("2000.00"), "电工", CAMPAIGN, UnitPolicy()) == (
        D("1000.00"),
        D("800.00"),
        D("200.00"),
    )
    assert shared_split("skills", D("2000.00"), "焊工", CAMPAIGN, UnitPolicy()) == (
        D("800.00"),
        D("800.00"),
        D("400.00"),
    )


def test_half_fen_rounds_up_for_federation_and_unit_and_the_employee_takes_the_remainder():
    # 0.05 × 0.40 = 0.02 exactly; 0.03 × 0.5 = 0.015 → 0.02; unit capped at 0.01
    raised = CampaignPolicy(D("1500.00"), D("0.50"))
    assert shared_split("skills", D("0.03"), None, raised, UnitPolicy(skills_unit_rate=D("0.50"))) == (
        D("0.02"),
        D("0.01"),
        D("0.00"),
    )
    assert shared_split("skills", D("2350.05"), None, CAMPAIGN, UnitPolicy()) == (D("940.02"), D("940.02"), D("470.01"))


def test_a_unit_may_take_a_smaller_skills_share():
    assert shared_split("skills", D("2350.00"), None, CAMPAIGN, UnitPolicy(skills_unit_rate=D("0.25"))) == (
        D("940.00"),
        D("587.50"),
        D("822.50"),
    )


@pytest.mark.parametrize(
    "bad",
    [
        dict(academic_mode="fixed"),
        dict(academic_mode="match", academic_value=D("1.00")),
        dict(academic_mode="percentage", academic_value=D("1.5")),
        dict(academic_mode="fixed", academic_value=D("-1.00")),
        dict(skills_unit_rate=D("1.01")),
        dict(unit_share_timing="whenever"),
        dict(academic_mode="half"),
    ],
)
def test_inconsistent_unit_policies_are_refused(bad):
    with pytest.raises(ValueError):
        UnitPolicy(**bad)


def test_missing_or_negative_lines_are_refused():
    with pytest.raises(ValueError, match="missing"):
        breakdown("skills", {"tuition_or_training": D("1.00")}, None, CAMPAIGN, UnitPolicy())
    with pytest.raises(ValueError, match="negative"):
        breakdown("skills", fees("1.00", textbook="-1.00"), None, CAMPAIGN, UnitPolicy())


fen_amounts = st.integers(0, 5_000_000).map(lambda fen: D(fen) / 100)
rates = st.integers(0, 10_000).map(lambda basis_points: D(basis_points) / 10_000)
campaign_policies = st.builds(
    lambda subsidy, rate, electrician: CampaignPolicy(subsidy, rate, {"电工": electrician}),
    st.integers(0, 300_000).map(lambda fen: D(fen) / 100),
    rates,
    rates,
)
unit_policies = st.one_of(
    st.builds(lambda rate: UnitPolicy(academic_mode="match", skills_unit_rate=rate), rates),
    st.builds(
        lambda value, rate: UnitPolicy(academic_mode="fixed", academic_value=value, skills_unit_rate=rate),
        fen_amounts,
        rates,
    ),
    st.builds(
        lambda value, rate: UnitPolicy(academic_mode="percentage", academic_value=value, skills_unit_rate=rate),
        rates,
        rates,
    ),
)


@settings(max_examples=2000, deadline=None)
@given(
    fee=fen_amounts,
    campaign=campaign_policies,
    unit=unit_policies,
    kind_and_trade=st.sampled_from([("academic", None), ("skills", "电工"), ("skills", "焊工")]),
)
def test_property_shares_are_exact_non_negative_capped_and_sum_to_every_fee(fee, campaign, unit, kind_and_trade):
    kind, trade = kind_and_trade
    result = breakdown(kind, fees(str(fee), textbook="12.34"), trade, campaign, unit)
    for line in result.lines:
        parts = (line.federation, line.unit, line.employee)
        assert sum(parts) == line.amount
        assert all(part >= 0 and part == part.quantize(D("0.01")) for part in parts)
    federation = result.lines[0].federation
    if kind == "academic":
        assert federation == min(campaign.academic_subsidy, fee)
    else:
        assert abs(federation - fee * campaign.federation_rate(trade)) <= D("0.005")
    assert result.lines[0].unit <= fee - federation  # the unit never takes more than is left
    assert result.total == fee + D("12.34")


def test_every_small_fee_fen_by_fen_splits_exactly():
    for fen in range(3001):
        fee = D(fen) / 100
        for kind, trade in (("academic", None), ("skills", "电工"), ("skills", "焊工")):
            line = breakdown(kind, fees(str(fee)), trade, CAMPAIGN, UnitPolicy()).lines[0]
            assert (
                line.federation + line.unit + line.employee == fee
                and min(line.federation, line.unit, line.employee) >= 0
            )


def test_a_raised_rate_lifts_the_federation_share_and_the_unit_keeps_its_share_capped_at_what_is_left():
    before = breakdown("skills", fees("2350.00", appraisal_exam="180.00"), "焊工", CAMPAIGN, UnitPolicy())
    assert shares(reshare(before, D("0.45")).lines[0]) == ("1057.50", "940.00", "352.50")
    assert shares(reshare(before, D("0.70")).lines[0]) == ("1645.00", "705.00", "0.00")
    assert reshare(before, D("0.45")).lines[1:] == before.lines[1:]
    assert CAMPAIGN.raised({"电工": D("0.45"), "焊工": D("0.45")}).skills_rate_overrides == {
        "电工": D("0.50"),
        "焊工": D("0.45"),
    }  # a raise never lowers a trade's rate


def test_extra_charges_are_employee_only_lines_after_the_fees():
    base = breakdown("skills", fees("2350.00"), "焊工", CAMPAIGN, UnitPolicy())
    result = with_charges(base, {"practice": D("80.00"), "re_exam": D("180.00")})
    assert [(line.name, shares(line)) for line in result.lines[len(FEE_LINES) :]] == [
        ("re_exam", ("0.00", "0.00", "180.00")),
        ("practice", ("0.00", "0.00", "80.00")),
    ]
    with pytest.raises(ValueError, match="unknown"):
        with_charges(base, {"textbook": D("1.00")})
    with pytest.raises(ValueError, match="above zero"):
        with_charges(base, {"retake": D("0.00")})


@settings(max_examples=1000, deadline=None)
@given(
    fee=fen_amounts, campaign=campaign_policies, unit=unit_policies, lift=rates, trade=st.sampled_from(["电工", "焊工"])
)
def test_property_a_raise_recomputes_exactly_as_a_fresh_breakdown_at_the_raised_rate(fee, campaign, unit, lift, trade):
    before = breakdown("skills", fees(str(fee), appraisal_exam="180.00"), trade, campaign, unit)
    rate = max(lift, campaign.federation_rate(trade))
    after = reshare(before, rate)
    assert after == breakdown(
        "skills", fees(str(fee), appraisal_exam="180.00"), trade, campaign.raised({trade: rate}), unit
    )
    assert after.total == before.total
    assert after.federation >= before.federation and after.unit <= before.unit and after.employee <= before.employee


@settings(max_examples=500, deadline=None)
@given(
    fee=fen_amounts,
    unit=unit_policies,
    charges=st.dictionaries(st.sampled_from(CHARGE_LINES), st.integers(1, 1_000_000).map(lambda fen: D(fen) / 100)),
)
def test_property_charges_grow_only_the_employees_part_and_recording_them_again_changes_nothing(fee, unit, charges):
    base = breakdown("skills", fees(str(fee), textbook="12.34"), "焊工", CAMPAIGN, unit)
    result = with_charges(base, charges)
    assert (result.federation, result.unit) == (base.federation, base.unit)
    assert result.employee == base.employee + sum(charges.values(), D("0.00"))
    assert result.total == result.federation + result.unit + result.employee
    assert with_charges(result, charges) == result
    assert [line.name for line in result.lines] == [*FEE_LINES, *(name for name in CHARGE_LINES if name in charges)]


@pytest.mark.parametrize(("paid", "status"), [("2530.00", "full"), ("2000.00", "partial"), ("2600.00", "over")])
def test_payment_status_compares_what_is_paid_with_the_full_fees(paid, status):
    assert payment_status(D("2530.00"), D(paid)) == status
