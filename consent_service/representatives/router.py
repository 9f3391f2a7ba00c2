"""Routes: a holder's representatives."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from consent_service.accounts import passwords
from consent_service.deps import CurrentPrincipal, KeyringDep, SessionDep
from consent_service.errors import problem_responses
from consent_service.pagination import Page
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
    # Hash before the write transaction: end authentication's read first, so that argon2
    # never runs while the transaction (on SQLite, the write lock) is held.
    session.commit()
    password_hash = passwords.hash_password(body.password)
    rep = representatives.add_representative(
        session,
        keyring=keyring,
        actor=principal,
        holder_id=holder_id,
        data=body,
        password_hash=password_hash,
    )
    return _out(rep)


def _out(rep: representatives.RepresentativeData) -> RepresentativeOut:
    return RepresentativeOut(
        id=rep.row.id,
        holder_id=rep.row.holder_id,
        kind=rep.row.kind,
        name=rep.name,
        email=rep.email,
        authority_evidence=rep.authority_evidence,
        post_mortem_rights=rep.post_mortem_rights,
        created_at=rep.row.created_at,
    )


@router.get(
    "/{holder_id}/representatives",
    response_model=Page[RepresentativeOut],
    responses=problem_responses(401, 404),
    summary="The holder's current representatives (holder, admin)",
)
def list_representatives(
    holder_id: str, principal: CurrentPrincipal, session: SessionDep, keyring: KeyringDep
) -> Page[RepresentativeOut]:
    reps = representatives.list_representatives(
        session, keyring=keyring, actor=principal, holder_id=holder_id
    )
    return Page(items=[_out(rep) for rep in reps])


@router.delete(
    "/{holder_id}/representatives/{representative_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Revoke a representative's authority at once (holder, admin)",
)
def revoke_representative(
    holder_id: str,
    representative_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
) -> Response:
    representatives.revoke_representative(
        session,
        keyring=keyring,
        actor=principal,
        holder_id=holder_id,
        representative_id=representative_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
