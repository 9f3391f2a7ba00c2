"""The portal's browser session: the access token in a cookie, and CSRF tokens for its forms.

The cookie holds the same ES256 access token `POST /v1/auth/token` gives out
(accounts.service.issue_access_token), so the portal adds no session store and no second kind of
credential: the token expires after `access_token_ttl_seconds` and is checked on every request
exactly as a bearer token is. Signing out puts the token's id on the revocation list
(accounts.service.revoke_access_token), so it is refused from then on, cookie or bearer.
The cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page or form
sends it) and Secure whenever the service is reached over https.

Every form that changes something also carries a CSRF token (OWASP "synchronizer token" without
server state): HMAC-SHA256 of the session's access token under the `portal-csrf` service key.
It is bound to one sign-in, unguessable without the cookie, and checked in constant time. The
login form, which has no session yet, uses a double-submit token: a random value in a
short-lived cookie that the form must echo.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request, Response
from sqlmodel import Session

from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.config import Settings
from consent_service.crypto.keyring import PORTAL_CSRF, Keyring
from consent_service.crypto.signer import Signer
from consent_service.deps import SessionDep, SignerDep
from consent_service.errors import Unauthenticated
from consent_service.holders import service as holders

SESSION_COOKIE = "consent_portal"
LOGIN_CSRF_COOKIE = "consent_portal_login"
INVITATION_COOKIE = "consent_portal_invitation"
COOKIE_PATH = "/portal"
LOGIN_CSRF_TTL_SECONDS = 3600
# Where the portal may send a browser after login: its own pages only (no open redirect).
_LOCAL_NEXT = re.compile(r"^/portal(/[A-Za-z0-9_\-]+)*/?$")


class LoginRequired(Exception):
    """No valid session of the page's role: the browser is sent to that role's login page."""

    def __init__(self, login_path: str = "/portal/login") -> None:
        super().__init__(login_path)
        self.login_path = login_path


class CsrfRejected(Exception):
    """A form arrived without the CSRF token of the current session (403)."""


@dataclass(frozen=True, slots=True)
class PortalSession:
    principal: Principal
    csrf_token: str


def csrf_token_for(session: Session, keyring: Keyring, access_token: str) -> str:
    key = keyring.service_key(session, PORTAL_CSRF)
    return hmac.new(key, b"portal-csrf\x00" + access_token.encode(), hashlib.sha256).hexdigest()


def _tokens_equal(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def principal_of_role(
    session: Session, signer: Signer, access_token: str, role: Role
) -> Principal | None:
    """The principal of `role` behind `access_token`; None for another role or a bad token.

    One cookie, one mechanism, several roles: each page asks for its own role, so a holder's
    session opens no auditor page and an auditor's none of the holder's."""
    try:
        principal = accounts.principal_from_access_token(session, signer=signer, token=access_token)
    except (Unauthenticated, holders.HolderDeceased):  # a deceased holder's session ends
        return None
    return principal if principal.role is role else None


def holder_principal(session: Session, signer: Signer, access_token: str) -> Principal | None:
    """The holder (or representative) behind `access_token`; None for anything else."""
    principal = principal_of_role(session, signer, access_token, Role.holder)
    return principal if principal is not None and principal.holder_id else None


def session_of_role(
    request: Request, session: Session, signer: Signer, role: Role
) -> PortalSession | None:
    """The cookie's session when it is one of `role`; None for no cookie, a bad token or
    another role (a holder's cookie is no auditor session, and the other way round)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 4096:
        return None
    principal = principal_of_role(session, signer, token, role)
    if principal is None or (role is Role.holder and not principal.holder_id):
        return None
    request.state.principal_role = principal.role.value
    return PortalSession(
        principal=principal, csrf_token=csrf_token_for(session, signer.keyring, token)
    )


def optional_session(
    request: Request, session: SessionDep, signer: SignerDep
) -> PortalSession | None:
    portal = session_of_role(request, session, signer, Role.holder)
    if portal is not None:
        # The language the holder chose: the portal's pages speak it (portal/i18n.py).
        request.state.portal_language = holders.language_of(session, portal.principal.holder_id)
    return portal


OptionalPortalSession = Annotated[PortalSession | None, Depends(optional_session)]


def required_session(portal: OptionalPortalSession) -> PortalSession:
    if portal is None:
        raise LoginRequired()
    return portal


HolderSession = Annotated[PortalSession, Depends(required_session)]


def session_csrf_matches(portal: PortalSession, given: str) -> None:
    """403 (CsrfRejected) unless `given` is the CSRF token of this session."""
    if not _tokens_equal(portal.csrf_token, given):
        raise CsrfRejected()


def checked_session(
    portal: HolderSession, csrf_token: Annotated[str, Form(max_length=256)] = ""
) -> PortalSession:
    """A holder session whose form carried this session's CSRF token (else 403)."""
    session_csrf_matches(portal, csrf_token)
    return portal


# For POST routes: signed in AND the form proves it came from a portal page.
HolderForm = Annotated[PortalSession, Depends(checked_session)]


# -- the auditor's pages (portal/auditor.py): the same cookie, the auditor role -------------------

AUDITOR_LOGIN_PATH = "/portal/audit/login"


def optional_auditor_session(
    request: Request, session: SessionDep, signer: SignerDep
) -> PortalSession | None:
    return session_of_role(request, session, signer, Role.auditor)


OptionalAuditorSession = Annotated[PortalSession | None, Depends(optional_auditor_session)]


def required_auditor_session(portal: OptionalAuditorSession) -> PortalSession:
    if portal is None:
        raise LoginRequired(AUDITOR_LOGIN_PATH)
    return portal


AuditorSession = Annotated[PortalSession, Depends(required_auditor_session)]


def checked_auditor_session(
    portal: AuditorSession, csrf_token: Annotated[str, Form(max_length=256)] = ""
) -> PortalSession:
    session_csrf_matches(portal, csrf_token)
    return portal


AuditorForm = Annotated[PortalSession, Depends(checked_auditor_session)]


# -- cookies ------------------------------------------------------------------------------------


def _secure(request: Request, settings: Settings) -> bool:
    # Behind a TLS-terminating proxy the request looks like http; the https issuer says otherwise.
    return request.url.scheme == "https" or settings.issuer.startswith("https://")


def _set_cookie(
    response: Response, request: Request, settings: Settings, name: str, value: str, max_age: int
) -> None:
    """Every portal cookie: this path only, HttpOnly, SameSite=Strict, Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(request, settings),
        samesite="strict",
    )


def _clear_cookie(response: Response, request: Request, settings: Settings, name: str) -> None:
    response.delete_cookie(
        name,
        path=COOKIE_PATH,
        httponly=True,
        secure=_secure(request, settings),
        samesite="strict",
    )


def set_session_cookie(
    response: Response, request: Request, settings: Settings, access_token: str, max_age: int
) -> None:
    _set_cookie(response, request, settings, SESSION_COOKIE, access_token, max_age)


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    _clear_cookie(response, request, settings, SESSION_COOKIE)


def set_invitation_cookie(
    response: Response, request: Request, settings: Settings, token: str, max_age: int
) -> None:
    """Carry an invitation's token from sign-up to the sign-in after the mailed confirmation
    (invitations/pages.py): only this site's own requests send it back, no script reads it."""
    _set_cookie(response, request, settings, INVITATION_COOKIE, token, max_age)


def clear_invitation_cookie(response: Response, request: Request, settings: Settings) -> None:
    _clear_cookie(response, request, settings, INVITATION_COOKIE)


def login_csrf_token(request: Request) -> str:
    """The login form's token: the one already in the browser's cookie, or a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return current if re.fullmatch(r"[A-Za-z0-9_\-]{32,64}", current) else secrets.token_urlsafe(32)


def set_login_csrf_cookie(
    response: Response, request: Request, settings: Settings, token: str
) -> None:
    _set_cookie(response, request, settings, LOGIN_CSRF_COOKIE, token, LOGIN_CSRF_TTL_SECONDS)


def clear_login_csrf_cookie(response: Response, request: Request, settings: Settings) -> None:
    _clear_cookie(response, request, settings, LOGIN_CSRF_COOKIE)


def check_login_csrf(request: Request, given: str) -> None:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not _tokens_equal(expected, given):
        raise CsrfRejected()


def safe_next(value: str | None, home: str = "/portal") -> str:
    """A post-login destination under `home`; anything else becomes `home` itself."""
    if value and len(value) <= 200 and _LOCAL_NEXT.fullmatch(value) and value.startswith(home):
        return value
    return home
