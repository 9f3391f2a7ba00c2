"""Routes: issue, read and revoke licences; verify them online; serve status lists."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from consent_service.db import utcnow
from consent_service.deps import (
    CurrentPrincipal,
    KeyringDep,
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
    Studio,
)
from consent_service.errors import RateLimited, problem_responses
from consent_service.licences import service as licences
from consent_service.licences import verifier
from consent_service.licences.models import Licence
from consent_service.licences.schemas import (
    LicenceIssue,
    LicenceIssued,
    LicenceRecord,
    LicenceRevoke,
    StatusListReference,
    VerifyRequest,
    VerifyResponse,
)
from consent_service.ops.http import negotiate
from consent_service.pagination import (
    CursorQuery,
    LimitQuery,
    Page,
    decode_cursor,
)

router = APIRouter(tags=["licences"])
STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt"


def _record(licence: Licence, issuer: str) -> LicenceRecord:
    return LicenceRecord(
        id=licence.id,
        consent_id=licence.consent_id,
        holder_id=licence.holder_id,
        studio_id=licence.studio_id,
        scope=licence.scope,
        status=licences.status_now(licence, utcnow()),
        valid_from=licence.valid_from,
        expires_at=licence.valid_until,
        issued_at=licence.created_at,
        status_changed_at=licence.status_changed_at,
        revocation_cause=licence.revocation_cause,
        status_list=StatusListReference(
            uri=licences.status_list_uri(issuer, licence.status_list_id),
            idx=licence.status_list_index,
        ),
    )


async def verify_rate_limit(request: Request, services: ServicesDep) -> None:
    """Per client address, in this process (see ops/rate_limit.py); async: no thread hop."""
    address = request.client.host if request.client else "unknown"
    retry_after = services.verify_rate_limiter.acquire(address)
    if retry_after is not None:
        raise RateLimited(
            "Too many verification requests from this address; retry later",
            retry_after_seconds=max(1, round(retry_after)),
        )


@router.post(
    "/v1/licences",
    status_code=status.HTTP_201_CREATED,
    response_model=LicenceIssued,
    responses=problem_responses(401, 404, 409, 422),
    summary="Issue a licence under an active consent (the grantee studio)",
)
def issue_licence(
    body: LicenceIssue,
    studio: Studio,
    session: SessionDep,
    signer: SignerDep,
) -> LicenceIssued:
    issued = licences.issue_licence(session=session, signer=signer, studio=studio, body=body)
    licence = issued.licence
    return LicenceIssued(
        id=licence.id,
        token=issued.token,
        status=licence.status,
        consent_id=licence.consent_id,
        valid_from=licence.valid_from,
        expires_at=licence.valid_until,
        status_list=StatusListReference(uri=issued.status_list_uri, idx=licence.status_list_index),
    )


@router.post(
    "/v1/licences/verify",
    response_model=VerifyResponse,
    responses=problem_responses(400, 413, 422, 429),
    summary="Verify a licence online (no credential needed)",
)
async def verify_licence(
    body: VerifyRequest,
    services: ServicesDep,
    _limit: Annotated[None, Depends(verify_rate_limit)],
) -> Response:
    # The hot path: async dependencies only, and all blocking work (one indexed read, one
    # ECDSA verification) in a single worker-thread call, on the read-only engine.
    use = None
    if body.use is not None:
        use = verifier.ProposedUse(
            attribute=body.use.attribute,
            purpose=body.use.purpose,
            territory=body.use.territory,
            medium=body.use.medium,
            project=body.use.project,
            categories=tuple(body.use.categories),
            at=body.use.at,
        )

    verdict = await run_in_threadpool(
        services.online_verifier.verify, body.token, use, body.min_assurance, body.audience
    )
    # Already JSON-ready and in the shape of VerifyResponse (which documents it): skip a
    # second validation of what we built ourselves.
    return JSONResponse(verdict.to_dict())


@router.get(
    "/v1/licences",
    response_model=Page[LicenceRecord],
    responses=problem_responses(400, 401, 404),
    summary="Licences the caller may see (its studio's, or the holder's own)",
)
def list_licences(
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    consent_id: str | None = None,
) -> Page[LicenceRecord]:
    rows = licences.list_licences(
        session=session,
        principal=principal,
        consent_id=consent_id,
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    return Page.from_rows(rows, limit).map(lambda row: _record(row, settings.issuer))


@router.get(
    "/v1/licences/{licence_id}",
    response_model=LicenceRecord,
    responses=problem_responses(401, 404),
)
def get_licence(
    licence_id: str, principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep
) -> LicenceRecord:
    licence = licences.get_licence(session=session, principal=principal, licence_id=licence_id)
    return _record(licence, settings.issuer)


@router.post(
    "/v1/licences/{licence_id}/revoke",
    response_model=LicenceRecord,
    responses=problem_responses(401, 404, 422),
    summary="Revoke one licence (its holder, its studio, or an admin)",
)
def revoke_licence(
    licence_id: str,
    body: LicenceRevoke,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> LicenceRecord:
    licence = licences.revoke_licence(
        session=session,
        keyring=keyring,
        principal=principal,
        licence_id=licence_id,
        reason=body.reason,
    )
    return _record(licence, settings.issuer)


@router.get(
    "/v1/status-lists/{list_id}",
    response_class=Response,
    responses={
        200: {
            "description": "Signed status list (IETF OAuth Token Status List draft)",
            "content": {STATUS_LIST_MEDIA_TYPE: {}},
        },
        **problem_responses(404, 406),
    },
    summary="A signed status list (statuslist+jwt), cacheable for its ttl",
    description="The IETF OAuth Token Status List of the licences that point to it, signed "
    "(ES256). Public, cacheable for its ttl, readable cross-origin (CORS) and gzip-compressed "
    "when asked; 406 to an `Accept` that does not admit `application/statuslist+jwt`.",
)
def get_status_list(
    list_id: str,
    request: Request,
    session: ReadSessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    negotiate(request.headers.get("accept"), (STATUS_LIST_MEDIA_TYPE,))
    ttl = settings.status_list_ttl_seconds
    token = licences.status_list_token(session=session, signer=signer, list_id=list_id, ttl=ttl)
    return Response(
        content=token,
        media_type=STATUS_LIST_MEDIA_TYPE,
        headers={"Cache-Control": f"public, max-age={ttl}"},
    )
