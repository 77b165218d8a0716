"""CI fails while any message or field name the system can show has no checked Chinese translation."""

from __future__ import annotations

import ast

import pytest

from servicekit.catalogue import code_messages, load_translations, missing_translations, template, untranslatable


@pytest.fixture(scope="module")
def catalog():
    return template()


def test_every_message_and_field_name_has_a_chinese_translation(catalog):
    problems = untranslatable() + missing_translations(catalog, load_translations())
    assert not problems, "Run ./dev messages and translate:\n" + "\n".join(problems)


def test_the_check_finds_what_is_missing(catalog):
    translations = load_translations()
    some = next(m for m in catalog if m.id and m.context is None)
    translations.delete(some.id)
    assert f"untranslated {some.id!r}" in missing_translations(catalog, translations)
    fuzzy = next(m for m in translations if m.id and m.id != some.id and m.context is None)
    fuzzy.flags.add("fuzzy")
    assert any(p.startswith("fuzzy") for p in missing_translations(catalog, translations))


def test_the_details_of_domain_errors_are_messages_to_translate():
    """A use case's refusal (servicekit.refusals) is translated when answered: its text must be in the catalogue."""
    tree = ast.parse(
        'raise WRONG_STATUS("Not now.")\n'
        'raise Forbidden("Not yours.")\n'
        'raise Unavailable("Later.", retry_after=5)\n'
        'SQL("CREATE DATABASE {}")\n'
    )
    assert [message for _line, message in code_messages(tree)] == ["Not now.", "Not yours.", "Later."]
