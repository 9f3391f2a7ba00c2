"""The plain invitation page the mail links to, under /portal so that it sees the portal's
session: signed in, the person accepts with one button (a CSRF-checked form); otherwise it
links to sign-up and sign-in. Anyone holding the link may decline (the token is the credential,
as in the mail). Portal pages that accept after sign-up or sign-in call the same service.

Carrying an invitation through sign-up and sign-in (portal/account.py, portal/router.py):

- `/portal/sign-up?invitation=…` and `/portal/login?invitation=…` (the mail's links) check the
  token (`offered`: a pending invitation, else ignored) and show whose invitation it is; the
  form carries it in a hidden field.
- A sign-up with a valid token keeps it in an HttpOnly, SameSite=Strict cookie on /portal for
  as long as the confirmation link lives (at most the invitation's own life): the person
  confirms the address from the mail, and the sign-in page after it finds the invitation again.
- Signing in with the token accepts it (`accept_on_sign_in`, the accept page's own service
  call, in a savepoint) and sends the person to the request it made. The token stays
  single-use (the service redeems it under a row lock); where to go next is built from the
  request's id, never from the query (no open redirect); and the token is never logged (the
  access log has route templates, no query strings) nor sent on (Referrer-Policy no-referrer).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from sqlmodel import Session

from consent_service.accounts.principal import Principal
from consent_service.catalogues import N_
from consent_service.config import Settings
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow
from consent_service.deps import SessionDep, SignerDep
from consent_service.errors import DomainError
from consent_service.invitations import service as invitations
from consent_service.portal import session as web
from consent_service.portal.pages import PortalRoute, render
from consent_service.portal.session import HolderForm, OptionalPortalSession

router = APIRouter(prefix="/portal/invitations", include_in_schema=False, route_class=PortalRoute)

TokenField = Annotated[str, Form(max_length=128)]
# How long a sign-up keeps the invitation for the sign-in after it: the confirmation link's life.
CARRY_SECONDS = 7 * 24 * 3600


# -- carrying an invitation through sign-up and sign-in ------------------------------------------


def offered(session: Session, token: str | None) -> str | None:
    """The inviting studio's name when `token` is a pending invitation's, else None."""
    found = invitations.peek(session, token or "")
    return found[1] if found else None


def carried(request: Request, given: str | None) -> str:
    """The invitation token a page carries: the link's or the form's, else the cookie a
    sign-up left (it is checked with `offered` before use)."""
    token = given or request.cookies.get(web.INVITATION_COOKIE, "")
    return token if len(token) <= 128 else ""


def remember(
    response: Response, request: Request, settings: Settings, session: Session, token: str
) -> None:
    """After a sign-up: keep a pending invitation's token for the sign-in that follows."""
    found = invitations.peek(session, token)
    if found is None:
        return
    left = int((found[0].expires_at - utcnow()).total_seconds())
    web.set_invitation_cookie(response, request, settings, token, min(CARRY_SECONDS, left))


def accept_on_sign_in(session: Session, *, signer: Signer, principal: Principal, token: str) -> str:
    """Accept the invitation for the person who just signed in; the page to go to next.

    In a savepoint: a refusal leaves the sign-in and nothing else. A token that is no longer
    pending goes home with a banner; a refusal of the request's terms goes to the invitation's
    page, where accepting again shows the problem, as it does there today."""
    try:
        with session.begin_nested():
            row = invitations.accept(session, signer=signer, holder=principal, token=token)
    except invitations.InvitationInvalid:
        return "/portal?done=invitation_invalid"
    except DomainError:
        return "/portal/invitations/accept?token=" + quote(token, safe="")
    if row.request_id:
        return f"/portal/requests/{row.request_id}?done=invitation"
    return "/portal?done=invitation"


def _page(request: Request, context: dict[str, Any], status_code: int = 200) -> Response:
    response = render(request, "invitation.html", context, status_code=status_code)
    response.headers["Referrer-Policy"] = "no-referrer"  # the URL carries the token
    return response


def _invalid(request: Request, portal: Any) -> Response:
    context = {"title": N_("Invitation not valid"), "outcome": "invalid", "portal": portal}
    return _page(request, context, status_code=400)


@router.get("/accept")
def invitation_page(
    request: Request,
    session: SessionDep,
    portal: OptionalPortalSession,
    token: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    found = invitations.peek(session, token)
    if found is None:
        return _invalid(request, portal)
    row, studio_name = found
    return _page(
        request,
        {
            "title": N_("%(studio)s invites you"),
            "studio_name": studio_name,
            "expires_at": row.expires_at,  # in words, in the reader's language
            "token": token,
            "portal": portal,
            "outcome": None,
        },
    )


@router.post("/accept")
def accept(
    request: Request,
    session: SessionDep,
    signer: SignerDep,
    portal: HolderForm,
    token: TokenField = "",
) -> Response:
    found = invitations.peek(session, token)
    if found is None:
        return _invalid(request, portal)
    _row, studio_name = found
    row = invitations.accept(session, signer=signer, holder=portal.principal, token=token)
    return _page(
        request,
        {
            "title": N_("Invitation accepted"),
            "outcome": "accepted",
            "studio_name": studio_name,
            "request_id": row.request_id,
            "portal": portal,
        },
    )


@router.post("/decline")
def decline(
    request: Request, session: SessionDep, portal: OptionalPortalSession, token: TokenField = ""
) -> Response:
    found = invitations.peek(session, token)
    if found is None:
        return _invalid(request, portal)
    _row, studio_name = found
    try:
        invitations.decline(session, token=token)
    except DomainError:  # ended between the two reads
        return _invalid(request, portal)
    context = {
        "title": N_("Invitation declined"),
        "outcome": "declined",
        "studio_name": studio_name,
        "portal": portal,
    }
    return _page(request, context)
