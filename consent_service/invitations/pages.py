"""The plain invitation page the mail links to, under /portal so that it sees the portal's
session: signed in, the person accepts with one button (a CSRF-checked form); otherwise it
links to sign-up and sign-in. Anyone holding the link may decline (the token is the credential,
as in the mail). Portal pages that accept after sign-up or sign-in call the same service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response

from consent_service.catalogues import N_
from consent_service.deps import SessionDep, SignerDep
from consent_service.errors import DomainError
from consent_service.invitations import service as invitations
from consent_service.portal.pages import PortalRoute, render
from consent_service.portal.session import HolderForm, OptionalPortalSession

router = APIRouter(prefix="/portal/invitations", include_in_schema=False, route_class=PortalRoute)

TokenField = Annotated[str, Form(max_length=128)]


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
