"""What every request's input must be before any code of ours sees it (services and the gateway alike).

- Text that PostgreSQL can store and UTF-8 can encode: no NUL character and no
  unpaired surrogate, in any JSON string (values and keys), query parameter,
  path, header value, form field or uploaded file's name. Each is refused with a
  422 naming the field, before any query runs.
- JSON of bounded shape, checked before the parser runs: at most MAX_JSON_DEPTH
  nested arrays/objects (deeper documents made the parser recurse until it
  crashed), number literals of at most MAX_NUMBER_LENGTH characters (a
  5,000-digit integer made int() raise), no NaN/Infinity (not JSON).

Spreadsheet cells are checked the same way by servicekit.tabular. The gateway's
proxy applies `text_fault` to what it forwards (paths, queries, headers).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from flask import Flask, request

from .errors import VALIDATION_FAILED, Problem, define_problem
from .i18n import _

MAX_JSON_DEPTH = 32
MAX_NUMBER_LENGTH = 40  # characters of one number literal: far beyond any amount, id or count we keep

INVALID_JSON = define_problem("invalid_json", 400, "The body is not JSON this API accepts", "请求内容不是可接受的 JSON")

NUL = _("Must not contain the NUL character (\\u0000).")
SURROGATE = _("Must not contain unpaired surrogates (\\ud800-\\udfff): that is not valid Unicode text.")
NUMBER_TOO_LONG = _("A number may have at most {limit} characters.")
NOT_A_JSON_NUMBER = _("NaN and Infinity are not JSON numbers.")

_SURROGATES = re.compile("[\ud800-\udfff]")
_JSON_STRINGS = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]++")


def text_fault(text: str) -> str | None:
    """Why this text cannot be taken (a NUL or an unpaired surrogate), or None."""
    if "\x00" in text:
        return NUL
    if _SURROGATES.search(text):
        return SURROGATE
    return None


def install_input_checks(app: Flask) -> None:
    """Check every request's path, query, headers, form fields and JSON body before its view runs."""
    app.before_request(check_request)


def check_request() -> None:
    errors = request_faults(request.path, request.args.items(multi=True), request.headers.items())
    for name, value in (request.view_args or {}).items():
        _note(errors, name, value)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for name, value in request.form.items(multi=True):
            _note(errors, name, value)
        for name, upload in request.files.items(multi=True):
            _note(errors, name, upload.filename or "")
    if errors:
        raise Problem(VALIDATION_FAILED, errors=errors)
    if request.is_json and request.content_length != 0:
        body = request.get_data(cache=True)
        if body:
            check_json(body)


def request_faults(path: str, query: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]]) -> dict:
    """Field errors for text in the path, query parameters and header values that cannot be taken."""
    errors: dict = {}
    if fault := text_fault(path):
        errors["path"] = [fault]
    for name, value in (*query, *headers):
        _note(errors, name, value)
    return errors


def check_json(body: bytes) -> object:
    """The parsed document, or a Problem: 400 when it is not JSON we take, 422 naming fields we cannot store."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(INVALID_JSON, _("The body is not UTF-8 text.")) from None
    if _deeper_than(text, MAX_JSON_DEPTH):
        raise Problem(
            INVALID_JSON, _("Arrays and objects may be nested at most {limit} deep.").format(limit=MAX_JSON_DEPTH)
        )
    try:
        document = json.loads(text, parse_int=_integer, parse_float=_fraction, parse_constant=_constant)
    except ValueError as exc:
        position = getattr(exc, "pos", None)
        raise Problem(
            INVALID_JSON, _("The body is not valid JSON (at character {position}).").format(position=position)
        ) from None
    errors: dict = {}
    _walk(document, (), errors)
    if errors:
        raise Problem(VALIDATION_FAILED, errors=errors)
    return document


def _deeper_than(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than `limit` (a scan, never recursion)."""
    depth = 0
    for bracket in _NOT_BRACKETS.sub("", _JSON_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _Refused:
    """A number the parser met but did not convert; the walk reports where it was."""

    def __init__(self, message: str):
        self.message = message


def _integer(literal: str):
    return (
        _Refused(NUMBER_TOO_LONG.format(limit=MAX_NUMBER_LENGTH)) if len(literal) > MAX_NUMBER_LENGTH else int(literal)
    )


def _fraction(literal: str):
    return (
        _Refused(NUMBER_TOO_LONG.format(limit=MAX_NUMBER_LENGTH))
        if len(literal) > MAX_NUMBER_LENGTH
        else float(literal)
    )


def _constant(_literal: str):
    return _Refused(NOT_A_JSON_NUMBER)


def _walk(document, path: tuple, errors: dict) -> None:
    """Every string (keys too) and refused number of the document, without recursion."""
    stack = [(document, path)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                fault = text_fault(key)
                if fault:
                    _add(errors, (*at, _printable(key)), fault)
                else:
                    stack.append((value, (*at, key)))
        elif isinstance(node, list):
            stack.extend((value, (*at, str(index))) for index, value in enumerate(node))
        elif isinstance(node, str):
            fault = text_fault(node)
            if fault:
                _add(errors, at, fault)
        elif isinstance(node, _Refused):
            _add(errors, at, node.message)


def _add(errors: dict, path: tuple, message: str) -> None:
    """Errors nested as marshmallow nests them: {"lines": {"3": {"exam": [message]}}}."""
    if not path:
        path = ("_schema",)
    for key in path[:-1]:
        errors = errors.setdefault(key, {})
    errors.setdefault(path[-1], []).append(message)


def _printable(key: str) -> str:
    """A key that cannot be stored, written with JSON escapes so the answer can name it."""
    return json.dumps(key)[1:-1]


def _note(errors: dict, name: str, value) -> None:
    if fault := text_fault(name):
        name = _printable(name)
    elif not isinstance(value, str) or not (fault := text_fault(value)):
        return
    if fault not in errors.setdefault(name, []):
        errors[name].append(fault)
