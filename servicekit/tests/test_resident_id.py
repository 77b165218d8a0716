"""The resident ID number checks that enrollment and the gateway share (GB 11643)."""

from __future__ import annotations

from datetime import date

import pytest

from servicekit.resident_id import InvalidPersonalData, age_on, check_digit, mask_resident_id, normalise_resident_id

TODAY = date(2026, 11, 30)
# GB 11643's own worked example: 11010519491231002 has the check character X.
STANDARD_EXAMPLE = "11010519491231002X"


def a_number(region="440106", born="19900307", sequence="123") -> str:
    first17 = region + born + sequence
    return first17 + check_digit(first17)


def test_the_check_character_of_the_standards_example():
    assert check_digit(STANDARD_EXAMPLE[:17]) == "X"


def test_a_valid_number_comes_back_trimmed_with_an_upper_case_x():
    number = next(n for n in (a_number(sequence=f"{s:03d}") for s in range(1000)) if n.endswith("X"))
    assert normalise_resident_id(f"  {number.lower()} ", TODAY) == number


@pytest.mark.parametrize(
    "value, reason",
    [
        ("44010619900307123", "18 characters"),
        ("4401061990030712345", "18 characters"),
        ("44010619900307123A", "18 characters"),
        (a_number(region="990106"), "region code"),
        (a_number(region="440006"[:2] + "0000"), "region code"),
        (a_number(born="19900230"), "not a real date"),
        (a_number(born="20150101"), "working age"),  # 11 years old
        (a_number(born="19500101"), "working age"),  # 76 years old
    ],
)
def test_what_is_wrong_is_said_without_repeating_the_number(value, reason):
    with pytest.raises(InvalidPersonalData, match=reason) as refused:
        normalise_resident_id(value, TODAY)
    assert value.strip() not in str(refused.value)


def test_every_single_digit_typo_is_caught_by_the_check_character():
    number = a_number()
    for position in range(17):
        for digit in "0123456789":
            if digit == number[position]:
                continue
            typo = number[:position] + digit + number[position + 1 :]
            with pytest.raises(InvalidPersonalData):
                normalise_resident_id(typo, TODAY)


def test_working_age_is_counted_to_the_birthday():
    assert age_on(date(2010, 12, 1), TODAY) == 15
    assert age_on(date(2010, 11, 30), TODAY) == 16
    assert normalise_resident_id(a_number(born="20101130"), TODAY)
    with pytest.raises(InvalidPersonalData, match="working age"):
        normalise_resident_id(a_number(born="20101201"), TODAY)


def test_the_public_mask_keeps_the_region_start_and_the_last_four():
    assert mask_resident_id(STANDARD_EXAMPLE) == "1101**********002X"
