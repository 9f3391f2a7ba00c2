"""Routes: recording a holder's death (multipart, evidence) and registering an estate."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, status

from consent_service.accounts import passwords
from consent_service.deps import CurrentPrincipal, KeyringDep, SessionDep, SettingsDep, SignerDep
from consent_service.errors import problem_responses
from consent_service.flows import death, estate
from consent_service.flows.schemas import (
    DeathCase,
    DeathRecordedOut,
    EstateRegister,
    EstateRegistered,
)
from consent_service.vault.router import StorageDep
from consent_service.vault.upload import openapi_body
from consent_service.verification.router import UPLOAD_PROBLEMS, receive_evidence_then

router = APIRouter(tags=["death and estates"])


@router.post(
    "/v1/holders/{holder_id}/death",
    status_code=status.HTTP_201_CREATED,
    response_model=DeathRecordedOut,
    responses={**UPLOAD_PROBLEMS, **problem_responses(403)},
    openapi_extra=openapi_body(date_of_death={"type": "string", "format": "date"}),
    summary="Record the holder's death with the death certificate (a verifier, or the "
    "holder's executor once a verifier approved their authority)",
)
async def record_death(
    holder_id: str,
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    signer: SignerDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DeathRecordedOut:
    recorded = await receive_evidence_then(
        request,
        session=session,
        settings=settings,
        text_fields={"date_of_death": 16},
        check=partial(
            death.check, session, signer=signer, principal=principal, holder_id=holder_id
        ),
        submit=partial(
            death.record,
            session,
            signer=signer,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
        ),
    )
    return DeathRecordedOut(
        holder_id=recorded.holder_id,
        status="deceased",
        date_of_death=recorded.date_of_death,
        recorded_by=recorded.recorded_by,
        death_case=DeathCase(id=recorded.case.id, status=recorded.case.status),
        ended_consents=recorded.ended_consents,
        cut_consents=recorded.cut_consents,
        post_mortem_rights_until=recorded.post_mortem_rights_until,
    )


@router.post(
    "/v1/estates",
    status_code=status.HTTP_201_CREATED,
    response_model=EstateRegistered,
    responses=problem_responses(400, 409, 413, 422),
    summary="An executor registers a deceased person's estate (the holder and the executor's "
    "login); the executor acts once a verifier approved their authority",
)
def register_estate(
    body: EstateRegister, session: SessionDep, keyring: KeyringDep
) -> EstateRegistered:
    # Hash before the write transaction (argon2 never runs under SQLite's write lock).
    session.commit()
    password_hash = passwords.hash_password(body.executor.password)
    registered = estate.register_estate(
        session, keyring=keyring, data=body, password_hash=password_hash
    )
    holder_id, rep_id = registered.holder.id, registered.executor.row.id
    return EstateRegistered(
        holder_id=holder_id,
        executor_id=rep_id,
        death_recorded=False,
        next_steps=[
            f"POST /v1/holders/{holder_id}/representatives/{rep_id}/evidence: the letters "
            "testamentary or grant of probate (document_type), signed in as the executor",
            "wait for a verifier's approval of that case",
            f"POST /v1/holders/{holder_id}/death: date_of_death and the death certificate",
        ],
    )
