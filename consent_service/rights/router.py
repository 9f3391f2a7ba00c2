"""Routes: holder export and erasure (API.md, "Holder rights")."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from consent_service.deps import HolderOrAdmin, KeyringDep, SessionDep, SignerDep, WritingRead
from consent_service.errors import problem_responses
from consent_service.rights import service as rights
from consent_service.rights.schemas import Erased
from consent_service.vault.router import StorageDep

router = APIRouter(prefix="/v1/holders", tags=["holder rights"])


@router.get(
    "/{holder_id}/export",
    dependencies=[WritingRead],
    responses={
        200: {"description": "Everything held about the holder, as one JSON document"},
        **problem_responses(401, 404),
    },
    summary="Export everything held about the holder (GDPR Art. 15, 20)",
)
def export_holder(
    holder_id: str, principal: HolderOrAdmin, session: SessionDep, keyring: KeyringDep
) -> JSONResponse:
    document = rights.export_holder(
        session, keyring=keyring, principal=principal, holder_id=holder_id
    )
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="holder-export-{holder_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/{holder_id}",
    response_model=Erased,
    responses=problem_responses(401, 404, 503),
    summary="Erase the holder: grants withdrawn, key destroyed, objects deleted (Art. 17)",
)
def erase_holder(
    holder_id: str,
    principal: HolderOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    storage: StorageDep,
) -> Erased:
    holder = rights.erase_holder(
        session,
        signer=signer,
        storage=storage,
        principal=principal,
        holder_id=holder_id,
    )
    assert holder.erased_at is not None  # for mypy: erase_holder sets it
    return Erased(id=holder.id, erased_at=holder.erased_at)
