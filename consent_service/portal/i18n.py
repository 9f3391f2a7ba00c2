"""The portal's own words in the holder's language: one gettext catalogue per language.

The catalogues are ordinary gettext `.po` files (`locale/<lang>/LC_MESSAGES/portal.po`), read
by `consent_service.catalogues`. Jinja's i18n extension makes `_()` available in every template
(pages.py); words built in Python are marked with `N_()` and translated where they are shown.
The language of a page: the one the signed-in holder chose (`holder.language`); before sign-in
(or when none was chosen) an explicit `?lang=` (the switcher in every page's header, kept in a
cookie), else the browser's `Accept-Language`, else English.

To add strings: wrap them in `_()` in a template (or `N_()` in Python), then run
`scripts/update-catalogues` (pybabel extract and update, plus `code_words()`, which no source
spells out) and translate what it adds (docs/operations.md, "Languages").
"""

from __future__ import annotations

import gettext
import unicodedata
from functools import cache

import pycountry
from babel import Locale, negotiate_locale
from starlette.requests import Request
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from consent_service import catalogues
from consent_service.catalogues import DEFAULT, LANGUAGES

__all__ = ["DEFAULT", "LANGUAGES"]

# A visitor's explicit choice of language before sign-in (`?lang=`), kept for the next pages.
LANGUAGE_COOKIE = "consent_portal_lang"


def ui_language(language: str | None) -> str:
    """The portal language for a holder's chosen language (English when it has no catalogue)."""
    return catalogues.supported(language)


def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of `language` (English: the message ids as they are)."""
    return catalogues.translations("consent_service.portal", "portal", language)


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for a browser's `Accept-Language` (None: none of them).

    Werkzeug parses the header (quality values, order); Babel matches the tags against ours,
    falling back from a region (`es-MX`) to its language (`es`)."""
    if not header or len(header) > 1000:
        return None
    accepted = parse_accept_header(header, LanguageAccept)
    preferred = [tag for tag, quality in accepted if quality > 0 and tag != "*"]
    found = negotiate_locale(
        [tag.replace("_", "-").lower() for tag in preferred], list(LANGUAGES), sep="-"
    )
    return found.split("-")[0] if found else None


def asked_language(request: Request) -> str | None:
    """An explicit `?lang=` in the page's address, when it is one of ours."""
    value = request.query_params.get("lang")
    return value if value in LANGUAGES else None


def visitor_language(request: Request) -> str:
    """The language of a page for someone not signed in (or with no language chosen): the
    `?lang=` of this address, else the one chosen earlier (cookie), else the browser's."""
    cookie = request.cookies.get(LANGUAGE_COOKIE)
    return (
        asked_language(request)
        or (cookie if cookie in LANGUAGES else None)
        or from_accept_language(request.headers.get("accept-language"))
        or DEFAULT
    )


@cache
def countries_in(language: str) -> list[tuple[str, str]]:
    """(ISO 3166 code, name in `language`) of every country, in the language's alphabetical
    order: the codes from pycountry, the names from the CLDR data Babel carries."""
    names = Locale.parse(ui_language(language)).territories
    found = [(c.alpha_2, names.get(c.alpha_2) or c.name) for c in pycountry.countries]
    return sorted(found, key=lambda item: _collation_key(item[1]))


def place_in(language: str, code: str) -> str:
    """`GB` -> `United Kingdom` / `Reino Unido`; a state (`US-CA`) by pycountry's name."""
    name = Locale.parse(ui_language(language)).territories.get(code)
    if name:
        return str(name)
    return _states().get(code, code)


@cache
def _states() -> dict[str, str]:
    return {str(s.code): str(s.name) for s in pycountry.subdivisions}


def _collation_key(name: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)
    ).casefold()


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
    words = {word for table in tables for word in table.values()} | {"none"}
    # The advice shown with each warning the rules raise (the request page translates it).
    return words | set(vocabulary.WARNINGS.values()) | {vocabulary.WARNING_FALLBACK}


def gettext_in(language: str, message: str) -> str:
    return translations(ui_language(language)).gettext(message)


def ngettext_in(language: str, singular: str, plural: str, n: int) -> str:
    return translations(ui_language(language)).ngettext(singular, plural, n)
