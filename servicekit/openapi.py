"""How every service (and the gateway's own routes) documents itself: valid OpenAPI 3.1 that tools can trust.

- Every operation has a stable, unique operationId, `<service>_<view function>`
  (client generators name their methods after it).
- Decimal fields that travel as strings ("0.40") are documented as such, and
  their bounds are JSON numbers (apispec wrote Decimal bounds as strings, which
  made the merged document invalid).
- Every number a request may carry (body, query, path) is bounded: its schema
  has a minimum and a maximum, integers within what an Integer (int32) or
  BigInteger (int64) column holds. An unbounded one stops the app from being
  built (`unbounded_inputs`), so a new field cannot forget its column's limits.
- Every list (its query takes limit and cursor: servicekit.paging) declares its answer's
  Link and X-Total-Count headers.
"""

from __future__ import annotations

from decimal import Decimal

from apispec import BasePlugin
from marshmallow import Schema, fields, validate
from werkzeug.routing import IntegerConverter

from .paging import document_list_headers

INT64 = (-(2**63), 2**63 - 1)
DECIMAL_TEXT = r"^-?[0-9]+(\.[0-9]+)?$"
REQUEST_LOCATIONS = frozenset({"query", "path", "header", "cookie"})
METHODS = frozenset({"get", "put", "post", "delete", "patch"})


class Int32Converter(IntegerConverter):
    """`<int:...>` in a route: at most what an Integer column holds (a longer number matches no route: 404)."""

    regex = r"\d{1,10}"

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


class Conventions(BasePlugin):
    """Per operation: the operationId `<service>_<function>` (with `_<method>` when one view answers several
    methods), and form fields beside an uploaded file documented in the multipart body, where OpenAPI 3
    wants them (flask-smorest writes a second body location as Swagger 2's `formData` parameters)."""

    def __init__(self, service: str):
        self.service = service
        self.taken: dict[str, str] = {}

    def operation_helper(self, path=None, operations=None, rule=None, **kwargs) -> None:
        if rule is None or not operations:
            return
        function = rule.endpoint.rsplit(".", 1)[-1]
        for method, operation in operations.items():
            name = operation.setdefault(
                "operationId", f"{self.service}_{function}" + (f"_{method}" if len(operations) > 1 else "")
            )
            where = f"{method.upper()} {path}"
            if self.taken.setdefault(name, where) != where:
                raise ValueError(f"operationId {name} of {where} is taken by {self.taken[name]}")
            _form_fields_in_body(operation)
            document_list_headers(operation)


def _form_fields_in_body(operation: dict) -> None:
    fields_ = [p for p in operation.get("parameters", []) if p.get("in") == "formData"]
    if not fields_:
        return
    operation["parameters"] = [p for p in operation["parameters"] if p.get("in") != "formData"]
    content = operation.setdefault("requestBody", {"required": True}).setdefault("content", {})
    body = content.setdefault("multipart/form-data", {})
    extra = {
        "type": "object",
        "properties": {p["name"]: p.get("schema", {}) for p in fields_},
        "required": [p["name"] for p in fields_ if p.get("required")],
    }
    if not extra["required"]:
        del extra["required"]
    body["schema"] = {"allOf": [body["schema"], extra]} if "schema" in body else extra


def decimals_as_documented(self, field, ret, **kwargs) -> dict:
    """An apispec attribute function: bounds as JSON numbers; as_string Decimals as strings (or numbers, accepted)."""
    changes: dict[str, object] = {
        key: _number(ret[key]) for key in ("minimum", "maximum") if isinstance(ret.get(key), Decimal | str)
    }
    if isinstance(field, fields.Decimal) and field.as_string:
        kinds = ret.get("type", "number")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        changes["type"] = ["string", "number", *(kind for kind in kinds if kind not in ("string", "number"))]
        changes.setdefault("pattern", DECIMAL_TEXT)
    return changes


def _number(value: Decimal | str) -> int | float:
    """apispec writes a Decimal field's bounds as the field dumps them: Decimals, or strings when as_string."""
    value = Decimal(value)
    return int(value) if value == value.to_integral_value() else float(value)


def unbounded_inputs(spec: dict) -> list[str]:
    """Every number a request may carry without a minimum and a maximum (or with integer bounds beyond int64)."""
    components = spec.get("components", {})
    found: list[str] = []
    for path, item in spec.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
                parameter = _resolved(parameter, components)
                if parameter.get("in") in REQUEST_LOCATIONS:
                    _check(parameter.get("schema", {}), f"{where} {parameter['name']}", components, found, set())
            for content in operation.get("requestBody", {}).get("content", {}).values():
                _check(content.get("schema", {}), f"{where} body", components, found, set())
    return sorted(set(found))


def _check(schema: dict, where: str, components: dict, found: list[str], seen: set[str]) -> None:
    ref = schema.get("$ref")
    if ref is not None:
        if ref in seen:
            return
        seen = seen | {ref}
        schema = _resolved(schema, components)
    if schema.get("readOnly"):
        return  # dump_only: never taken from a request
    kinds = schema.get("type", [])
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if {"integer", "number"} & set(kinds):
        low, high = (
            schema.get("minimum", schema.get("exclusiveMinimum")),
            schema.get("maximum", schema.get("exclusiveMaximum")),
        )
        if not isinstance(low, int | float) or not isinstance(high, int | float):
            found.append(f"{where}: no minimum and maximum")
        elif "integer" in kinds and not (INT64[0] <= low and high <= INT64[1]):
            found.append(f"{where}: integer bounds beyond int64")
    for name, sub in schema.get("properties", {}).items():
        _check(sub, f"{where}.{name}", components, found, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            _check(schema[key], f"{where}[]", components, found, seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            _check(sub, where, components, found, seen)


def _resolved(node: dict, components: dict) -> dict:
    while "$ref" in node:
        kind, _, name = node["$ref"].removeprefix("#/components/").partition("/")
        node = components.get(kind, {}).get(name, {})
    return node


def unbounded_fields(schema: Schema) -> list[str]:
    """The same rule for a schema no route documents (a spreadsheet's rows): numbers it loads without bounds."""
    found = []
    for name, field in schema.fields.items():
        while isinstance(field, fields.List):
            field = field.inner
        if field.dump_only:
            continue
        if isinstance(field, fields.Nested):
            found += [f"{name}.{inner}" for inner in unbounded_fields(field.schema)]
        elif isinstance(field, fields.Number):
            ranges = [v for v in field.validators if isinstance(v, validate.Range)]
            if not any(r.min is not None for r in ranges) or not any(r.max is not None for r in ranges):
                found.append(name)
    return found
