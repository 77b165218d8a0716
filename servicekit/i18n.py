"""Chinese and English messages, from the project's babel catalogue (servicekit/locale/zh_CN/.../messages.po).

Messages are written in English in the code, marked with `_()` (or given to
`ValidationError` / `Problem`, which the extraction knows), and translated when
the answer is rendered, in the language the caller's Accept-Language prefers
(Chinese by default). A message with values in it keeps its template:
`_("At most {limit} rows per file.").format(limit=50_000)` is a `Text`, a str
whose English value is what the code sees, and which renders as
"每个文件最多 50000 行。" in Chinese. Marshmallow's own messages (required, not a
valid integer, length, range, one of, unknown field...) are made `Text`s when
servicekit is imported, so they translate the same way.

Field errors name the field as a person reads it: the catalogue translates each
field name in the context "field" ("amount" -> "金额"), and a Chinese message
starts with it ("金额：必须大于或等于 0.01。").

`./dev messages` brings the catalogue up to date with the code (new messages
come in untranslated); tests/test_messages.py fails while any is untranslated.
"""

from __future__ import annotations

import functools
import inspect
import io
import logging
from collections.abc import Iterator
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from marshmallow import Schema, fields, validate
from werkzeug import exceptions as http_errors

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
CATALOGUE = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
FIELD = "field"  # the catalogue context of field names
# Keys of an `errors` document that structure it rather than name a field.
STRUCTURAL_KEYS = frozenset({"errors", "rows", "_schema", "row"})


class Text(str):
    """An English message that remembers its template and the values formatted into it."""

    template: str
    stages: tuple

    def __new__(cls, template: str, *, _english: str | None = None, _stages: tuple = ()):
        text = super().__new__(cls, template if _english is None else _english)
        text.template, text.stages = template, _stages
        return text

    def format(self, *args, **kwargs) -> Text:
        return Text(self.template, _english=str.format(self, *args, **kwargs), _stages=(*self.stages, (args, kwargs)))

    def __reduce__(self):
        return (_rebuilt, (self.template, str(self), self.stages))


def _rebuilt(template: str, english: str, stages: tuple) -> Text:
    return Text(template, _english=english, _stages=stages)


def _(message: str) -> Text:
    """Mark a message for the catalogue; it is translated when the answer is rendered."""
    return message if isinstance(message, Text) else Text(message)


@functools.cache
def translations() -> NullTranslations:
    """The Chinese catalogue, compiled in memory from the .po (nothing to build at install or start)."""
    try:
        with CATALOGUE.open("rb") as po:
            catalog = read_po(po, locale="zh_CN")
    except FileNotFoundError:
        log.warning("no message catalogue at %s: messages stay in English", CATALOGUE)
        return NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries left out: an unchecked translation is not shown
    compiled.seek(0)
    return Translations(compiled)


def translate(message, zh: bool) -> str:
    """A message (str or Text) in Chinese, or as written in English."""
    if not zh or not isinstance(message, str):
        return message
    if not isinstance(message, Text):
        return translations().gettext(message)
    rendered = translations().gettext(message.template)
    try:
        for args, kwargs in message.stages:
            rendered = rendered.format(
                *(translate(a, zh) for a in args), **{k: translate(v, zh) for k, v in kwargs.items()}
            )
    except (IndexError, KeyError, ValueError):
        log.error("translation does not fit its template", extra={"msgid": message.template})
        return str(message)
    return rendered


def field_label(name: str, zh: bool) -> str:
    """A field's name as a person reads it ("resident_id" -> "身份证号"); in English the API's own name."""
    return str(translations().pgettext(FIELD, name)) if zh else name


def localise_errors(errors, zh: bool, field: str | None = None):
    """A problem's `errors` with every message translated; in Chinese each starts with its field's name."""
    if isinstance(errors, dict):
        return {key: localise_errors(value, zh, _field_of(key, field)) for key, value in errors.items()}
    if isinstance(errors, list | tuple):
        return [localise_errors(value, zh, field) for value in errors]
    if not isinstance(errors, str):
        return errors
    text = translate(errors, zh)
    if zh and field is not None:
        return f"{field_label(field, zh)}：{text}"
    return text


def _field_of(key, enclosing: str | None) -> str | None:
    if not isinstance(key, str) or key.isdigit() or key in STRUCTURAL_KEYS:
        return enclosing
    return key


# Marshmallow's and werkzeug's own messages, made Texts so they translate too.
# Validators format their messages when built: this runs when servicekit is imported, before any schema.


def library_messages() -> Iterator[str]:
    """Every message marshmallow's fields, schemas and validators and werkzeug's HTTP errors can give."""
    for owner, attribute in _message_slots():
        value = getattr(owner, attribute)
        yield from value.values() if isinstance(value, dict) else [value]


def _message_slots() -> Iterator[tuple[object, str]]:
    yield Schema, "_default_error_messages"
    for _name, cls in inspect.getmembers(fields, inspect.isclass):
        if issubclass(cls, fields.Field) and "default_error_messages" in vars(cls):
            yield cls, "default_error_messages"
    for _name, cls in inspect.getmembers(validate, inspect.isclass):
        if issubclass(cls, validate.Validator):
            for attribute, value in vars(cls).items():
                if attribute.startswith(("message", "default_message")) and isinstance(value, str):
                    yield cls, attribute
    for _name, cls in inspect.getmembers(http_errors, inspect.isclass):
        if issubclass(cls, http_errors.HTTPException) and isinstance(vars(cls).get("description"), str):
            yield cls, "description"


def _mark_library_messages() -> None:
    for owner, attribute in _message_slots():
        value = getattr(owner, attribute)
        if isinstance(value, dict):
            setattr(owner, attribute, {key: _(message) for key, message in value.items()})
        else:
            setattr(owner, attribute, _(value))


_mark_library_messages()
