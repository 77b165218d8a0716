"""Money: Decimal quantised to the fen, never float; parsed and shown as "1500.00".

Every service keeps amounts in Numeric(14, 2) columns, so the API's Money field
takes exactly what such a column holds: an optional minus sign (only where the
field allows negative amounts), ASCII digits, at most two decimals, at most
999,999,999,999.99. Anything else is a field error saying which rule it breaks
(no spaces, plus signs, separators, exponents or full-width digits), so no
amount that the database would refuse, or that Decimal arithmetic cannot
quantise, gets past the schema.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marshmallow import ValidationError, fields

from .i18n import _

FEN = Decimal("0.01")
COLUMN_DIGITS, COLUMN_PLACES = 14, 2  # Numeric(14, 2)
LARGEST = Decimal(10 ** (COLUMN_DIGITS - COLUMN_PLACES)) - FEN  # 999999999999.99
WHOLE_DIGITS = COLUMN_DIGITS - COLUMN_PLACES

_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?", re.ASCII)

NOT_TEXT = _('Give the amount as a string such as "1500.00", never as a floating point number.')
EMPTY = _("Give an amount.")
SPACES = _("An amount has no spaces.")
PLUS = _("An amount has no plus sign.")
DIGITS = _(
    "An amount has only the digits 0-9 and one decimal point (no thousands separators, exponents or full-width digits)."
)
DECIMALS = _("An amount has at most two decimals (to the fen).")
NEGATIVE = _("Must not be negative.")
AT_LEAST = _("Must be at least {minimum}.")
AT_MOST = _("Must be at most {maximum}.")


def money(value: str | int | Decimal) -> Decimal:
    """Exact amount in yuan from trusted code (rules, events, the database); refuses floats and fractions of a fen."""
    if isinstance(value, float):
        raise ValueError("money is never a float")
    try:
        amount = Decimal(str(value).strip())
        exact = amount.is_finite() and amount == amount.quantize(FEN)
    except InvalidOperation:
        raise ValueError(f"not an amount to the fen: {value!r}") from None
    if not exact:
        raise ValueError(f"not an amount to the fen: {value!r}")
    return amount.quantize(FEN)


def parse_amount(value, *, negative: bool = False) -> Decimal:
    """An amount a person or system sent, or ValueError with the rule it breaks (a translatable message)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(NOT_TEXT)
    text = str(value)
    if not text:
        raise ValueError(EMPTY)
    if any(ch.isspace() for ch in text):
        raise ValueError(SPACES)
    if text.startswith("+"):
        raise ValueError(PLUS)
    match = _AMOUNT.fullmatch(text)
    if match is None:
        raise ValueError(DIGITS)
    sign, whole, fraction = match.groups()
    if fraction is not None and len(fraction) > COLUMN_PLACES:
        raise ValueError(DECIMALS)
    if sign and not negative:
        raise ValueError(NEGATIVE)
    if len(whole.lstrip("0")) > WHOLE_DIGITS:
        raise ValueError(AT_MOST.format(maximum=f"{LARGEST:.2f}"))
    return Decimal(text).quantize(FEN)


def round_half_up(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    return int(money(amount) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def show(amount: Decimal) -> str:
    return f"{money(amount):.2f}"


class Money(fields.Field):
    """API field: "1500.00" (a string, or a whole number) in, a Decimal out; dumps "1500.00".

    `minimum` None allows negative amounts (down to -LARGEST); `maximum` defaults to what the column holds.
    """

    def __init__(
        self,
        *,
        minimum: Decimal | None = Decimal("0"),
        maximum: Decimal = LARGEST,
        metadata: dict | None = None,
        **kwargs,
    ):
        self.minimum, self.maximum = minimum, min(maximum, LARGEST)
        self.negative = minimum is None or minimum < 0
        documented = {
            "type": "string",
            "pattern": rf"^{'-?' if self.negative else ''}[0-9]{{1,{WHOLE_DIGITS}}}(\.[0-9]{{1,2}})?$",
            "example": "1500.00",
            "description": self._bounds(),
        }
        super().__init__(metadata=documented | (metadata or {}), **kwargs)

    def _bounds(self) -> str:
        low = f"{self.minimum:.2f}" if self.minimum is not None else f"-{self.maximum:.2f}"
        return f'An amount in yuan as a string with at most two decimals, "{low}" to "{self.maximum:.2f}".'

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            amount = parse_amount(value, negative=self.negative)
        except ValueError as exc:
            raise ValidationError(exc.args[0]) from None
        if self.minimum is not None and amount < self.minimum:
            raise ValidationError(AT_LEAST.format(minimum=f"{self.minimum:.2f}"))
        if abs(amount) > self.maximum:
            raise ValidationError(AT_MOST.format(maximum=f"{self.maximum:.2f}"))
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else show(value)
