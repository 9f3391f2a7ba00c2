"""Routes: a holder's representatives."""

from __future__ import annotations

from fastapi import APIRouter, status

from consent_service.deps import CurrentPrincipal, KeyringDep, SessionDep
from consent_service.errors import problem_responses
from consent_service.representatives import service as representatives
from consent_service.representatives.schemas import RepresentativeCreate, RepresentativeOut

router = APIRouter(prefix="/v1/holders", tags=["representatives"])


@router.post(
    "/{holder_id}/representatives",
    status_code=status.HTTP_201_CREATED,
    response_model=RepresentativeOut,
    responses=problem_responses(401, 404, 409, 422),
    summary="Record a guardian, agent, executor or attorney with its authority (holder, admin)",
)
def add_representative(
    holder_id: str,
    body: RepresentativeCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
) -> RepresentativeOut:
    rep = representatives.add_representative(
        session, keyring=keyring, actor=principal, holder_id=holder_id, data=body
    )
    return RepresentativeOut(
        id=rep.row.id,
        holder_id=rep.row.holder_id,
        kind=body.kind,
        name=rep.name,
        email=rep.email,
        authority_evidence=rep.authority_evidence,
        post_mortem_rights=rep.post_mortem_rights,
        created_at=rep.row.created_at,
    )
