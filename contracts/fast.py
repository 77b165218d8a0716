"""A quick acceptance of event payloads, built from the contracts' own marshmallow schemas.

Every event is checked where it is produced and again where it is consumed, a dozen times per registration
across the services, and marshmallow's generic machinery costs a few microseconds a field: checks were a
quarter of the workers' time. The check built here walks the same fields and calls the same validators and
schema rules, without that machinery, and it only ever *accepts*: whatever it is unsure of (a value that
fails, a field kind it was not taught) goes to marshmallow, whose verdict and messages stand. The schemas stay
the one source of truth; the contract tests hold that this never accepts what marshmallow refuses and that it
hands schema rules the same values marshmallow would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, cast

from marshmallow import RAISE, Schema, ValidationError, fields, missing
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from .common import UUID as UuidField
from .common import Bool, Date, Int, Money, Part

Check = Callable[[Any], Any]


class Unsure(Exception):
    """The quick check cannot vouch for a value: let marshmallow judge it."""


class Uncompiled(Exception):
    """A schema uses something the quick check does not know; marshmallow alone checks it."""


def schema_check(schema: Schema, unknown: str | None = None) -> Check:
    """A function that returns what `schema.load` would for a payload it accepts, and raises Unsure otherwise.

    `unknown` (the schema's own when not given) decides whether extra keys are refused (producers) or ignored
    (consumers), in its parts too, as `common.Part` does.
    """
    unknown = schema.unknown if unknown is None else unknown
    hooks = schema._hooks  # marshmallow's resolved decorators; there is no public accessor
    if hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES]:
        raise Uncompiled(f"{type(schema).__name__} transforms or checks fields in hooks")
    rules = []
    for name, wants_many, options in hooks[VALIDATES_SCHEMA]:
        if wants_many or options.get("pass_original"):
            raise Uncompiled(f"{type(schema).__name__}.{name} wants the collection or the original data")
        rules.append(getattr(schema, name))
    checks = []
    for name, field in schema.load_fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name):
            raise Uncompiled(f"{type(schema).__name__}.{name} is renamed")
        if field.load_default is not missing:
            raise Uncompiled(f"{type(schema).__name__}.{name} has a default")
        checks.append((name, field.required, field.allow_none, _field_check(field, unknown)))
    known = frozenset(schema.load_fields)
    refuse_unknown = unknown == RAISE
    partial = schema.partial

    def check(data):
        if type(data) is not dict or (refuse_unknown and not known.issuperset(data)):
            raise Unsure
        result: dict[str, Any] = {}
        for name, required, allow_none, check_value in checks:
            value = data.get(name, missing)
            if value is missing:
                if required:
                    raise Unsure
            elif value is None:
                if not allow_none:
                    raise Unsure
                result[name] = None
            else:
                result[name] = check_value(value)
        try:
            for rule in rules:
                rule(result, partial=partial, many=False, unknown=unknown)
        except ValidationError:
            raise Unsure from None
        return result

    return check


def _exactly(kind: type) -> Check:
    def check(value):
        if type(value) is not kind:  # an int is not a bool here: JSON true is not a count
            raise Unsure
        return value

    return check


def _money(value):
    if type(value) is not str or not Money.PATTERN.match(value):
        raise Unsure
    return value


def _date(value):
    if type(value) is not str or not Date.PATTERN.match(value):
        raise Unsure
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Unsure from None


def _uuid(value):
    if type(value) is not str:
        raise Unsure
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Unsure from None


# By exact class: a subclass may deserialize differently, so it is not assumed to behave like its parent.
_VALUES: dict[type, Check] = {
    fields.String: _exactly(str),
    Money: _money,
    Int: _exactly(int),
    Bool: _exactly(bool),
    Date: _date,
    UuidField: _uuid,
}


def _field_check(field: fields.Field, unknown: str) -> Check:
    if field.pre_load or field.post_load:
        raise Uncompiled(f"{field.name} transforms its value")
    kind = type(field)
    if kind is Part:
        part = cast(Part, field)
        if part.many:
            raise Uncompiled(f"{field.name} is a list of parts")
        convert = schema_check(part.schema, unknown)
    elif kind is fields.List:
        convert = _list_of(_field_check(cast(fields.List, field).inner, unknown))
    elif kind in _VALUES and (kind is not Date or cast(Date, field).format in (None, "iso")):
        convert = _VALUES[kind]
    else:
        return _by_marshmallow(field)  # whose deserialize runs the field's validators too
    return _validated(convert, field.validators)


def _list_of(check_item: Check) -> Check:
    def check(value):
        if type(value) is not list:
            raise Unsure
        return [check_item(item) for item in value]

    return check


def _by_marshmallow(field: fields.Field) -> Check:
    """A field kind with no quick check (a mapping, a timestamp, a bounded decimal): marshmallow's own
    deserialize of that one field, still far cheaper than the whole schema's load."""

    def check(value):
        try:
            return field.deserialize(value, field.name, None)
        except ValidationError:
            raise Unsure from None

    return check


def _validated(convert: Check, validators: list) -> Check:
    if not validators:
        return convert

    def check(value):
        value = convert(value)
        try:
            for validator in validators:
                # As marshmallow's And: a plain function that returns False has refused the value.
                if validator(value) is False:
                    raise Unsure
        except ValidationError:
            raise Unsure from None
        return value

    return check
