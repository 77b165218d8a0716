"""Whether an OpenAPI document is valid 3.1: its structure (the specification's own JSON Schema), every Schema
Object (the JSON Schema 2020-12 meta-schema: numeric bounds are numbers...), and unique operationIds."""

from __future__ import annotations

from collections import Counter

import jsonschema_rs
from schemathesis.specs.openapi.definitions import OPENAPI_31

METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options", "trace"})


def openapi_errors(document: dict) -> list[str]:
    errors = [
        str(error).splitlines()[0] for error in jsonschema_rs.Draft202012Validator(OPENAPI_31).iter_errors(document)
    ]
    for where, schema in _schemas(document):
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as error:
            errors.append(f"{where}: {str(error).splitlines()[0]}")
        except jsonschema_rs.ReferencingError:
            pass  # a $ref into the document's components, which are checked one by one
    ids = Counter(operation_ids(document))
    errors += [f"operationId {name} is used {count} times" for name, count in ids.items() if count > 1]
    errors += [
        f"{method.upper()} {path} has no operationId"
        for path, method, op in _operations(document)
        if "operationId" not in op
    ]
    return errors


def operation_ids(document: dict) -> list[str]:
    return [op["operationId"] for _path, _method, op in _operations(document) if "operationId" in op]


def _operations(document: dict):
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _schemas(document: dict):
    for name, schema in document.get("components", {}).get("schemas", {}).items():
        yield f"components.schemas.{name}", schema
    for path, method, operation in _operations(document):
        where = f"{method.upper()} {path}"
        for parameter in operation.get("parameters", []):
            if "schema" in parameter:
                yield f"{where} {parameter.get('name')}", parameter["schema"]
        for status, part in (("body", operation.get("requestBody", {})), *operation.get("responses", {}).items()):
            for media, content in part.get("content", {}).items():
                if "schema" in content:
                    yield f"{where} {status} {media}", content["schema"]
