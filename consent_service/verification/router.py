"""Routes: the verifier's review queue, evidence uploads, challenges and assurance."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from consent_service.accounts.principal import Principal, Role
from consent_service.config import Settings
from consent_service.consents import lifecycle
from consent_service.deps import (
    CurrentPrincipal,
    KeyringDep,
    SessionDep,
    SettingsDep,
    SignerDep,
    WritingRead,
    require_roles,
)
from consent_service.errors import PayloadTooLarge, problem_responses
from consent_service.pagination import CursorQuery, LimitQuery, Page, decode_cursor, encode_cursor
from consent_service.vault.router import StorageDep, private_download
from consent_service.vault.upload import ReferenceTooLarge, openapi_body, receive_upload
from consent_service.verification import service as verification
from consent_service.verification.models import Evidence, VerificationCase
from consent_service.verification.schemas import (
    AssuranceOut,
    CaseDetail,
    CaseKind,
    CaseOut,
    CaseStatus,
    CaseStatusOut,
    CaseSubject,
    CaseSubmitted,
    ChallengeCreate,
    ChallengeOut,
    EvidenceOut,
    ReviewDecision,
    WithdrawBody,
)

router = APIRouter(tags=["verification"])
_T = TypeVar("_T")

Verifier = Annotated[Principal, Depends(require_roles(Role.verifier))]
# Auditors read cases (never the evidence media, nor the registration they are checked against).
VerifierOrAuditor = Annotated[Principal, Depends(require_roles(Role.verifier, Role.auditor))]
HolderPrincipal = Annotated[Principal, Depends(require_roles(Role.holder))]

# Upload routes (path suffixes), for the request-size middleware.
UPLOAD_SUFFIXES = ("/captures", "/identity-documents", "/evidence", "/court-approval", "/death")


def upload_body_limits(settings: Settings) -> dict[str, int]:
    return {suffix: settings.vault_max_upload_bytes for suffix in UPLOAD_SUFFIXES}


class EvidenceTooLarge(PayloadTooLarge):
    code, title = "evidence_too_large", "The file is larger than allowed for its type"


def _case_out(case: VerificationCase, principal: Principal | None = None) -> dict[str, Any]:
    # An auditor does not get the reviewer's free-text reason (it may name someone).
    auditor = principal is not None and principal.role is Role.auditor
    return {
        "id": case.id,
        "kind": CaseKind(case.kind),
        "status": CaseStatus(case.status),
        "holder_id": case.holder_id,
        "representative_id": case.representative_id,
        "request_id": case.request_id,
        # The phrase's hash stays inside: with it, 6 words from a short list can be brute-forced.
        "details": {k: v for k, v in (case.details or {}).items() if k != "phrase_sha256"},
        "reason": None if auditor else case.reason,
        "submitted_by": case.submitted_by,
        "reviewed_by": case.reviewed_by,
        "created_at": case.created_at,
        "reviewed_at": case.reviewed_at,
        "withdrawn_at": case.withdrawn_at,
    }


def _evidence_out(evidence: Evidence, *, link: bool) -> EvidenceOut:
    deleted = evidence.deleted_at is not None or evidence.wrapped_key is None
    return EvidenceOut(
        id=evidence.id,
        content_type=evidence.content_type,
        size=evidence.size,
        stripped_metadata=list(evidence.stripped_metadata or []),
        content_hmac=evidence.content_hmac,
        deleted=deleted,
        download=(
            f"/v1/verifications/{evidence.case_id}/evidence/{evidence.id}"
            if link and not deleted
            else None
        ),
        created_at=evidence.created_at,
    )


def _submitted(opened: verification.OpenedCase) -> CaseSubmitted:
    return CaseSubmitted(
        **_case_out(opened.case),
        evidence=[_evidence_out(e, link=False) for e in opened.evidence],
    )


async def _receive_and_submit(
    request: Request,
    *,
    session: Any,
    settings: Settings,
    text_fields: dict[str, int],
    check: Callable[[], object],
    submit: Callable[..., verification.OpenedCase],
) -> CaseSubmitted:
    """Authorise, end the read transaction, stream the body to disk, then submit it."""
    opened = await receive_evidence_then(
        request,
        session=session,
        settings=settings,
        text_fields=text_fields,
        check=check,
        submit=submit,
    )
    return _submitted(opened)


async def receive_evidence_then(
    request: Request,
    *,
    session: Any,
    settings: Settings,
    text_fields: dict[str, int],
    check: Callable[[], object],
    submit: Callable[..., _T],
) -> _T:
    """The evidence upload path: authorise (`check`), end the read transaction, stream the
    multipart body to disk (size limits per type), then `submit(upload=...)` in a thread.

    Shared with the death recording route (flows/router.py)."""
    await run_in_threadpool(check)
    # On SQLite a transaction holds the write lock, which must not wait on a client's upload.
    await run_in_threadpool(session.commit)
    try:
        upload = await receive_upload(
            request,
            tmp_dir=settings.data_dir / "tmp" / "uploads",
            limits={
                "image": settings.vault_max_image_bytes,
                "audio": settings.vault_max_audio_bytes,
                "video": settings.vault_max_video_bytes,
            },
            text_fields=text_fields,
        )
    except ReferenceTooLarge as exc:
        raise EvidenceTooLarge(exc.detail) from exc
    try:
        return await run_in_threadpool(partial(submit, upload=upload))
    finally:
        upload.discard()


UPLOAD_PROBLEMS = problem_responses(400, 401, 404, 409, 413, 415, 422, 503)


# -- holder side ------------------------------------------------------------------------------


@router.post(
    "/v1/holders/{holder_id}/challenges",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(401, 404, 422),
    summary="A one-time phrase to speak on a live capture (6 words, single use, 10 minutes)",
)
@router.post(
    "/v1/holders/{holder_id}/verification-challenges",
    status_code=status.HTTP_201_CREATED,
    response_model=ChallengeOut,
    responses=problem_responses(401, 404, 422),
    summary="Alias of /challenges (the name API.md fixed)",
)
def create_challenge(
    holder_id: str,
    principal: HolderPrincipal,
    session: SessionDep,
    body: ChallengeCreate | None = None,
) -> ChallengeOut:
    challenge, phrase = verification.create_challenge(
        session,
        principal=principal,
        holder_id=holder_id,
        purpose=(body or ChallengeCreate()).purpose,
    )
    return ChallengeOut(
        id=challenge.id,
        holder_id=challenge.holder_id,
        purpose=challenge.purpose,
        phrase=phrase,
        expires_at=challenge.expires_at,
    )


@router.post(
    "/v1/holders/{holder_id}/captures",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseSubmitted,
    responses=UPLOAD_PROBLEMS,
    openapi_extra=openapi_body(challenge_id={"type": "string"}),
    summary="Upload a short video or audio of the holder speaking a challenge phrase",
)
async def submit_capture(
    holder_id: str,
    request: Request,
    principal: HolderPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> CaseSubmitted:
    return await _receive_and_submit(
        request,
        session=session,
        settings=settings,
        text_fields={"challenge_id": 64},
        check=partial(verification.acting_holder, session, principal, holder_id),
        submit=partial(
            verification.submit_capture,
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
        ),
    )


@router.post(
    "/v1/holders/{holder_id}/identity-documents",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseSubmitted,
    responses=UPLOAD_PROBLEMS,
    openapi_extra=openapi_body(
        document_type={
            "type": "string",
            "enum": ["passport", "national_id", "driving_licence", "residence_permit"],
        },
        issuing_country={"type": "string", "description": "ISO 3166-1 alpha-2"},
        number_last4={"type": "string", "description": "Last 4 characters of its number"},
    ),
    summary="Upload an image of an identity document; deleted once a verifier decided",
)
async def submit_identity_document(
    holder_id: str,
    request: Request,
    principal: HolderPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> CaseSubmitted:
    return await _receive_and_submit(
        request,
        session=session,
        settings=settings,
        text_fields={"document_type": 32, "issuing_country": 8, "number_last4": 8},
        check=partial(verification.acting_holder, session, principal, holder_id),
        submit=partial(
            verification.submit_identity_document,
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
        ),
    )


@router.post(
    "/v1/holders/{holder_id}/representatives/{representative_id}/evidence",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseSubmitted,
    responses=UPLOAD_PROBLEMS,
    openapi_extra=openapi_body(document_type={"type": "string"}),
    summary="Upload the evidence of a representative's authority (court order, letters "
    "testamentary, power of attorney, mandate)",
)
async def submit_authority_evidence(
    holder_id: str,
    representative_id: str,
    request: Request,
    principal: HolderPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> CaseSubmitted:
    return await _receive_and_submit(
        request,
        session=session,
        settings=settings,
        text_fields={"document_type": 32},
        check=partial(
            verification.check_representative,
            session,
            principal=principal,
            holder_id=holder_id,
            representative_id=representative_id,
        ),
        submit=partial(
            verification.submit_authority_evidence,
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            holder_id=holder_id,
            representative_id=representative_id,
        ),
    )


@router.post(
    "/v1/consent-requests/{request_id}/court-approval",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseSubmitted,
    responses=UPLOAD_PROBLEMS,
    openapi_extra=openapi_body(
        document_date={"type": "string", "format": "date"},
        names_request_id={"type": "string", "description": "The request id the order names"},
        court={"type": "string"},
    ),
    summary="Upload a court's approval of a minor's grant (the guardian)",
)
async def submit_court_approval(
    request_id: str,
    request: Request,
    principal: HolderPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> CaseSubmitted:
    return await _receive_and_submit(
        request,
        session=session,
        settings=settings,
        text_fields={"document_date": 16, "names_request_id": 64, "court": 200},
        check=partial(
            verification.check_court_approval, session, principal=principal, request_id=request_id
        ),
        submit=partial(
            verification.submit_court_approval,
            session,
            keyring=keyring,
            storage=storage,
            principal=principal,
            request_id=request_id,
        ),
    )


@router.get(
    "/v1/holders/{holder_id}/verifications",
    response_model=Page[CaseOut],
    responses=problem_responses(401, 404),
    summary="The holder's own verification cases and their decisions",
)
def list_holder_cases(
    holder_id: str, principal: HolderPrincipal, session: SessionDep
) -> Page[CaseOut]:
    cases = verification.list_cases_of_holder(session, principal=principal, holder_id=holder_id)
    return Page(items=[CaseOut(**_case_out(c)) for c in cases])


@router.post(
    "/v1/holders/{holder_id}/verifications/{case_id}/withdraw",
    response_model=CaseOut,
    responses=problem_responses(401, 404, 409, 422),
    summary="Withdraw evidence: a pending case stops, an approved one no longer counts",
)
def withdraw_case(
    holder_id: str,
    case_id: str,
    principal: HolderPrincipal,
    session: SessionDep,
    storage: StorageDep,
    signer: SignerDep,
    body: WithdrawBody | None = None,
) -> CaseOut:
    case = verification.withdraw_case(
        session,
        storage=storage,
        principal=principal,
        holder_id=holder_id,
        case_id=case_id,
        reason=(body or WithdrawBody()).reason,
    )
    # Down when evidence goes: grants accepted on the strength of the lost level are
    # suspended in this same transaction (docs/verification.md).
    lifecycle.suspend_below_assurance(session, signer=signer, holder_id=holder_id)
    return CaseOut(**_case_out(case))


@router.get(
    "/v1/holders/{holder_id}/assurance",
    response_model=AssuranceOut,
    responses=problem_responses(401, 404),
    summary="The holder's identity assurance level (holder, admin, auditor, a studio that "
    "asked them)",
)
def get_assurance(holder_id: str, principal: CurrentPrincipal, session: SessionDep) -> AssuranceOut:
    level, cases = verification.assurance_view(session, principal=principal, holder_id=holder_id)
    return AssuranceOut(
        holder_id=holder_id,
        assurance=level,
        cases=[
            CaseStatusOut(
                id=c.id,
                kind=CaseKind(c.kind),
                status=CaseStatus(c.status),
                reviewed_at=c.reviewed_at,
            )
            for c in cases
        ],
    )


# -- the review queue (verifiers) -------------------------------------------------------------


@router.get(
    "/v1/verifications",
    response_model=Page[CaseOut],
    responses=problem_responses(400, 401, 404, 422),
    summary="The review queue (verifier); every case, read-only (auditor)",
)
def list_cases(
    verifier: VerifierOrAuditor,
    session: SessionDep,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    kind: CaseKind | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[CaseOut]:
    rows = verification.list_cases(
        session,
        verifier=verifier,
        status=status_,
        kind=kind,
        limit=limit + 1,
        after=decode_cursor(cursor),
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id)
    return Page(
        items=[CaseOut(**_case_out(c, principal=verifier)) for c in rows], next_cursor=next_cursor
    )


@router.get(
    "/v1/verifications/{case_id}",
    response_model=CaseDetail,
    responses=problem_responses(401, 403, 404),
    summary="A case with its evidence links and what its review needs (verifier); the case "
    "and its evidence's metadata, without media (auditor)",
)
def get_case(
    case_id: str, verifier: VerifierOrAuditor, session: SessionDep, keyring: KeyringDep
) -> CaseDetail:
    view = verification.get_case(session, keyring=keyring, verifier=verifier, case_id=case_id)
    subject = None
    if view.subject is not None:
        name, born, jurisdiction, died = view.subject
        subject = CaseSubject(
            legal_name=name, date_of_birth=born, jurisdiction=jurisdiction, date_of_death=died
        )
    return CaseDetail(
        **_case_out(view.case, principal=verifier),
        evidence=[_evidence_out(e, link=verifier.role is Role.verifier) for e in view.evidence],
        subject=subject,
        assurance=view.assurance,
    )


@router.get(
    "/v1/verifications/{case_id}/evidence/{evidence_id}",
    dependencies=[WritingRead],
    response_class=StreamingResponse,
    responses={
        200: {"description": "The cleaned evidence, decrypted", "content": {"*/*": {}}},
        **problem_responses(401, 403, 404, 410, 500, 503),
    },
    summary="Download one piece of a case's evidence (verifier); audited",
)
def download_evidence(
    case_id: str,
    evidence_id: str,
    verifier: Verifier,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
) -> StreamingResponse:
    evidence, content = verification.open_evidence(
        session,
        keyring=keyring,
        storage=storage,
        verifier=verifier,
        case_id=case_id,
        evidence_id=evidence_id,
    )
    return private_download(content, media_type=evidence.content_type, size=evidence.size)


def _review(approve: bool) -> Callable[..., CaseOut]:
    def review(
        case_id: str,
        body: ReviewDecision,
        verifier: Verifier,
        session: SessionDep,
        storage: StorageDep,
    ) -> CaseOut:
        case = verification.review_case(
            session,
            storage=storage,
            verifier=verifier,
            case_id=case_id,
            approve=approve,
            reason=body.reason,
            heard_phrase=body.heard_phrase,
        )
        return CaseOut(**_case_out(case))

    review.__name__ = "approve_case" if approve else "reject_case"
    return review


router.add_api_route(
    "/v1/verifications/{case_id}/approve",
    _review(True),
    methods=["POST"],
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Approve a pending case with a reason (verifier)",
)
router.add_api_route(
    "/v1/verifications/{case_id}/reject",
    _review(False),
    methods=["POST"],
    response_model=CaseOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Reject a pending case with a reason (verifier)",
)
