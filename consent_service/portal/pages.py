"""Rendering for the portal: the Jinja2 environment, HTML error pages, security headers.

Autoescaping is on for every template, so anything a studio or a holder typed (project names,
descriptions, the notice itself) reaches the browser as text, never as markup. Pages are
personal, so they are never cached, never framed, and may load nothing but the portal's own
stylesheet (Content-Security-Policy: no script at all).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from importlib.resources import files
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from consent_service import vocabulary
from consent_service.accounts import service as accounts
from consent_service.catalogues import N_
from consent_service.config import Settings
from consent_service.crypto.signer import Signer
from consent_service.errors import DomainError
from consent_service.portal import i18n
from consent_service.portal import session as web
from consent_service.portal.session import CsrfRejected, LoginRequired

_env = Environment(
    loader=PackageLoader("consent_service.portal", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    extensions=["jinja2.ext.i18n"],
)


def _moment(value: datetime | str | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int):  # seconds since the epoch (a JWT's `iat`)
        return datetime.fromtimestamp(value, UTC)
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _language(context: Any) -> str:
    return i18n.ui_language(context.get("ui_language"))


# Dates in words in each language (CLDR month names, through Babel): (day, moment).
_DATE_FORMATS = {
    "en": ("d MMMM y", "d MMMM y 'at' HH:mm"),
    "es": ("d 'de' MMMM 'de' y", "d 'de' MMMM 'de' y, 'a las' HH:mm"),
    "fr": ("d MMMM y", "d MMMM y 'à' HH:mm"),
}
# English dates read the British way ("1 December 2026"), as the notices write them.
_BABEL_LOCALES = {"en": "en_GB"}


def _zone(context: Any) -> ZoneInfo:
    return ZoneInfo(context.get("time_zone") or "UTC")


@pass_context
def _when(context: Any, value: datetime | str | int | None) -> str:
    """A moment in words, in the holder's time zone: `1 December 2026 at 09:30`."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    local = moment.astimezone(_zone(context))
    language = _language(context)
    return format_datetime(
        local, _DATE_FORMATS[language][1], locale=_BABEL_LOCALES.get(language, language)
    )


@pass_context
def _day(context: Any, value: datetime | str | None) -> str:
    """A day in words, in the holder's time zone: `1 December 2026`."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    local = moment.astimezone(_zone(context))
    language = _language(context)
    return format_datetime(
        local, _DATE_FORMATS[language][0], locale=_BABEL_LOCALES.get(language, language)
    )


@pass_context
def _gettext(context: Any, message: str) -> str:
    return i18n.gettext_in(_language(context), message)


@pass_context
def _ngettext(context: Any, singular: str, plural: str, n: int) -> str:
    return i18n.ngettext_in(_language(context), singular, plural, n)


@pass_context
def _label(context: Any, value: Any) -> str:
    """A code or a list of codes in the words of `consent_service.vocabulary`, in the page's
    language."""
    language = _language(context)
    if isinstance(value, list | tuple):
        return ", ".join(vocabulary.label_in(str(v), language) for v in value) or _gettext(
            context, "none"
        )
    return vocabulary.label_in(str(value), language)


@pass_context
def _words(context: Any, value: Any) -> str:
    """A code of a small fixed set (status, role) for reading: `ended_by_death` -> `ended by
    death`, from the vocabulary where it has the word, in the page's language."""
    if isinstance(value, list | tuple):
        return ", ".join(_words(context, v) for v in value) or _gettext(context, "none")
    text = str(value)
    for table in (vocabulary.STATUSES, vocabulary.SIGNER_ROLES, vocabulary.SIGNATURE_METHODS):
        if text in table:
            return _gettext(context, table[text])
    return text.replace("_", " ")


# What a representative is to the holder, in words (the page translates them).
REPRESENTATIVE_KINDS = {
    "agent": N_("agent"),
    "attorney": N_("attorney"),
    "guardian": N_("guardian"),
    "executor": N_("executor"),
}

_env.filters.update(when=_when, day=_day, words=_words, label=_label)


def words_for(language: str, time_zone: str | None) -> dict[str, Callable[[Any], str]]:
    """The pages' filters outside a template (the PDF receipt): the same words and dates, in
    `language` and `time_zone`; `_` translates a message."""
    context = {"ui_language": language, "time_zone": time_zone}
    filters: dict[str, Callable[..., str]] = {
        "when": _when,
        "day": _day,
        "words": _words,
        "label": _label,
        "_": _gettext,
    }
    return {name: partial(fn, context) for name, fn in filters.items()}


