"""The portal's message catalogues: every string the templates mark for translation has a
Spanish and a French translation, with the same placeholders, and the .po files parse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from consent_service.portal import i18n
from consent_service.portal.router import DONE_MESSAGES

PORTAL = Path(i18n.__file__).parent
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _marked() -> set[str]:
    found = extract_from_dir(
        str(PORTAL),
        method_map=[("**/templates/**.html", "jinja2")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    )
    ids = {message for _file, _line, message, _comments, _context in found}
    # Plus the ids that are not literals in a template: the vocabulary's words and the banners.
    return {m for m in ids if isinstance(m, str)} | i18n.code_words() | set(DONE_MESSAGES.values())


@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_marked_string_is_translated_with_its_placeholders(language: str) -> None:
    with (PORTAL / "locale" / language / "LC_MESSAGES" / "portal.po").open("rb") as po:
        catalog = read_po(po)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    marked = _marked()
    assert marked, "no string is marked for translation"
    missing = sorted(marked - translated.keys())
    assert not missing, f"not translated into {language}: {missing}"
    for message in marked:
        assert sorted(PLACEHOLDER.findall(translated[message])) == sorted(
            PLACEHOLDER.findall(message)
        ), message
    assert i18n.gettext_in(language, "Your consents") == translated["Your consents"]


def test_english_and_unknown_languages_read_the_message_ids() -> None:
    assert i18n.gettext_in("en", "Your consents") == "Your consents"
    assert i18n.ui_language("de") == "en" and i18n.ui_language(None) == "en"
