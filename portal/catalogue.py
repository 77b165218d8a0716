"""The portal's words for translation: `python -m portal.catalogue` brings the English catalogue
(portal/translations/en/LC_MESSAGES/messages.po) up to date with the templates and the code (new words come in
untranslated, words no longer used go); `--check` lists what is untranslated (portal/tests gate it)."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent
ENGLISH = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}


def words() -> list[str]:
    found: dict[str, None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(ROOT, METHODS, keywords=KEYWORDS):
        found[message if isinstance(message, str) else message[0]] = None
    return list(found)


def english() -> Catalog:
    with ENGLISH.open("rb") as file:
        return read_po(file, locale="en")


def untranslated() -> list[str]:
    catalogue = english()
    return [word for word in words() if not (catalogue.get(word) and catalogue.get(word).string)]


def update() -> None:
    old = english()
    new = Catalog(
        locale="en", project="portal", header_comment="# English of the portal's words (it is written in Chinese)."
    )
    for word in words():
        kept = old.get(word)
        new.add(word, kept.string if kept else "")
    with ENGLISH.open("wb") as file:
        write_po(file, new, width=120, omit_header=False)


if __name__ == "__main__":
    if "--check" in sys.argv:
        missing = untranslated()
        print("\n".join(missing) or "every word has its English")
        sys.exit(1 if missing else 0)
    update()
