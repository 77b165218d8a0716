"""Languages: Chinese (zh_CN, the default: the portal's own words are written in Chinese) and English.

The English catalogue (translations/en/LC_MESSAGES/messages.po) is compiled when the app starts into a
directory of its own, so no compiled file is committed. The person's choice is kept in the session; the gateway
is asked in the same language, so its problem messages come back in it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import session
from flask_babel import Babel

LANGUAGES = {"zh_CN": "中文", "en": "English"}
SOURCE = Path(__file__).parent / "translations"


def current_language() -> str:
    chosen = session.get("lang")
    return chosen if chosen in LANGUAGES else "zh_CN"


def api_language() -> str:
    return "en" if current_language() == "en" else "zh-CN"


def compiled_catalogues() -> str:
    """A directory of .mo files compiled from the .po files (babel's layout)."""
    target = Path(tempfile.mkdtemp(prefix="portal-translations-"))
    for po in SOURCE.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as file:
            catalogue = read_po(file)
        mo = target / po.relative_to(SOURCE).with_suffix(".mo")
        mo.parent.mkdir(parents=True, exist_ok=True)
        with mo.open("wb") as file:
            write_mo(file, catalogue)
    return str(target)


def init_babel(app) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = compiled_catalogues()
    app.config["BABEL_DEFAULT_LOCALE"] = "zh_CN"
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    Babel(app, locale_selector=current_language)
