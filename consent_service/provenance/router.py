"""POST /v1/provenance/verify: the `c2pa verify` check online, on an uploaded file.

Public like POST /v1/licences/verify (a platform checking what it is asked to publish has no
account here), rate-limited per address with the same limiter. A studio may call it with its
credential: then a file carrying another studio's licence is refused
(`licence_of_another_studio`), so a studio checking its own pipeline's output learns at once
that a file is not its own.

The body is multipart with one `file` part, streamed to a private temporary file (the vault's
receiver) up to CONSENT_PROVENANCE_MAX_UPLOAD_BYTES, and removed when the check is done.
Problems about the file itself have their own codes; answers about the licence are a verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from consent_service.accounts.principal import Role
from consent_service.config import Settings
from consent_service.deps import OptionalPrincipal, ServicesDep, SessionDep
from consent_service.errors import DomainError, PayloadTooLarge, RateLimited, problem_responses
from consent_service.provenance import check
from consent_service.provenance.schemas import ProvenanceVerdictOut
from consent_service.vault.sanitize import UnsupportedMedia
from consent_service.vault.upload import ReferenceTooLarge, openapi_body, receive_upload
from consent_service.wiring import Services

router = APIRouter(tags=["provenance"])
VERIFY_PATH = "/v1/provenance/verify"
_FAMILIES = ("image", "audio", "video")


class UnsupportedFormat(DomainError):
    code, status, title = "unsupported_format", 415, "C2PA manifests cannot be read in this file"


class ProvenanceFileTooLarge(PayloadTooLarge):
    code, title = "file_too_large", "The file is larger than this service checks"


class NoManifest(DomainError):
    code, status, title = "no_manifest", 422, "The file carries no C2PA manifest"


class ManifestUnreadable(DomainError):
    code, status, title = "manifest_unreadable", 422, "The C2PA manifest cannot be read"


class ManifestInvalid(DomainError):
    code, status, title = "manifest_invalid", 422, "The C2PA manifest does not validate"


class LicenceOfAnotherStudio(DomainError):
    code, status, title = "licence_of_another_studio", 422, "The file's licence is not yours"


# Verdicts about the file itself, answered as problems (the verdict rides along).
_FILE_PROBLEMS: dict[str, type[DomainError]] = {
    check.UNSUPPORTED_FORMAT: UnsupportedFormat,
    check.NO_MANIFEST: NoManifest,
    check.MANIFEST_UNREADABLE: ManifestUnreadable,
    check.MANIFEST_INVALID: ManifestInvalid,
}


def upload_body_limits(settings: Settings) -> dict[str, int]:
    """The request-size limit of the route (the file plus the multipart framing)."""
    return {VERIFY_PATH: settings.provenance_max_upload_bytes + 64 * 1024}


async def _rate_limit(request: Request, services: ServicesDep) -> None:
    address = request.client.host if request.client else "unknown"
    retry_after = services.verify_rate_limiter.acquire(address)
    if retry_after is not None:
        raise RateLimited(
            "Too many verification requests from this address; retry later",
            retry_after_seconds=max(1, round(retry_after)),
        )


def _check(services: Services, path: Path) -> check.ProvenanceVerdict:
    with services.read_session() as session:
        return check.check_file(
            path,
            verify_licence=services.online_verifier.verify,
            receipt_key_for=lambda kid: services.signer.public_key(session, kid),
            trust_anchors_pem=services.c2pa_trust_anchors,
        )


@router.post(
    VERIFY_PATH,
    response_model=ProvenanceVerdictOut,
    responses=problem_responses(400, 401, 413, 415, 422, 429),
    openapi_extra=openapi_body(),
    summary="Verify a file's C2PA manifest and the licence it carries (multipart: file)",
)
async def verify_provenance(
    request: Request,
    services: ServicesDep,
    principal: OptionalPrincipal,
    session: SessionDep,
    _limit: Annotated[None, Depends(_rate_limit)],
) -> JSONResponse:
    # End the transaction of authentication before receiving the body (SQLite's write lock
    # must not wait on a client's upload); nothing of this route writes.
    await run_in_threadpool(session.commit)
    settings = services.settings
    try:
        upload = await receive_upload(
            request,
            tmp_dir=settings.data_dir / "tmp" / "provenance",
            limits=dict.fromkeys(_FAMILIES, settings.provenance_max_upload_bytes),
            text_fields={},
        )
    except UnsupportedMedia as exc:
        raise UnsupportedFormat("Not a file type C2PA manifests can be embedded in") from exc
    except ReferenceTooLarge as exc:
        limit = settings.provenance_max_upload_bytes
        raise ProvenanceFileTooLarge(f"Files may be at most {limit} bytes") from exc
    try:
        verdict = await run_in_threadpool(_check, services, upload.path)
    finally:
        upload.discard()
    answer: dict[str, Any] = verdict.to_dict()
    problem_type = _FILE_PROBLEMS.get(verdict.code)
    if problem_type is not None:
        raise problem_type(verdict.detail, verdict=answer)
    if (
        principal is not None
        and principal.role is Role.studio
        and verdict.licence is not None
        and verdict.licence.studio_id is not None
        and verdict.licence.studio_id != principal.organization_id
    ):
        raise LicenceOfAnotherStudio("The file carries a licence granted to another studio")
    # Already JSON-ready and in the shape of ProvenanceVerdictOut (which documents it).
    return JSONResponse(answer)
