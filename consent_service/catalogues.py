"""Gettext catalogues read from the package's `.po` files, compiled in memory by Babel.

One loader for every domain that speaks the holder's language: the portal's pages
(`portal/locale/<lang>/LC_MESSAGES/portal.po`) and the mail (`mail/locale/.../mail.po`).
Message ids are the English text; English itself has no catalogue. The `.po` files are the
format translators and their tools (Poedit, Weblate) work with; no binary `.mo` is kept in the
repository and there is no build step.
"""

from __future__ import annotations

import gettext
from functools import cache
from importlib.resources import files
from io import BytesIO

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

# The languages the registry speaks (notices, pages, mail); English is the source language.
LANGUAGES = ("en", "es", "fr")
DEFAULT = "en"


def supported(language: str | None) -> str:
    """`language` when the registry speaks it, else English."""
    return language if language in LANGUAGES else DEFAULT


@cache
def translations(package: str, domain: str, language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `domain` in `language` (English: the message ids as they are)."""
    if language == DEFAULT or language not in LANGUAGES:
        return gettext.NullTranslations()
    source = files(package).joinpath(f"locale/{language}/LC_MESSAGES/{domain}.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=language, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def N_(message: str) -> str:  # noqa: N802 (the gettext convention pybabel extracts)
    """Mark `message` for the catalogue without translating it here (it is translated where it
    is shown, in the reader's language)."""
    return message
