"""Routes: a studio's invitations; a person accepts (signed in) or declines (with the token)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Form, Query, Response, status
from fastapi.responses import HTMLResponse

from consent_service.db import utcnow
from consent_service.deps import Holder, KeyringDep, SessionDep, SignerDep, Studio
from consent_service.errors import DomainError, problem_responses
from consent_service.invitations import service as invitations
from consent_service.invitations.models import Invitation
from consent_service.invitations.schemas import (
    InvitationAccepted,
    InvitationCreate,
    InvitationOut,
    InvitationToken,
)
from consent_service.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1", tags=["invitations"])
page_router = APIRouter(tags=["invitations"], include_in_schema=False)


def _out(row: Invitation) -> InvitationOut:
    accepted = row.status == "accepted"
    return InvitationOut(
        id=row.id,
        status=invitations.status_of(row, utcnow()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        has_consent_request=row.request_spec is not None,
        holder_id=row.holder_id if accepted else None,
        consent_request_id=row.request_id if accepted else None,
        consent_request_error=row.request_error if accepted else None,
    )


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationOut,
    responses=problem_responses(401, 404, 409, 422),
    summary="Invite a person by email (studio); the holder id is shown only once accepted",
)
def create_invitation(
    body: InvitationCreate, studio: Studio, session: SessionDep, keyring: KeyringDep
) -> InvitationOut:
    return _out(invitations.create(session, keyring=keyring, studio=studio, body=body))


@router.get(
    "/invitations",
    response_model=Page[InvitationOut],
    responses=problem_responses(400, 401, 404),
    summary="The studio's own invitations, newest first",
)
def list_invitations(
    studio: Studio, session: SessionDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> Page[InvitationOut]:
    page = invitations.list_of_studio(session, studio=studio, cursor=cursor, limit=limit)
    return page.map(_out)


@router.delete(
    "/invitations/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 409),
    summary="Withdraw a pending invitation (studio); its link stops working",
)
def withdraw_invitation(invitation_id: str, studio: Studio, session: SessionDep) -> Response:
    invitations.withdraw(session, studio=studio, invitation_id=invitation_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/accept",
    response_model=InvitationAccepted,
    responses=problem_responses(400, 401, 404, 422),
    summary="Accept an invitation (signed-in holder): the studio learns your holder id",
)
def accept_invitation(
    body: InvitationToken, holder: Holder, session: SessionDep, signer: SignerDep
) -> InvitationAccepted:
    row = invitations.accept(session, signer=signer, holder=holder, token=body.token)
    return InvitationAccepted(
        invitation_id=row.id,
        studio_id=row.studio_id,
        consent_request_id=row.request_id,
        consent_request_error=row.request_error,
    )


@router.post(
    "/invitations/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(400, 422),
    summary="Decline an invitation with the mailed token (no account needed)",
)
def decline_invitation(body: InvitationToken, session: SessionDep) -> Response:
    invitations.decline(session, token=body.token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"></head>
<body><main><h1>{title}</h1>{body}</main></body></html>
"""


@page_router.get("/invitations/accept", response_class=HTMLResponse)
def invitation_page(
    session: SessionDep, token: str = Query(default="", max_length=128)
) -> HTMLResponse:
    """The plain page the mail links to: who invites you, and how to accept or decline."""
    found = invitations.peek(session, token)
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    if found is None:
        body = (
            "<p>This invitation is not valid: it was used, withdrawn or has expired, or the "
            "link was mistyped.</p>"
        )
        html = _PAGE.format(title="Invitation not valid", body=body)
        return HTMLResponse(html, status_code=400, headers=headers)
    row, studio_name = found
    t = escape(token, quote=True)
    body = (
        f"<p>{escape(studio_name)} invites you to register your likeness with this consent "
        "registry. Accepting tells them your registry id, so that they can ask for your "
        "consent; nothing is allowed until you give it.</p>"
        f"<p>The invitation works once and ends on {row.expires_at:%-d %B %Y}.</p>"
        f'<p><a href="/portal/signup?invitation={t}">Create an account and accept</a></p>'
        f'<p><a href="/portal/login?invitation={t}">Sign in and accept</a></p>'
        "<p>Signed in elsewhere (an app using the API)? It accepts with "
        "<code>POST /v1/invitations/accept</code> and this token.</p>"
        "<p>Not interested? Decline, and the studio is told you declined "
        "(nothing else about you):</p>"
        '<form method="post" action="/invitations/decline">'
        f'<input type="hidden" name="token" value="{t}">'
        '<button type="submit">Decline</button></form>'
    )
    return HTMLResponse(_PAGE.format(title="You are invited", body=body), headers=headers)


@page_router.post("/invitations/decline", response_class=HTMLResponse)
def decline_page(
    session: SessionDep, token: Annotated[str, Form(max_length=128)] = ""
) -> HTMLResponse:
    """The plain page's decline button (the token is the credential, as in the mail)."""
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    try:
        invitations.decline(session, token=token)
    except DomainError:
        body = "<p>This invitation is not valid any more; nothing was changed.</p>"
        html = _PAGE.format(title="Invitation not valid", body=body)
        return HTMLResponse(html, status_code=400, headers=headers)
    body = "<p>You declined. The studio sees only that the invitation was declined.</p>"
    return HTMLResponse(_PAGE.format(title="Invitation declined", body=body), headers=headers)
