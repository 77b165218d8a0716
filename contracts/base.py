"""The integration-event registry: one marshmallow schema per (type, version).

Producers validate strictly (the payload is exactly the contract); consumers
validate leniently (unknown fields are ignored) so additive changes by a newer
producer keep the version and never break an older consumer.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from functools import cache

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError

from . import fast

EVENT_TYPE = re.compile(r"^[a-z][a-z_]*\.[a-z][a-z_]*$")


class ContractViolation(ValueError):
    """An event payload that does not match its contract, or an unknown event."""

    def __init__(self, event_type: str, version: int, errors: dict | str):
        self.event_type, self.version, self.errors = event_type, version, errors
        super().__init__(f"{event_type} v{version}: {_flatten(errors)}")


@dataclass(frozen=True)
class Contract:
    type: str
    version: int
    producer: str
    schema: builtins.type[Schema]  # `type` alone names the field above


_REGISTRY: dict[tuple[str, int], Contract] = {}


def event(event_type: str, version: int, producer: str):
    """Class decorator registering a schema as the contract of one event version."""
    if not EVENT_TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} is not '<aggregate>.<past_tense_verb>'")

    def register(schema_cls: type[Schema]) -> type[Schema]:
        key = (event_type, version)
        existing = _REGISTRY.get(key)
        if existing and existing.schema is not schema_cls:
            raise ValueError(f"{event_type} v{version} is already registered")
        _REGISTRY[key] = Contract(event_type, version, producer, schema_cls)
        return schema_cls

    return register


def contract(event_type: str, version: int) -> Contract:
    try:
        return _REGISTRY[(event_type, version)]
    except KeyError:
        raise ContractViolation(event_type, version, "no such event type and version in contracts") from None


def latest_version(event_type: str) -> int:
    versions = [v for (t, v) in _REGISTRY if t == event_type]
    if not versions:
        raise ContractViolation(event_type, 0, "no such event type in contracts")
    return max(versions)


def contracts() -> list[Contract]:
    return sorted(_REGISTRY.values(), key=lambda c: (c.type, c.version))


def validate(event_type: str, version: int, data: object, *, strict: bool) -> None:
    """Raise ContractViolation unless `data` satisfies the contract.

    The payload itself is not converted: events travel as plain JSON values
    (money as strings with two decimals, dates as ISO strings).
    """
    schema, quick_check = _schema(event_type, version, strict)
    if not isinstance(data, dict):
        raise ContractViolation(event_type, version, "data must be a JSON object")
    if quick_check is not None:
        try:
            quick_check(data)
            return
        except fast.Unsure:
            pass  # marshmallow decides, and says why
    try:
        schema.load(data)
    except ValidationError as exc:
        raise ContractViolation(event_type, version, exc.normalized_messages()) from None


@cache
def _schema(event_type: str, version: int, strict: bool) -> tuple[Schema, fast.Check | None]:
    # Schemas are stateless once built; building one per message is the costly part.
    schema = contract(event_type, version).schema(unknown=RAISE if strict else EXCLUDE)
    try:
        return schema, fast.schema_check(schema)
    except fast.Uncompiled:
        return schema, None


def _flatten(errors: dict | list | str, prefix: str = "data") -> str:
    if isinstance(errors, dict):
        return "; ".join(_flatten(v, f"{prefix}.{k}") for k, v in errors.items())
    if isinstance(errors, list):
        return f"{prefix}: " + " ".join(str(e) for e in errors)
    return f"{prefix}: {errors}" if prefix != "data" else str(errors)
