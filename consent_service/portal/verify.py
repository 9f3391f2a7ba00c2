"""Portal pages for a holder's identity verification: the assurance level in words, the open
and decided cases (a rejection with its reason and what to do next), an identity document
upload, and the live capture (a one-time phrase, then the recording of it being spoken).

Every step calls the service the JSON API calls (docs/verification.md): the same checks, the
same cleaning and encryption of the files, the same audit events. Uploads stream to a temporary
file like the references page (portal/rights.py); their CSRF token is a field of the streamed
body, checked before anything is stored.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from sqlmodel import Session

from consent_service.catalogues import N_
from consent_service.config import Settings
from consent_service.consents import lifecycle
from consent_service.crypto.keyring import Keyring
from consent_service.deps import KeyringDep, SessionDep, SettingsDep, SignerDep
from consent_service.holders import service as holders
from consent_service.portal import session as web
from consent_service.portal.i18n import countries_in
from consent_service.portal.pages import PortalRoute, page_language, render, see_other
from consent_service.portal.session import HolderForm, HolderSession
from consent_service.vault.router import StorageDep
from consent_service.vault.storage import Storage
from consent_service.vault.upload import ReceivedUpload
from consent_service.verification import service as verification
from consent_service.verification.router import receive_evidence_then
from consent_service.verification.schemas import IdentityDocumentType

router = APIRouter(prefix="/portal", include_in_schema=False, route_class=PortalRoute)

LEVELS = {
    "self_asserted": (
        N_("Not verified yet"),
        N_(
            "You signed up with an email address and a password. Some studios ask for more: "
            "an identity document checked by our staff, and sometimes a live recording of you."
        ),
    ),
    "document_verified": (
        N_("Identity document checked"),
        N_(
            "Our staff compared an identity document with your details. A live recording of you "
            "saying a phrase would raise this to the highest level."
        ),
    ),
    "liveness_verified": (
        N_("Identity document and live recording checked"),
        N_(
            "This is the highest level: your document and a recording of you saying a phrase we "
            "chose were both checked."
        ),
    ),
}

KINDS = {
    "identity_document": N_("Identity document"),
    "liveness": N_("Live recording"),
    "representative_authority": N_("Authority of a person who acts for you"),
    "court_approval": N_("Court approval"),
    "death": N_("Record of death"),
}

STATUSES = {
    "pending": N_("Waiting for review"),
    "approved": N_("Approved"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
}

WHAT_TO_DO = {
    "identity_document": (
        N_(
            "Upload a new, sharp photo of a valid document below: the whole page, no glare, and "
            "the name and date of birth you signed up with."
        )
    ),
    "liveness": (
        N_(
            "Get a new phrase below and record yourself again, face and voice clear, saying every "
            "word in order."
        )
    ),
}

DOCUMENT_TYPES = {
    IdentityDocumentType.passport: N_("Passport"),
    IdentityDocumentType.national_id: N_("National identity card"),
    IdentityDocumentType.driving_licence: N_("Driving licence"),
    IdentityDocumentType.residence_permit: N_("Residence permit"),
}


DONE = {
    "document": N_(
        "Your identity document is uploaded. Our staff will review it; the image is "
        "deleted as soon as they have decided."
    ),
    "capture": N_("Your recording is uploaded. Our staff will check that you said the phrase."),
    "withdrawn": N_("That evidence is withdrawn and its file deleted."),
}


def _holder_id(portal: web.PortalSession) -> str:
    return portal.principal.holder_id or ""


def _page(
    request: Request,
    portal: web.PortalSession,
    session: SessionDep,
    *,
    done: str | None = None,
    challenge: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    holder_id = _holder_id(portal)
    level, _decided = verification.assurance_view(
        session, principal=portal.principal, holder_id=holder_id
    )
    cases = verification.list_cases_of_holder(
        session, principal=portal.principal, holder_id=holder_id
    )
    cases.sort(key=lambda c: c.created_at, reverse=True)
    title, explanation = LEVELS.get(str(level), (str(level), ""))
    return render(
        request,
        "verification.html",
        {
            "portal": portal,
            "level": str(level),
            "level_title": title,
            "level_explanation": explanation,
            "cases": cases,
            "kinds": KINDS,
            "statuses": STATUSES,
            "what_to_do": WHAT_TO_DO,
            "document_types": DOCUMENT_TYPES,
            "countries": countries_in(page_language(request)),
            "challenge": challenge,
            "done": DONE.get(done or ""),
            "time_zone": holders.time_zone_of(session, holder_id),
        },
        status_code=status_code,
    )


@router.get("/verification")
def verification_page(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _page(request, portal, session, done=done)


@router.post("/verification/challenge")
def new_challenge(request: Request, portal: HolderForm, session: SessionDep) -> Response:
    """A one-time phrase, shown in this answer only (the registry keeps its hash)."""
    row, phrase = verification.create_challenge(
        session, principal=portal.principal, holder_id=_holder_id(portal), purpose="liveness"
    )
    return _page(
        request,
        portal,
        session,
        challenge={"id": row.id, "phrase": phrase, "expires_at": row.expires_at},
    )


def _checked(portal: web.PortalSession, submit: Any, *, upload: ReceivedUpload) -> Any:
    """The streamed body's CSRF token, checked before `submit` stores anything."""
    given = upload.fields.get("csrf_token", "")
    if not hmac.compare_digest(portal.csrf_token.encode(), given.encode()):
        raise web.CsrfRejected()
    return submit(upload=upload)


async def _receive_evidence(
    request: Request,
    portal: HolderSession,
    *,
    session: Session,
    keyring: Keyring,
    storage: Storage,
    settings: Settings,
    submit_with: Callable[..., Any],
    text_fields: dict[str, int],
    done: str,
) -> Response:
    """Stream an evidence upload (CSRF checked before anything is stored), then redirect."""
    holder_id = _holder_id(portal)
    submit = partial(
        submit_with,
        session,
        keyring=keyring,
        storage=storage,
        principal=portal.principal,
        holder_id=holder_id,
    )
    await receive_evidence_then(
        request,
        session=session,
        settings=settings,
        text_fields={**text_fields, "csrf_token": 256},
        check=partial(verification.acting_holder, session, portal.principal, holder_id),
        submit=partial(_checked, portal, submit),
    )
    return see_other(f"/portal/verification?done={done}")


@router.post("/verification/identity-documents")
async def upload_identity_document(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Response:
    return await _receive_evidence(
        request,
        portal,
        session=session,
        keyring=keyring,
        storage=storage,
        settings=settings,
        submit_with=verification.submit_identity_document,
        text_fields={"document_type": 32, "issuing_country": 8, "number_last4": 8},
        done="document",
    )


@router.post("/verification/captures")
async def upload_capture(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Response:
    return await _receive_evidence(
        request,
        portal,
        session=session,
        keyring=keyring,
        storage=storage,
        settings=settings,
        submit_with=verification.submit_capture,
        text_fields={"challenge_id": 64},
        done="capture",
    )


@router.post("/verification/{case_id}/withdraw")
def withdraw_case(
    case_id: str, portal: HolderForm, session: SessionDep, storage: StorageDep, signer: SignerDep
) -> Response:
    holder_id = _holder_id(portal)
    verification.withdraw_case(
        session,
        storage=storage,
        principal=portal.principal,
        holder_id=holder_id,
        case_id=case_id,
        reason=None,
    )
    # As the API does: grants accepted on the strength of the lost level are suspended now.
    lifecycle.suspend_below_assurance(session, signer=signer, holder_id=holder_id)
    return see_other("/portal/verification?done=withdrawn")