_env.globals.update(vocabulary=vocabulary, representative_kinds=REPRESENTATIVE_KINDS)
# newstyle: `_("Hello %(name)s", name=...)` formats, and escapes the values it puts in.
_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)

STYLESHEET = files("consent_service.portal").joinpath("static/portal.css").read_bytes()

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_language(request: Request) -> str:
    """The language of the page answering `request`: the signed-in holder's choice (set by
    portal/session.py), else the visitor's (`?lang=`, the cookie, Accept-Language)."""
    chosen = getattr(request.state, "portal_language", None)
    return i18n.ui_language(chosen) if chosen else i18n.visitor_language(request)


def _switcher(request: Request) -> list[tuple[str, str, str]]:
    """(code, name, address) of this page in each language, for the header's switcher."""
    links = []
    for code in i18n.LANGUAGES:
        url = request.url.include_query_params(lang=code)
        links.append((code, vocabulary.LANGUAGE_NAMES.get(code, code), f"{url.path}?{url.query}"))
    return links


# Fixed messages built in Python and shown through `render` (translated in the page's language).
_TRANSLATED_KEYS = ("done", "title", "message")


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    # The portal's words in the signed-in holder's language (portal/session.py finds it); for
    # a visitor, the language asked for (`?lang=`, the switcher), chosen before, or the browser's.
    signed_in = bool(context.get("portal"))
    language = context.setdefault("ui_language", page_language(request))
    for key in _TRANSLATED_KEYS:
        if isinstance(context.get(key), str):
            context[key] = i18n.gettext_in(language, context[key])
    if isinstance(context.get("errors"), list):
        context["errors"] = [i18n.gettext_in(language, str(e)) for e in context["errors"]]
    # Before sign-in the visitor picks the language in the header; after, the account page.
    context.setdefault("language_links", _switcher(request) if not signed_in else [])
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    asked = i18n.asked_language(request)
    if asked and not signed_in:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            asked,
            max_age=365 * 24 * 3600,
            path="/portal",
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
    return response


_ERROR_TITLES = {
    400: N_("That request could not be understood"),
    401: N_("Please sign in"),
    403: N_("This is not allowed"),
    404: N_("Not found"),
    409: N_("This has already been decided"),
    413: N_("That was too much data"),
    415: N_("That kind of file is not accepted here"),
    410: N_("No longer available"),
    422: N_("That could not be done"),
    429: N_("Please wait a moment"),
    503: N_("Not available right now"),
}


# What a refused action means, for the errors a holder can meet in the portal, in words the
# catalogue translates. The service's own detail is written for API clients in English: an
# English page shows it, a page in another language this (or the status's sentence below).
_PORTAL_ERRORS = {
    "request_already_decided": N_("This request was already accepted or declined."),
    "consent_not_active": N_(
        "This consent is not in a state that allows this. Reload the page to see where it stands."
    ),
    "holder_not_verified": N_(
        "This studio asks for a verified identity before you can consent. Verify your identity "
        "from your account page, then come back to this request."
    ),
    "unsupported_media_type": N_(
        "This kind of file is not accepted: send a JPEG, PNG or WebP photo, a WAV, FLAC, MP3 or "
        "OGG sound recording, or an MP4 video."
    ),
    "wrong_media_type": N_("This kind of file is not accepted here."),
    "unreadable_media": N_("The file could not be read as the kind of file it says it is."),
    "media_refused": N_("The file carries hidden data that cannot be removed, so it was not kept."),
    "image_too_large": N_("The image is too large. Send a smaller one."),
    "reference_too_large": N_("The file is larger than allowed for its kind. Send a smaller one."),
    "evidence_too_large": N_("The file is larger than allowed for its kind. Send a smaller one."),
    "attribute_mismatch": N_(
        "This kind of file cannot show what you chose (a sound recording cannot show a face)."
    ),
    "challenge_expired": N_("The phrase has expired: get a new one and record yourself again."),
    "challenge_already_used": N_("This phrase was already used: get a new one."),
    "case_not_withdrawable": N_(
        "Only evidence that is waiting for review or approved can be withdrawn."
    ),
    "document_date_in_future": N_("The document cannot be dated after today."),
    "invalid_document_field": N_("A detail of the document is not valid. Check it and try again."),
    "email_already_registered": N_("This email address is already used by an account."),
    "invitation_not_pending": N_("The invitation has ended already."),
    "rate_limited": N_("Too many attempts in a short time. Wait a minute and try again."),
}
_STATUS_MESSAGES = {
    400: N_("The form could not be read. Nothing was changed."),
    403: N_("You may not do this here. Nothing was changed."),
    409: N_(
        "This conflicts with how things stand now: reload the page and check. Nothing was changed."
    ),
    410: N_("This is no longer kept. Nothing was changed."),
    413: N_("That was more data than is accepted. Nothing was changed."),
    415: N_("That kind of file is not accepted here. Nothing was changed."),
    422: N_("This could not be done as asked. Nothing was changed."),
}


