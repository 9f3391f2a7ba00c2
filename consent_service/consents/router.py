"""Routes: consent requests, grants, their status changes and receipts (API.md "Consent")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import JSONResponse, Response
from sqlmodel import Session

from consent_service.accounts.principal import Principal
from consent_service.consents import service as consents
from consent_service.consents.lifecycle import (
    Action,
    status_changed_at_now,
    status_now,
    transition,
)
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.consents.receipts import (
    RECEIPT_TYP,
    SCHEMA_MEDIA_TYPE,
    SCHEMA_PATH,
    receipt_schema,
)
from consent_service.consents.schemas import (
    AcceptBody,
    AcceptOut,
    ConsentOut,
    ConsentRequestCreate,
    ConsentRequestOut,
    DeclineBody,
    EmptyBody,
    NoticeOut,
    ReasonBody,
    ReceiptOut,
    StatusChangeOut,
)
from consent_service.crypto.keyring import Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow
from consent_service.deps import (
    CurrentPrincipal,
    Holder,
    HolderOrAdmin,
    HolderStudioOrAuditor,
    KeyringDep,
    SessionDep,
    SettingsDep,
    SignerDep,
    Studio,
)
from consent_service.errors import problem_responses
from consent_service.flows import accounts as account_flows
from consent_service.pagination import CursorQuery, LimitQuery, Page

router = APIRouter(prefix="/v1", tags=["consents"])


def _request_out(
    session: Session, keyring: Keyring, row: ConsentRequest, floor: str | None
) -> ConsentRequestOut:
    return ConsentRequestOut(
        id=row.id,
        holder_id=row.holder_id,
        studio_id=row.studio_id,
        status=row.status,
        terms=row.terms,
        warnings=row.warnings,
        notice=NoticeOut(
            text=row.notice_text,
            sha256=row.notice_sha256,
            template_version=row.notice_template_version,
            language=row.language,
            served_at=row.created_at,
        ),
        translations=[
            NoticeOut(
                text=text,
                sha256=sha256,
                template_version=row.notice_template_version,
                language=language,
                served_at=row.created_at,
            )
            for language, (text, sha256) in consents.notices_of(row).items()
            if language != row.language
        ],
        choices=consents.offered_choices(row),
        created_at=row.created_at,
        decided_at=row.decided_at,
        decline_reason=consents.decline_reason(session, keyring=keyring, row=row),
        consent_id=row.grant_id,
        min_assurance=row.min_assurance,
        required_assurance=consents.required_assurance(row, floor),
    )


def _consent_out(
    session: Session, keyring: Keyring, grant: ConsentGrant, now: datetime
) -> ConsentOut:
    """The grant as of `now`: a grant past its end shows `expired` (nothing is written)."""
    shown = ConsentOut.model_validate(grant, from_attributes=True)
    return shown.model_copy(
        update={
            "status": status_now(grant, now),
            "status_changed_at": status_changed_at_now(grant, now),
            "status_reason": consents.status_reason(session, keyring=keyring, grant=grant),
        }
    )


def _receipt_out(receipt: ConsentReceipt) -> ReceiptOut:
    from jose import jwt

    return ReceiptOut(
        id=receipt.id,
        consent_id=receipt.grant_id,
        consent_state=receipt.consent_state,
        audit_seq=receipt.audit_seq,
        issued_at=receipt.issued_at,
        receipt=receipt.token,
        # Unverified convenience copy of the payload: the JWS is the authority.
        claims=jwt.get_unverified_claims(receipt.token),
    )


# -- requests ----------------------------------------------------------------------------------


@router.post(
    "/consent-requests",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentRequestOut,
    responses=problem_responses(401, 404, 422),
    summary="Ask a holder for consent (studio); terms are checked against the rules now",
)
def create_request(
    body: ConsentRequestCreate,
    studio: Studio,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> ConsentRequestOut:
    row = consents.create_request(session, signer=signer, studio=studio, body=body)
    return _request_out(session, signer.keyring, row, settings.min_assurance)


@router.get(
    "/consent-requests",
    response_model=Page[ConsentRequestOut],
    responses=problem_responses(400, 401, 404, 422),
    summary="Own consent requests (holder: addressed to it; studio: made by it)",
)
def list_requests(
    principal: HolderStudioOrAuditor,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    request_status: Annotated[
        Literal["pending", "accepted", "declined"] | None, Query(alias="status")
    ] = None,
) -> Page[ConsentRequestOut]:
    page = consents.list_requests(
        session, principal=principal, status=request_status, cursor=cursor, limit=limit
    )
    return page.map(lambda row: _request_out(session, keyring, row, settings.min_assurance))


@router.get(
    "/consent-requests/{request_id}",
    response_model=ConsentRequestOut,
    responses=problem_responses(401, 404),
)
def get_request(
    request_id: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
) -> ConsentRequestOut:
    row = consents.get_request(session, principal=principal, request_id=request_id)
    return _request_out(session, keyring, row, settings.min_assurance)


@router.post(
    "/consent-requests/{request_id}/accept",
    status_code=status.HTTP_201_CREATED,
    response_model=AcceptOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Accept, quoting the notice hash (holder, guardian, executor, attorney)",
)
def accept_request(
    request_id: str,
    body: AcceptBody,
    request: Request,
    principal: Holder,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> AcceptOut:
    account_flows.require_confirmed_email(
        session, principal, required=settings.require_email_confirmation
    )
    grant, receipt = consents.accept_request(
        session,
        signer=signer,
        floor=settings.min_assurance,
        principal=principal,
        request_id=request_id,
        body=body,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", ""),
        channel="api",
    )
    return AcceptOut(
        consent=_consent_out(session, signer.keyring, grant, grant.accepted_at),
        receipt=receipt.token,
    )


@router.post(
    "/consent-requests/{request_id}/decline",
    response_model=ConsentRequestOut,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def decline_request(
    request_id: str,
    principal: Holder,
    session: SessionDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    body: DeclineBody | None = None,
) -> ConsentRequestOut:
    row = consents.decline_request(
        session,
        keyring=keyring,
        principal=principal,
        request_id=request_id,
        reason=body.reason if body else None,
    )
    return _request_out(session, keyring, row, settings.min_assurance)


# -- grants ------------------------------------------------------------------------------------


@router.get(
    "/consents",
    response_model=Page[ConsentOut],
    responses=problem_responses(400, 401, 404, 422),
    summary="Own grants (holder: its grants; studio: grants to it; auditor: all, logged)",
)
def list_consents(
    principal: HolderStudioOrAuditor,
    session: SessionDep,
    keyring: KeyringDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
    consent_status: Annotated[
        Literal["active", "withdrawn", "revoked", "suspended", "expired", "ended_by_death"] | None,
        Query(alias="status"),
    ] = None,
) -> Page[ConsentOut]:
    now = utcnow()
    page = consents.list_consents(
        session, principal=principal, status=consent_status, cursor=cursor, limit=limit, now=now
    )
    return page.map(lambda grant: _consent_out(session, keyring, grant, now))


@router.get(
    "/consents/{consent_id}", response_model=ConsentOut, responses=problem_responses(401, 404)
)
def get_consent(
    consent_id: str, principal: CurrentPrincipal, session: SessionDep, keyring: KeyringDep
) -> ConsentOut:
    grant = consents.get_consent(session, principal=principal, consent_id=consent_id)
    return _consent_out(session, keyring, grant, utcnow())


def _change(
    session: Session,
    signer: Signer,
    principal: Principal,
    consent_id: str,
    action: Action,
    reason: str | None = None,
) -> StatusChangeOut:
    result = transition(
        session,
        signer=signer,
        grant_id=consent_id,
        action=action,
        principal=principal,
        reason=reason,
    )
    return StatusChangeOut(
        id=result.grant.id,
        status=result.grant.status,
        revoked_licences=result.revoked_licences,
        receipt=result.receipt.token,
    )


@router.post(
    "/consents/{consent_id}/withdraw",
    response_model=StatusChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Withdraw consent (holder, or the role that signed): one request, no reason",
)
def withdraw_consent(
    consent_id: str,
    principal: Holder,
    session: SessionDep,
    signer: SignerDep,
    body: EmptyBody | None = None,
) -> StatusChangeOut:
    return _change(session, signer, principal, consent_id, Action.withdraw)


@router.post(
    "/consents/{consent_id}/revoke",
    response_model=StatusChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Revoke consent with a reason (guardian, executor, admin)",
)
def revoke_consent(
    consent_id: str,
    body: ReasonBody,
    principal: HolderOrAdmin,
    session: SessionDep,
    signer: SignerDep,
) -> StatusChangeOut:
    return _change(session, signer, principal, consent_id, Action.revoke, body.reason)


@router.post(
    "/consents/{consent_id}/suspend",
    response_model=StatusChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Suspend consent temporarily (holder, admin)",
)
def suspend_consent(
    consent_id: str,
    principal: HolderOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    body: DeclineBody | None = None,
) -> StatusChangeOut:
    reason = body.reason if body else None
    return _change(session, signer, principal, consent_id, Action.suspend, reason)


@router.post(
    "/consents/{consent_id}/resume",
    response_model=StatusChangeOut,
    responses=problem_responses(401, 403, 404, 409, 422),
    summary="Resume a suspended consent (holder, admin)",
)
def resume_consent(
    consent_id: str,
    principal: HolderOrAdmin,
    session: SessionDep,
    signer: SignerDep,
    body: EmptyBody | None = None,
) -> StatusChangeOut:
    return _change(session, signer, principal, consent_id, Action.resume)


@router.get(
    "/consents/{consent_id}/receipt",
    response_model=ReceiptOut,
    responses=problem_responses(401, 404),
    summary=f"The latest signed consent receipt (compact JWS, typ {RECEIPT_TYP})",
)
def get_receipt(consent_id: str, principal: Holder, session: SessionDep) -> ReceiptOut:
    receipt = consents.latest_receipt(session, principal=principal, consent_id=consent_id)
    return _receipt_out(receipt)


@router.get(
    SCHEMA_PATH.removeprefix("/v1"),
    summary="The JSON Schema of consent receipts (draft 2020-12)",
    description="The JSON Schema (draft 2020-12) that every consent receipt's claims satisfy, "
    "written from the Kantara Consent Receipt Specification v1.1 (top-level members) and "
    "ISO/IEC TS 27560:2023 (the `iso27560` member, values as W3C DPV terms). Public and "
    "cacheable; `$id` is this URL. docs/consent.md, 'Consent receipts', explains each field.",
    response_class=Response,
    responses={
        200: {
            "description": "JSON Schema",
            "content": {SCHEMA_MEDIA_TYPE: {"schema": {"type": "object"}}},
        }
    },
)
def consent_receipt_schema(signer: SignerDep) -> Response:
    schema = {"$id": f"{signer.issuer}{SCHEMA_PATH}", **receipt_schema()}
    return JSONResponse(
        schema, media_type=SCHEMA_MEDIA_TYPE, headers={"Cache-Control": "public, max-age=3600"}
    )
