"""Field types and parts shared by the event contracts.

Payloads are plain JSON, so these fields accept only the JSON shape of a value:
marshmallow's own fields would also accept "5" for an integer, "yes" for a
boolean or a date object for a date, which a producer must never send.
"""

from __future__ import annotations

import re
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

KINDS = ("academic", "skills")


class Money(fields.String):
    """An amount in CNY as a string with exactly two decimals, e.g. "1500.00"."""

    PATTERN = re.compile(r"^-?(0|[1-9]\d*)\.\d{2}$")
    default_error_messages = {"money": 'Not an amount with exactly two decimals, e.g. "1500.00".'}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.PATTERN.match(text):
            raise self.make_error("money")
        return text


def not_blank(value: str) -> None:
    if not value.strip():
        raise ValidationError("Must not be blank.")


def non_negative(value: str) -> None:
    if Decimal(value) < 0:
        raise ValidationError("Must not be negative.")


def positive(value: str) -> None:
    if Decimal(value) <= 0:
        raise ValidationError("Must be greater than zero.")


def Code(**kwargs) -> fields.String:
    """An id that may be a code (units, institutions, programmes, employees): a non-blank string."""
    return fields.String(validate=[validate.Length(max=64), not_blank], **kwargs)


def Text(max_length: int = 500, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length), not_blank], **kwargs)


def MaskedName(**kwargs) -> fields.String:
    """A person's name with all but its first and last characters hidden ("张*明", "李*")."""
    return fields.String(
        validate=[
            validate.Length(min=2, max=30),
            validate.Regexp(r"^[^*\s][^\s]*\*[^\s]*$", error="Must be a masked name, e.g. 张*明."),
        ],
        **kwargs,
    )


def Kind(**kwargs) -> fields.String:
    return fields.String(validate=validate.OneOf(KINDS), **kwargs)


def Amount(*, above_zero: bool = False, **kwargs) -> Money:
    return Money(validate=positive if above_zero else non_negative, **kwargs)


def Revision(**kwargs) -> Int:
    """The aggregate's version: consumers ignore an event older than what they hold."""
    return Int(validate=validate.Range(min=1), **kwargs)


class Int(fields.Integer):
    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):  # bool is an int subclass; JSON true is not a count
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Bool(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class _JsonString(fields.Field):
    """Mixin: the value must arrive as a JSON string, not an already parsed object."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid", input=value, obj_type="ISO string")
        return super()._deserialize(value, attr, data, **kwargs)


class Date(_JsonString, fields.Date):
    """An ISO calendar date, "2013-11-01" (Python would also read "20131101")."""

    PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not self.PATTERN.match(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Timestamp(_JsonString, fields.AwareDateTime):
    """An ISO datetime with its UTC offset, e.g. "2014-03-02T10:00:00+08:00"."""


class UUID(fields.UUID):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid_uuid")
        return super()._deserialize(value, attr, data, **kwargs)


class DecimalString(fields.String):
    """A decimal number as a string ("0.40", "87.5"), within optional bounds."""

    PATTERN = re.compile(r"^-?(0|[1-9]\d*)(\.\d{1,4})?$")
    default_error_messages = {
        "decimal": 'Not a decimal number as a string, e.g. "0.40".',
        "range": "Must be between {minimum} and {maximum}.",
    }

    def __init__(self, minimum: str | None = None, maximum: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.minimum = None if minimum is None else Decimal(minimum)
        self.maximum = None if maximum is None else Decimal(maximum)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not self.PATTERN.match(text):
            raise self.make_error("decimal")
        number = Decimal(text)
        if (self.minimum is not None and number < self.minimum) or (self.maximum is not None and number > self.maximum):
            raise self.make_error("range", minimum=self.minimum, maximum=self.maximum)
        return text


def Rate(**kwargs) -> DecimalString:
    """A share as a fraction of 1: "0.40" is 40 %."""
    return DecimalString(minimum="0", maximum="1", **kwargs)


class Part(fields.Nested):
    """A nested object that follows the top-level strictness.

    marshmallow does not pass `unknown` down to nested schemas, so a lenient
    consumer would still reject a field a newer producer added inside a part.
    """

    def _load(self, value, partial=None):
        try:
            root = self.root
            assert root is not None  # bound: a nested field loads inside its schema
            return self.schema.load(value, unknown=root.unknown, partial=partial)
        except ValidationError as error:
            raise ValidationError(error.messages, valid_data=error.valid_data) from error


class FeeLines(Schema):
    """An institution's published fee standard, one line per fee; a line not charged is "0.00"."""

    tuition_or_training = Amount(required=True)
    appraisal_exam = Amount(required=True)
    textbook = Amount(required=True)
    registration = Amount(required=True)
    entrance_test = Amount(required=True)