def _domain_message(request: Request, exc: DomainError) -> str:
    if exc.status == 404:
        return N_("There is nothing here.")
    if page_language(request) == i18n.DEFAULT:
        return exc.detail
    return _PORTAL_ERRORS.get(exc.code) or _STATUS_MESSAGES.get(
        exc.status, N_("This could not be done. Nothing was changed.")
    )


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": _ERROR_TITLES.get(status_code, N_("Something went wrong")),
            "message": message,
            "status_code": status_code,
        },
        status_code=status_code,
    )


def login_redirect(request: Request, login_path: str = "/portal/login") -> Response:
    target = login_path
    if request.method == "GET" and request.url.path not in ("/portal", login_path):
        from urllib.parse import quote

        target += "?next=" + quote(request.url.path, safe="/")
    return Response(status_code=303, headers={"Location": target, "Cache-Control": "no-store"})


class PortalRoute(APIRoute):
    """Portal routes answer in HTML: errors become pages, a missing session the login page.

    FastAPI runs the session dependency's exit (commit, or rollback on error) before the
    exception reaches this handler, so a refused action leaves nothing behind.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                response = login_redirect(request, exc.login_path)
            except CsrfRejected:
                response = error_page(
                    request,
                    403,
                    N_(
                        "This form has expired or did not come from this site. "
                        "Go back, reload the page and try again."
                    ),
                )
            except RequestValidationError:
                response = error_page(
                    request, 422, N_("Some fields of the form were missing or not valid.")
                )
            except DataError:
                response = error_page(
                    request, 422, N_("A field holds characters that cannot be kept.")
                )
            except StarletteHTTPException as exc:  # e.g. an unparseable or oversized body
                response = error_page(request, exc.status_code, N_("The form could not be read."))
            except DomainError as exc:
                if exc.status == 401:
                    response = login_redirect(request)
                else:
                    response = error_page(request, exc.status, _domain_message(request, exc))
            for header, value in SECURITY_HEADERS.items():
                response.headers.setdefault(header, value)
            return response

        return portal_handler


def see_other(url: str) -> Response:
    """The redirect after a form's POST (never cached: it follows a change)."""
    return Response(status_code=303, headers={"Location": url, "Cache-Control": "no-store"})


def login_page(
    request: Request,
    settings: Settings,
    *,
    template: str = "login.html",
    message: str | None = None,
    email: str = "",
    next_url: str = "/portal",
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
) -> Response:
    """A sign-in form (the holder's or the auditor's) with its double-submit CSRF token;
    `extra` adds to the template's context (a pending invitation on the holder's form)."""
    token = web.login_csrf_token(request)
    response = render(
        request,
        template,
        {
            "csrf_token": token,
            "message": message,
            "failed": status_code >= 400,
            "email": email,
            "next_url": next_url,
            **(extra or {}),
        },
        status_code=status_code,
    )
    web.set_login_csrf_cookie(response, request, settings, token)
    return response


def sign_out(
    request: Request, session: Any, signer: Signer, settings: Settings, *, then: str
) -> Response:
    """Revoke the session's access token itself, not only the browser's copy of it (a copy
    kept elsewhere, or the same token used as a bearer on /v1, is refused from now on), clear
    the cookie and go to `then`."""
    accounts.revoke_access_token(session, signer=signer, token=request.cookies[web.SESSION_COOKIE])
    response = see_other(then)
    web.clear_session_cookie(response, request, settings)
    return response
