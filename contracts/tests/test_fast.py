"""The quick check never accepts what marshmallow refuses, and hands schema rules what marshmallow would.

Every contract's example is bent at every field, in every part and list item, into values a producer might
get wrong; for each bent payload, strict and lenient, the quick check must either agree with marshmallow's
load or step aside (Unsure).
"""

import copy
import uuid

import pytest
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema

import contracts
from contracts import fast
from contracts.common import Code, Part

from .test_contracts import EXAMPLES

ODD_VALUES = [
    None,
    True,
    False,
    0,
    1,
    -1,
    2101,
    1.5,
    "",
    " ",
    "x",
    "0",
    "1",
    "1.5",
    "0.40",
    "1.4",
    "-1.00",
    "0.00",
    "1500.00",
    "01500.00",
    "1e3",
    "2014-02-30",
    "2014-1-1",
    "20140101",
    "2014-01-01",
    "2015-06-30",
    "2014-01-01T10:00:00+08:00",
    "2014-01-01T10:00:00",
    str(uuid.uuid4()),
    uuid.uuid4().hex,
    f"{{{uuid.uuid4()}}}",
    f"urn:uuid:{uuid.uuid4()}",
    [],
    {},
    ["x"],
    [{}],
    "x" * 65,
    "x" * 501,
    "张*明",
    "张三",
    "academic",
    "skills",
    "federation",
    "settled",
    "initial",
    "dazhuan",
    "full",
]


def _paths(value, path=()):
    """Every key of every object in the payload, with its parts and list items."""
    if isinstance(value, dict):
        yield path  # the object itself, for an unknown key
        for key, inner in value.items():
            yield (*path, key)
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, (*path, index))


def _bent(data, path):
    """The payload with the value at `path` replaced by each odd value, removed, or (objects) given an extra key."""

    def at(payload):
        *parent_path, last = path
        parent = payload
        for step in parent_path:
            parent = parent[step]
        return parent, last

    if not path or isinstance(_get(data, path), dict):
        extended = copy.deepcopy(data)
        target = _get(extended, path) if path else extended
        target["added_by_a_newer_producer"] = "x"
        yield extended
    if not path:
        return
    for odd in ODD_VALUES:
        bent = copy.deepcopy(data)
        parent, last = at(bent)
        parent[last] = copy.deepcopy(odd)
        yield bent
    if isinstance(path[-1], str):
        removed = copy.deepcopy(data)
        parent, last = at(removed)
        del parent[last]
        yield removed


def _get(data, path):
    for step in path:
        data = data[step]
    return data


def _verdicts(schema, check, payload):
    try:
        expected = schema.load(copy.deepcopy(payload))
    except ValidationError:
        expected = ValidationError
    try:
        quick = check(payload)
    except fast.Unsure:
        quick = fast.Unsure
    return expected, quick


@pytest.fixture(params=[RAISE, EXCLUDE], ids=["strict", "lenient"])
def unknown(request):
    return request.param


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_every_contract_has_a_quick_check_that_accepts_its_example_as_marshmallow_loads_it(event_type, unknown):
    schema = contracts.contract(event_type, 1).schema(unknown=unknown)
    check = fast.schema_check(schema)  # Uncompiled would mean a contract checked by marshmallow alone: slow
    assert check(copy.deepcopy(EXAMPLES[event_type])) == schema.load(copy.deepcopy(EXAMPLES[event_type]))


@pytest.mark.parametrize("event_type", sorted(EXAMPLES))
def test_the_quick_check_never_accepts_a_bent_payload_marshmallow_refuses(event_type, unknown):
    schema = contracts.contract(event_type, 1).schema(unknown=unknown)
    check = fast.schema_check(schema)
    example = EXAMPLES[event_type]
    refused = accepted = 0
    for path in _paths(example):
        for payload in _bent(example, path):
            expected, quick = _verdicts(schema, check, payload)
            if quick is fast.Unsure:
                refused += expected is ValidationError
                continue
            assert expected is not ValidationError, f"quick check accepted what marshmallow refuses: {payload}"
            assert quick == expected, payload
            accepted += 1
    assert refused and accepted  # the bending reached both sides of the contract


def test_validate_still_names_what_is_wrong():
    payload = copy.deepcopy(EXAMPLES["quota.reserved"])
    payload["seats"] = "1"
    with pytest.raises(contracts.ContractViolation, match="seats"):
        contracts.validate("quota.reserved", 1, payload, strict=True)


class _Line(Schema):
    code = Code(required=True)
    count = fields.Integer(strict=True, validate=validate.Range(min=1))  # not one of the quick kinds

    @validates_schema
    def _not_thirteen(self, data, **kwargs):
        if data.get("count") == 13:
            raise ValidationError("unlucky", "count")


class _Order(Schema):
    line = Part(_Line, required=True)
    email = fields.Email()


@pytest.mark.parametrize(
    "payload, accepted",
    [
        ({"line": {"code": "A", "count": 2}, "email": "a@example.org"}, True),
        ({"line": {"code": "A", "count": 13}}, False),  # a part's rule
        ({"line": {"code": "A", "count": 0}}, False),  # a validator of a field marshmallow deserializes
        ({"line": {"code": "A"}, "email": "not an address"}, False),
        ({"line": {"code": " "}}, False),
    ],
)
def test_field_kinds_it_was_not_taught_are_left_to_marshmallow_field_by_field(payload, accepted):
    check = fast.schema_check(_Order(unknown=RAISE))
    if accepted:
        assert check(payload) == _Order().load(payload)
    else:
        with pytest.raises(fast.Unsure):
            check(payload)


def test_a_schema_that_transforms_its_input_is_left_to_marshmallow():
    class Trimmed(Schema):
        code = Code(required=True)

        @pre_load
        def _trim(self, data, **kwargs):
            return {k: v.strip() for k, v in data.items()}

    with pytest.raises(fast.Uncompiled):
        fast.schema_check(Trimmed())
