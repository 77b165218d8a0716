"""One strict money type: exactly what a Numeric(14, 2) column holds, every refusal naming its rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from servicekit.i18n import translate
from servicekit.money import LARGEST, Money, money


class Fee(Schema):
    amount = Money(required=True)


class Adjustment(Schema):
    amount = Money(required=True, minimum=None)


class Subsidy(Schema):
    amount = Money(required=True, minimum=Decimal("0.01"), maximum=Decimal("5000.00"))


def refusal(schema: Schema, value) -> str:
    with pytest.raises(ValidationError) as refused:
        schema.load({"amount": value})
    [message] = refused.value.messages["amount"]
    return message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2350.00", "2350.00"), ("2350", "2350.00"), ("0.5", "0.50"), (2350, "2350.00"), ("007.10", "7.10")],
)
def test_amounts_in_yuan_to_the_fen(value, expected):
    assert Fee().load({"amount": value})["amount"] == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        (2350.0, "never as a floating point number"),
        (True, "never as a floating point number"),
        (None, "Field may not be null."),
        ("", "Give an amount."),
        (" 12.00", "no spaces"),
        ("12.00 ", "no spaces"),
        ("1 000.00", "no spaces"),
        ("+12", "no plus sign"),
        ("1_000.00", "only the digits 0-9"),
        ("1,000.00", "only the digits 0-9"),
        ("1e5", "only the digits 0-9"),
        ("1e100", "only the digits 0-9"),
        ("１２.００", "only the digits 0-9"),  # full-width digits
        ("١٢", "only the digits 0-9"),  # Arabic-Indic digits
        ("NaN", "only the digits 0-9"),
        ("Infinity", "only the digits 0-9"),
        ("12.", "only the digits 0-9"),
        (".5", "only the digits 0-9"),
        ("1.001", "at most two decimals"),
        ("-1.00", "Must not be negative."),
        ("1000000000000.00", "Must be at most 999999999999.99."),
        ("1" + "0" * 26, "Must be at most 999999999999.99."),
        ("9" * 5000, "Must be at most 999999999999.99."),
    ],
)
def test_anything_else_is_refused_saying_which_rule_it_breaks(value, rule):
    assert rule in refusal(Fee(), value)


def test_the_largest_amount_is_what_the_column_holds():
    assert Decimal("999999999999.99") == LARGEST
    assert Fee().load({"amount": "999999999999.99"})["amount"] == LARGEST


def test_negative_amounts_only_where_the_field_allows_them():
    assert Adjustment().load({"amount": "-12.50"})["amount"] == Decimal("-12.50")
    assert "at most" in refusal(Adjustment(), "-1000000000000")
    assert "-?" in Adjustment._declared_fields["amount"].metadata["pattern"]
    assert "-?" not in Fee._declared_fields["amount"].metadata["pattern"]


def test_a_fields_own_bounds_apply_too():
    assert refusal(Subsidy(), "0.00") == "Must be at least 0.01."
    assert refusal(Subsidy(), "5000.01") == "Must be at most 5000.00."


def test_every_refusal_reads_in_chinese_too():
    assert translate(refusal(Fee(), "1e5"), zh=True).startswith("金额只能由数字 0-9")
    assert translate(refusal(Subsidy(), "0.00"), zh=True) == "不能低于 0.01。"


def test_trusted_amounts_never_crash_on_what_decimal_cannot_quantise():
    for bad in ("1e100", "1e26", "NaN", "x"):
        with pytest.raises(ValueError):
            money(bad)
    assert money(Decimal("1500")) == Decimal("1500.00")
