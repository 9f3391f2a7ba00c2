"""Routes: a studio's invitations; a person accepts (signed in) or declines (with the token)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from consent_service.db import utcnow
from consent_service.deps import Holder, KeyringDep, SessionDep, SignerDep, Studio
from consent_service.errors import problem_responses
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
