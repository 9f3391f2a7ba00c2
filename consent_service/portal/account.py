"""Portal pages for a person's account: sign-up, confirming the address, getting back in with a
mailed link, and the account page (holder id, confirmed or not, change of password).

The rules are the API's (flows/accounts.py): sign-up answers the same page for any address,
links work once and expire, a password reset signs every session out. Pages for people who are
not signed in (sign-up, the mailed links, forgotten password) carry the login form's
double-submit CSRF token; the signed-in forms carry the session's token (HolderForm).

A mailed link opens a page with a button, and only pressing it (a POST) uses the link up: mail
scanners that fetch every link in a message do not spend it.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import ValidationError

from consent_service import vocabulary
from consent_service.accounts import passwords
from consent_service.accounts import service as accounts
from consent_service.accounts.links import LinkInvalid
from consent_service.catalogues import LANGUAGES, N_
from consent_service.deps import KeyringDep, ReadSessionDep, ServicesDep, SessionDep, SettingsDep
from consent_service.flows import accounts as account_flows
from consent_service.holders import service as holders
from consent_service.holders.schemas import HolderRegister
from consent_service.invitations import pages as invitation_pages
from consent_service.ops.rate_limit import check_login_rate, check_registration_rate
from consent_service.portal import i18n
from consent_service.portal import session as web
from consent_service.portal.pages import PortalRoute, page_language, render, see_other
from consent_service.portal.session import HolderForm, HolderSession, OptionalPortalSession

router = APIRouter(prefix="/portal", include_in_schema=False, route_class=PortalRoute)

Token = Annotated[str, Query(max_length=200)]
TokenField = Annotated[str, Form(max_length=200)]
CsrfField = Annotated[str, Form(max_length=256)]
Password = Annotated[str, Form(max_length=1024)]
MIN_PASSWORD = 12

# Whole sentences, so that each is one message of the catalogue.
LINK_INVALID_SIGN_IN = N_(
    "This link cannot be used: it was used already, it has expired, or part of it is missing. "
    "Nothing was changed. Sign in and ask for a new link on your account page."
)
LINK_INVALID_ASK_AGAIN = N_(
    "This link cannot be used: it was used already, it has expired, or part of it is missing. "
    "Nothing was changed. You can ask for a new link."
)
# Messages for the sign-up form's fields, keyed by the first part of pydantic's error location.
_SIGN_UP_MESSAGES = {
    "legal_name": N_("Give your full legal name (at most 200 characters)."),
    "stage_name": N_("A stage name can be at most 200 characters long."),
    "email": N_("Give a valid email address."),
    "password": N_("Choose a password of at least 12 characters."),
    "date_of_birth": N_("Give your date of birth (it cannot be in the future)."),
    "jurisdiction": N_(
        "Give the country where you live as a two-letter code such as GB or FR, or a state "
        "such as US-CA."
    ),
    "language": N_("Choose English, Español or Français."),
}


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _public_page(
    request: Request,
    settings: SettingsDep,
    template: str,
    context: dict[str, object],
    *,
    portal: web.PortalSession | None = None,
    status_code: int = 200,
) -> Response:
    """A page for someone who may not be signed in, with the double-submit CSRF token."""
    token = web.login_csrf_token(request)
    response = render(
        request,
        template,
        {"portal": portal, "csrf_token": token, **context},
        status_code=status_code,
    )
    web.set_login_csrf_cookie(response, request, settings, token)
    return response


def _message(
    request: Request,
    title: str,
    message: str,
    *,
    portal: web.PortalSession | None = None,
    failed: bool = False,
    status_code: int = 200,
    sign_in: bool = False,
    studio: str | None = None,
) -> Response:
    return render(
        request,
        "account_message.html",
        {
            "portal": portal,
            "title": title,
            "message": message,
            "failed": failed,
            "sign_in": sign_in,
            # The studio whose invitation signing in will accept (invitations/pages.py).
            "invitation_studio": studio,
        },
        status_code=status_code,
    )


# -- sign-up ------------------------------------------------------------------------------------


InvitationQuery = Annotated[str | None, Query(alias="invitation", max_length=128)]


def _invitation_context(session: SessionDep, token: str | None) -> dict[str, object]:
    """The invitation a sign-up carries: its token and studio when pending, else nothing
    (and `invitation_invalid` when a token was given that is not pending)."""
    studio = invitation_pages.offered(session, token) if token else None
    return {
        "invitation_token": token if studio else None,
        "invitation_studio": studio,
        "invitation_invalid": bool(token) and studio is None,
    }


@router.get("/signup")
def sign_up_old_link(invitation_token: InvitationQuery = None) -> Response:
    """The address invitation mails used at first: on to the sign-up page, token and all."""
    query = "?invitation=" + quote(invitation_token, safe="") if invitation_token else ""
    return see_other("/portal/sign-up" + query)


@router.get("/sign-up")
def sign_up_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    portal: OptionalPortalSession,
    invitation_token: InvitationQuery = None,
) -> Response:
    context = {"errors": [], "form": {}, **_invitation_context(session, invitation_token)}
    return _public_page(request, settings, "sign_up.html", context, portal=portal)


@router.post("/sign-up")
def sign_up(
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
    settings: SettingsDep,
    legal_name: Annotated[str, Form(max_length=1000)] = "",
    stage_name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Password = "",
    date_of_birth: Annotated[str, Form(max_length=40)] = "",
    jurisdiction: Annotated[str, Form(max_length=40)] = "",
    language: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = "",
    invitation_token: Annotated[str, Form(alias="invitation", max_length=128)] = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    # Per client address, before the email is looked at, exactly as POST /v1/holders.
    check_registration_rate(services.registration_rate_limiter, address=_address(request))
    form = {
        "legal_name": legal_name,
        "stage_name": stage_name,
        "email": email,
        "date_of_birth": date_of_birth,
        "jurisdiction": jurisdiction,
        "language": language,
    }
    try:
        data = HolderRegister.model_validate(
            {
                "legal_name": legal_name,
                "stage_name": stage_name.strip() or None,
                "email": email.strip(),
                "password": password,
                "date_of_birth": date_of_birth,
                "jurisdiction": jurisdiction.strip().upper(),
                # The language of notices and of the portal's pages (portal/i18n.py).
                "language": language or None,
            }
        )
    except ValidationError as exc:
        errors: list[str] = []
        for err in exc.errors():
            loc = err.get("loc", ())
            field = str(loc[0]) if loc else ""
            text = _SIGN_UP_MESSAGES.get(
                field, N_("Check the dates you gave: one of them is not possible.")
            )
            if text not in errors:
                errors.append(text)
        return _public_page(
            request,
            settings,
            "sign_up.html",
            {"errors": errors, "form": form, **_invitation_context(session, invitation_token)},
            status_code=422,
        )
    # Hash before the write transaction (argon2 never runs under SQLite's write lock).
    session.commit()
    password_hash = passwords.hash_password(data.password)
    account_flows.register(
        session, keyring=keyring, actor=None, data=data, password_hash=password_hash
    )
    # One answer, whichever happened: the owner of a registered address learns it by mail.
    # (What an invitation adds depends on the token only, never on the address.)
    studio = invitation_pages.offered(session, invitation_token) if invitation_token else None
    response = _message(
        request,
        N_("Check your email"),
        N_(
            "If this address can be registered, we mailed it a link to confirm it. Open the "
            "link and press the button on that page. You can sign in now with your email and "
            "password, but you can give consent only once the address is confirmed. If the "
            "address already had an account, its owner was told by mail."
        ),
        sign_in=True,
        studio=studio,
    )
    if studio is not None:
        invitation_pages.remember(response, request, settings, session, invitation_token)
    return response


# -- confirming the address ---------------------------------------------------------------------


@router.get("/confirm-email")
def confirm_email_form(
    request: Request, settings: SettingsDep, portal: OptionalPortalSession, token: Token = ""
) -> Response:
    return _public_page(request, settings, "confirm_email.html", {"token": token}, portal=portal)


@router.post("/confirm-email")
def confirm_email(
    request: Request,
    session: SessionDep,
    portal: OptionalPortalSession,
    token: TokenField = "",
    csrf_token: CsrfField = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    try:
        account_flows.confirm_email(session, token=token)
    except LinkInvalid:
        return _message(
            request,
            N_("This link does not work"),
            LINK_INVALID_SIGN_IN,
            portal=portal,
            failed=True,
            status_code=400,
            sign_in=portal is None,
        )
    # A sign-up from an invitation left its token: the sign-in page accepts it (login.html).
    carried = invitation_pages.carried(request, None)
    return _message(
        request,
        N_("Your email address is confirmed"),
        N_("Thank you. You can now read consent requests and give or refuse your consent."),
        portal=portal,
        sign_in=portal is None,
        studio=invitation_pages.offered(session, carried) if carried else None,
    )


# -- forgotten password -------------------------------------------------------------------------


@router.get("/forgot-password")
def forgot_password_form(
    request: Request, settings: SettingsDep, portal: OptionalPortalSession
) -> Response:
    return _public_page(request, settings, "forgot_password.html", {"email": ""}, portal=portal)


@router.post("/forgot-password")
def forgot_password(
    request: Request,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: CsrfField = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    check_registration_rate(services.registration_rate_limiter, address=_address(request))
    if email.strip():
        account_flows.request_password_reset(session, keyring=keyring, email=email.strip())
    # The same page for a known, an unknown and an empty address.
    return _message(
        request,
        N_("Check your email"),
        N_(
            "If this address has an account, we mailed it a link to choose a new password. "
            "The link works once, for 30 minutes."
        ),
    )


@router.get("/reset-password")
def reset_password_form(
    request: Request, settings: SettingsDep, portal: OptionalPortalSession, token: Token = ""
) -> Response:
    return _public_page(
        request, settings, "reset_password.html", {"token": token, "errors": []}, portal=portal
    )


def _password_problem(new_password: str, repeated: str) -> str | None:
    if len(new_password) < MIN_PASSWORD or len(new_password) > 256:
        return N_("Choose a password of 12 to 256 characters.")
    if new_password != repeated:
        return N_("The two new passwords are not the same.")
    return None


@router.post("/reset-password")
def reset_password(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: TokenField = "",
    new_password: Password = "",
    repeat_password: Password = "",
    csrf_token: CsrfField = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    problem = _password_problem(new_password, repeat_password)
    if problem:
        return _public_page(
            request,
            settings,
            "reset_password.html",
            {"token": token, "errors": [problem]},
            status_code=422,
        )
    session.commit()  # no transaction is held while argon2 runs
    password_hash = passwords.hash_password(new_password)
    try:
        account_flows.reset_password(session, token=token, password_hash=password_hash)
    except LinkInvalid:
        return _message(
            request,
            N_("This link does not work"),
            LINK_INVALID_ASK_AGAIN,
            failed=True,
            status_code=400,
        )
    response = _message(
        request,
        N_("Your password is changed"),
        N_("Every session that was signed in is now signed out. Sign in with your new password."),
        sign_in=True,
    )
    web.clear_session_cookie(response, request, settings)
    return response


# -- the account page ---------------------------------------------------------------------------

ACCOUNT_DONE = {
    "sent": N_("We mailed you a new confirmation link. Links sent before it no longer work."),
    "already": N_("Your email address is already confirmed."),
    "language": N_(
        "Your language is changed. Your pages, your mail and the notices you open use it from "
        "now on."
    ),
}


def email_confirmed(session: SessionDep, portal: web.PortalSession) -> bool:
    """Whether the signed-in person's login address is confirmed (a login-less one counts)."""
    login = accounts.login_of_principal(session, portal.principal.actor_id)
    return login is None or login.email_confirmed_at is not None


