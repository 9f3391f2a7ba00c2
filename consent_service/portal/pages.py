"""Rendering for the portal: the Jinja2 environment, HTML error pages, security headers.

Autoescaping is on for every template, so anything a studio or a holder typed (project names,
descriptions, the notice itself) reaches the browser as text, never as markup. Pages are
personal, so they are never cached, never framed, and may load nothing but the portal's own
stylesheet (Content-Security-Policy: no script at all).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
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


_MONTHS = (
    "January February March April May June July August September October November December"
).split()


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


# Dates in words in Spanish and French (CLDR month names, through Babel): (day, moment).
_DATE_FORMATS = {
    "es": ("d 'de' MMMM 'de' y", "d 'de' MMMM 'de' y, 'a las' HH:mm"),
    "fr": ("d MMMM y", "d MMMM y 'à' HH:mm"),
}


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
    if language in _DATE_FORMATS:
        return format_datetime(local, _DATE_FORMATS[language][1], locale=language)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year} at {local:%H:%M}"


@pass_context
def _day(context: Any, value: datetime | str | None) -> str:
    """A day in words, in the holder's time zone: `1 December 2026`."""
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    local = moment.astimezone(_zone(context))
    language = _language(context)
    if language in _DATE_FORMATS:
        return format_datetime(local, _DATE_FORMATS[language][0], locale=language)
    return f"{local.day} {_MONTHS[local.month - 1]} {local.year}"


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


_env.filters.update(when=_when, day=_day, words=_words, label=_label)
_env.globals.update(vocabulary=vocabulary)
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


def render(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> Response:
    # The portal's words in the signed-in holder's language (portal/session.py finds it).
    language = context.setdefault(
        "ui_language", getattr(request.state, "portal_language", None) or "en"
    )
    if isinstance(context.get("done"), str):  # the banner after an action (a fixed message)
        context["done"] = i18n.gettext_in(language, context["done"])
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


_ERROR_TITLES = {
    400: "That request could not be understood",
    401: "Please sign in",
    403: "This is not allowed",
    404: "Not found",
    409: "This has already been decided",
    413: "That was too much data",
    415: "That kind of file is not accepted here",
    422: "That could not be done",
}


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": _ERROR_TITLES.get(status_code, "Something went wrong"),
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
                    "This form has expired or did not come from this site. "
                    "Go back, reload the page and try again.",
                )
            except RequestValidationError:
                response = error_page(
                    request, 422, "Some fields of the form were missing or not valid."
                )
            except DataError:
                response = error_page(request, 422, "A field holds characters that cannot be kept.")
            except StarletteHTTPException as exc:  # e.g. an unparseable or oversized body
                response = error_page(request, exc.status_code, "The form could not be read.")
            except DomainError as exc:
                if exc.status == 401:
                    response = login_redirect(request)
                else:
                    message = "There is nothing here." if exc.status == 404 else exc.detail
                    response = error_page(request, exc.status, message)
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
) -> Response:
    """A sign-in form (the holder's or the auditor's) with its double-submit CSRF token."""
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
