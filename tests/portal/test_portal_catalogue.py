"""The message catalogues of the portal and of the mail: every string the templates and the
Python code mark for translation has a Spanish and a French translation, every entry of each
catalogue is translated (non-empty, not fuzzy) with the same placeholders, and the .po files
parse."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from consent_service import catalogues
from consent_service.mail import messages
from consent_service.portal import i18n

PACKAGE = Path(catalogues.__file__).parent
PORTAL = PACKAGE / "portal"
MAIL = PACKAGE / "mail"
# `%(name)s` (gettext's python-format) and `{name}` (str.format): both must survive translation.
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w*\}")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def _ids(found: object) -> set[str]:
    out: set[str] = set()
    for entry in found:  # type: ignore[attr-defined]
        message = entry[2]
        out.update([message] if isinstance(message, str) else [m for m in message if m])
    return out


def _portal_marked() -> set[str]:
    templates = extract_from_dir(
        str(PORTAL),
        method_map=[("**/templates/**.html", "jinja2"), ("**.py", "python")],
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        keywords=KEYWORDS,
    )
    invitation_page = extract_from_file(
        "python", str(PACKAGE / "invitations" / "pages.py"), keywords=KEYWORDS
    )
    # Plus the ids no source spells out: the vocabulary's words and the warnings' advice.
    return _ids(templates) | _ids((0, *e) for e in invitation_page) | i18n.code_words()


def _mail_marked() -> set[str]:
    return _ids((0, *e) for e in extract_from_file("python", messages.__file__, keywords=KEYWORDS))


def _catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=language)


CATALOGUES = {
    "portal": (PORTAL / "locale", "portal", _portal_marked),
    "mail": (MAIL / "locale", "mail", _mail_marked),
}


@pytest.mark.parametrize("domain", sorted(CATALOGUES))
@pytest.mark.parametrize("language", ["es", "fr"])
def test_every_marked_string_is_translated_with_its_placeholders(
    language: str, domain: str
) -> None:
    folder, name, marked_of = CATALOGUES[domain]
    catalog = _catalog(folder / language / "LC_MESSAGES" / f"{name}.po", language)
    marked = marked_of()
    assert len(marked) > 30, "too few strings are marked for translation"
    entries = [m for m in catalog if m.id]
    untranslated = sorted(str(m.id) for m in entries if not m.string or m.fuzzy)
    assert not untranslated, f"{domain} not (or fuzzily) translated into {language}: {untranslated}"
    translated = {str(m.id): str(m.string) for m in entries}
    missing = sorted(marked - translated.keys())
    assert not missing, f"{domain} strings missing from the {language} catalogue: {missing}"
    for message, text in translated.items():
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), message
        assert text != message or len(message) <= 12, f"left in English: {message!r}"


def test_the_compiled_catalogues_are_the_po_files() -> None:
    assert i18n.gettext_in("es", "Your consents") == "Sus consentimientos"
    assert i18n.gettext_in("fr", "Your consents") == "Vos consentements"
    spanish = messages.Context(
        name="Lucía", base_url="https://x", params={}, secrets={}, language="es"
    )
    assert spanish._("Hello %(name)s,", name="Lucía") == "Hola, Lucía:"


def test_english_and_unknown_languages_read_the_message_ids() -> None:
    assert i18n.gettext_in("en", "Your consents") == "Your consents"
    assert i18n.ui_language("de") == "en" and i18n.ui_language(None) == "en"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.5", "es"),
        ("de-DE,fr;q=0.8,en;q=0.7", "fr"),
        ("en-GB,en;q=0.9,es;q=0.8", "en"),
        ("fr-CA", "fr"),
        ("de, it;q=0.5", None),
        ("es;q=0, fr;q=0.1", "fr"),
        ("", None),
        ("*", None),
    ],
)
def test_the_browser_language_is_negotiated_against_ours(header: str, expected: str | None) -> None:
    assert i18n.from_accept_language(header) == expected
