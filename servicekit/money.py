"""Money: Decimal quantised to the fen, never float; parsed and shown as "1500.00"."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from marshmallow import ValidationError, fields

FEN = Decimal("0.01")


def money(value: str | int | Decimal) -> Decimal:
    """Exact amount in yuan; refuses floats and more than two decimals."""
    if isinstance(value, float):
        raise ValueError("money is never a float")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount != amount.quantize(FEN):
        raise ValueError(f"not an amount to the fen: {value!r}")
    return amount.quantize(FEN)


def round_half_up(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    return int(money(amount) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def show(amount: Decimal) -> str:
    return f"{money(amount):.2f}"


class Money(fields.Field):
    """API field: accepts "1500.00" (or an integer/exact decimal string), gives a Decimal; dumps "1500.00"."""

    def __init__(self, *, minimum: Decimal | None = Decimal("0"), metadata: dict | None = None, **kwargs):
        documented = {"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "1500.00"}
        super().__init__(metadata=documented | (metadata or {}), **kwargs)
        self.minimum = minimum

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (float, bool)):
            raise ValidationError('Give amounts as strings such as "1500.00", never as floating point numbers.')
        try:
            amount = money(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if self.minimum is not None and amount < self.minimum:
            raise ValidationError(f"Must be at least {self.minimum:.2f}.")
        return amount

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else show(value)