@router.get("/account")
def account_page(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _account_page(request, portal, session, done=ACCOUNT_DONE.get(done or ""))


def _account_page(
    request: Request,
    portal: web.PortalSession,
    session: SessionDep,
    *,
    done: str | None = None,
    errors: list[str] | None = None,
    language_errors: list[str] | None = None,
    status_code: int | None = None,
) -> Response:
    failed = bool(errors or language_errors)
    return render(
        request,
        "account.html",
        {
            "portal": portal,
            "confirmed": email_confirmed(session, portal),
            "done": done,
            "errors": errors or [],
            "language_errors": [
                i18n.gettext_in(page_language(request), e) for e in language_errors or []
            ],
            "holder_language": holders.language_of(session, portal.principal.holder_id),
            "language_names": vocabulary.LANGUAGE_NAMES,
        },
        status_code=status_code or (422 if failed else 200),
    )


@router.post("/account/resend-confirmation")
def resend_confirmation(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    keyring: KeyringDep,
    services: ServicesDep,
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_registration_rate(services.registration_rate_limiter, address=_address(request))
    sent = account_flows.resend_confirmation(session, keyring=keyring, principal=portal.principal)
    # Back to the page the button was on (a request page), else the account page.
    target = web.safe_next(back) if back else "/portal/account"
    if target == "/portal/account" or not sent:
        return see_other(f"/portal/account?done={'sent' if sent else 'already'}")
    return see_other(f"{target}?done=confirmation_sent")


@router.post("/account/language")
def change_language(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The holder's own language for pages, mail and new notices (an audit event with it)."""
    if language not in LANGUAGES:
        return _account_page(
            request, portal, session, language_errors=[N_("Choose English, Español or Français.")]
        )
    if portal.principal.representative_kind is not None:
        # The holder's language is theirs to choose: someone acting for them reads it too.
        return _account_page(
            request,
            portal,
            session,
            language_errors=[N_("Only the holder can change the language of this account.")],
            status_code=403,
        )
    holders.set_language(session, principal=portal.principal, language=language)
    return see_other("/portal/account?done=language")


@router.post("/account/password")
def change_password(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    read_session: ReadSessionDep,
    services: ServicesDep,
    settings: SettingsDep,
    current_password: Password = "",
    new_password: Password = "",
    repeat_password: Password = "",
) -> Response:
    login = accounts.login_of_principal(read_session, portal.principal.actor_id)
    check_login_rate(
        services.login_rate_limiters,
        address=_address(request),
        email=login.id if login is not None else portal.principal.actor_id,
    )
    problem = _password_problem(new_password, repeat_password)
    stored = accounts.password_hash_of(read_session, login.id) if login is not None else None
    read_session.commit()
    session.commit()  # no transaction is held while argon2 runs
    if problem is None and (
        login is None or not passwords.verify_password(stored, current_password)
    ):
        problem = N_("The current password is not correct. Nothing was changed.")
    if problem is not None or login is None:
        wrong = N_("The current password is not correct. Nothing was changed.")
        return _account_page(request, portal, session, errors=[problem or wrong])
    password_hash = passwords.hash_password(new_password)
    account_flows.change_password(session, login_id=login.id, password_hash=password_hash)
    # A new password ends every session, this one too (accounts.service: password epoch).
    response = _message(
        request,
        N_("Your password is changed"),
        N_(
            "Every session that was signed in, this one included, is now signed out. Sign in "
            "with your new password."
        ),
        sign_in=True,
    )
    web.clear_session_cookie(response, request, settings)
    return response
