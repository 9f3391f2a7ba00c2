"""The portal's own words in the holder's language: one gettext catalogue per language.

The catalogues are ordinary gettext `.po` files (`locale/<lang>/LC_MESSAGES/portal.po`), the
format translators and their tools (Poedit, Weblate) work with; message ids are the English
text. Babel reads them and compiles them in memory when the module loads, so no binary `.mo`
file is kept in the repository and there is no build step. Jinja's i18n extension makes `_()`
available in every template (pages.py); the language is the one the holder chose
(`holder.language`), English when none was chosen or there is no signed-in holder.

To add strings: wrap them in `_()` in a template, then
`pybabel extract -F consent_service/portal/babel.cfg -o /tmp/portal.pot consent_service/portal`
and `pybabel update -i /tmp/portal.pot -d consent_service/portal/locale -D portal`.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib.resources import files
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "es", "fr")
DEFAULT = "en"


def ui_language(language: str | None) -> str:
    """The portal language for a holder's chosen language (English when it has no catalogue)."""
    return language if language in LANGUAGES else DEFAULT


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English: the message ids as they are)."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    source = files("consent_service.portal").joinpath(f"locale/{language}/LC_MESSAGES/portal.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=language, domain="portal")
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def code_words() -> set[str]:
    """The English words of the vocabulary's codes the portal shows through the catalogue
    (statuses, who signed and how, the kinds of choice): ids no template spells out."""
    from consent_service import vocabulary

    tables = (
        vocabulary.STATUSES,
        vocabulary.SIGNER_ROLES,
        vocabulary.SIGNATURE_METHODS,
        vocabulary.DIMENSIONS,
    )
    return {word for table in tables for word in table.values()} | {"none"}


def gettext_in(language: str, message: str) -> str:
    return translations(ui_language(language)).gettext(message)


def ngettext_in(language: str, singular: str, plural: str, n: int) -> str:
    return translations(ui_language(language)).ngettext(singular, plural, n)
