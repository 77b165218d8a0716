"""The message catalogue's template, from the code, and the command that brings the Chinese catalogue up to date.

    python -m servicekit.catalogue          # ./dev messages: new messages come in untranslated
    python -m servicekit.catalogue --check  # exit 1 listing every message without a Chinese translation

What needs translating:
- every message the code marks: `_("...")`, `ValidationError("...")`, `Problem(KIND, "...")`
  (found in the code's syntax tree, however nested; an f-string there cannot be translated and is reported);
- marshmallow's and werkzeug's own messages (servicekit.i18n.library_messages);
- the name of every field of every marshmallow schema, and every key of an `errors={...}`
  the code writes, in the context "field" (how a person reads it: "resident_id" -> "身份证号").
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import pkgutil
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po
from marshmallow import Schema

from .config import REPO_ROOT
from .i18n import CATALOGUE, FIELD, library_messages

# Where messages come from: the shared kit, the gateway and every service (never tests or migrations).
PACKAGES = ("servicekit", "gateway", *sorted(f"services.{p.name}" for p in (REPO_ROOT / "services").glob("*/")))
MESSAGE_ARGUMENT = {"_": 0, "ValidationError": 0, "Problem": 1}  # which argument of each call is a message
# Domain errors (servicekit.refusals) carry their detail as the first argument: the classes themselves, and the
# refusals a service defines from them (module constants in capitals, e.g. WRONG_STATUS("...")).
DOMAIN_ERRORS = frozenset(
    {"DomainError", "Invalid", "Malformed", "NotFound", "Conflict", "Forbidden", "Gone", "Unavailable"}
)
CONSTANT = re.compile(r"[A-Z][A-Z0-9]*_[A-Z0-9_]+")
PLACEHOLDER = re.compile(r"(?<!\{)\{([^{}]*)\}(?!\})")


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        root = REPO_ROOT / package.replace(".", "/")
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).parts
            if "tests" not in parts and "migrations" not in parts:
                yield path


def template() -> Catalog:
    """Every message and field name the catalogue must translate, with where each comes from."""
    catalog = Catalog(project="upskilling", locale=None, fuzzy=False)
    for path in source_files():
        location = str(path.relative_to(REPO_ROOT))
        tree = ast.parse(path.read_text(), str(path))
        for lineno, message in code_messages(tree):
            catalog.add(message, locations=[(location, lineno)])
        for lineno, key in error_keys(tree):
            catalog.add(key, locations=[(location, lineno)], context=FIELD)
    for message in sorted(set(library_messages())):
        catalog.add(str(message), locations=[("marshmallow-werkzeug", 0)])
    for name, location in sorted(schema_fields().items()):
        catalog.add(name, locations=[(location, 0)], context=FIELD)
    return catalog


def schema_fields() -> dict[str, str]:
    """Every field name of every schema our packages declare, with the first schema declaring it."""
    found: dict[str, str] = {}
    for module in _modules():
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls.__module__ == module.__name__:
                for name in cls._declared_fields:
                    found.setdefault(name, f"{module.__name__}.{cls.__name__}")
    return found


def _modules():
    for package in PACKAGES:
        root = importlib.import_module(package)
        yield root
        for info in pkgutil.walk_packages(root.__path__, f"{package}."):
            if not {"tests", "migrations", "__main__", "wsgi", "asgi"} & set(info.name.split(".")):  # no entry points
                yield importlib.import_module(info.name)


def code_messages(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """The literal messages of `_()`, `ValidationError()`, `Problem(KIND, ...)` and domain error calls, however
    nested."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            argument = _message_argument(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str) and argument.value.strip():
                yield node.lineno, argument.value


def error_keys(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Keys of the `errors={...}` dicts the code writes (they name fields too)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "errors" and isinstance(node.value, ast.Dict):
            for key in node.value.keys:
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    yield key.lineno, key.value


def untranslatable() -> list[str]:
    """Messages the catalogue cannot hold: f-strings where it needs a literal (write _("... {x}").format(x=...)),
    and bare strings in an `errors={...}` (write _("...") so they are extracted and translated)."""
    found = []
    for path in source_files():
        where = path.relative_to(REPO_ROOT)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(_message_argument(node), ast.JoinedStr):
                found.append(f"f-string message at {where}:{node.lineno}")
            if isinstance(node, ast.keyword) and node.arg == "errors" and isinstance(node.value, ast.Dict):
                for value in node.value.values:
                    for item in value.elts if isinstance(value, ast.List) else [value]:
                        if isinstance(item, ast.JoinedStr) or (
                            isinstance(item, ast.Constant) and isinstance(item.value, str)
                        ):
                            found.append(f"unmarked message in errors at {where}:{item.lineno}")
    return found


def _message_argument(call: ast.Call):
    name = str(call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", ""))
    position = 0 if name in DOMAIN_ERRORS or CONSTANT.fullmatch(name) else None
    position = MESSAGE_ARGUMENT.get(name, position)
    return call.args[position] if position is not None and len(call.args) > position else None


def missing_translations(catalog: Catalog, translated: Catalog) -> list[str]:
    """What the Chinese catalogue lacks: untranslated, fuzzy, or not matching the template's placeholders."""
    problems = []
    for message in catalog:
        if not message.id:
            continue
        msgid = str(message.id)  # never plural forms here
        entry = translated.get(msgid, context=message.context)
        where = f"{message.context + ': ' if message.context else ''}{msgid!r}"
        if entry is None or not entry.string:
            problems.append(f"untranslated {where}")
        elif entry.fuzzy:
            problems.append(f"fuzzy {where}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(str(entry.string))):
            problems.append(f"placeholders differ {where}: {entry.string!r}")
    return problems


def load_translations() -> Catalog:
    with CATALOGUE.open("rb") as po:
        return read_po(po, locale="zh_CN")


def update() -> Catalog:
    """Bring servicekit/locale/zh_CN/LC_MESSAGES/messages.po up to date with the code (new entries empty)."""
    current = load_translations() if CATALOGUE.exists() else Catalog(locale="zh_CN", project="upskilling")
    current.update(template(), no_fuzzy_matching=True)
    current.fuzzy = False  # the header: its charset must reach the compiled catalogue
    current.language_team = "Guangzhou Federation of Trade Unions upskilling team"
    CATALOGUE.parent.mkdir(parents=True, exist_ok=True)
    with CATALOGUE.open("wb") as po:
        write_po(po, current, width=120, ignore_obsolete=True, sort_output=True)
    return current


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m servicekit.catalogue", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only list what is untranslated (exit 1 if any)")
    args = parser.parse_args(argv)
    if not args.check:
        update()
    problems = untranslatable()
    problems += missing_translations(template(), load_translations())
    for problem in problems:
        print(problem)
    print(f"{len(problems)} messages need work in {CATALOGUE.relative_to(REPO_ROOT)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
