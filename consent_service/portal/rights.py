"""Portal pages for a holder's rights: suspend and resume a consent, withdraw it after one
confirmation step, read each licence in words, download the data export, erase the account,
and see and delete uploaded references and representatives.

Every action calls the service the JSON API calls (consents lifecycle, rights, vault,
representatives, licences): the same rules, ownership checks, audit events and receipts. Every
form carries the session's CSRF token (HolderForm); actions that change something are POSTs.
"""

from __future__ import annotations

import hmac
from functools import partial
from typing import Annotated, Any

from babel.lists import format_list
from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from consent_service import vocabulary
from consent_service.accounts import passwords
from consent_service.accounts import service as accounts
from consent_service.catalogues import N_
from consent_service.consents import service as consents
from consent_service.consents.lifecycle import TRANSITIONS, Action, status_now, transition
from consent_service.db import utcnow
from consent_service.deps import KeyringDep, SessionDep, SettingsDep, SignerDep
from consent_service.licences import service as licences
from consent_service.portal import i18n
from consent_service.portal import session as web
from consent_service.portal.pages import PortalRoute, page_language, render, see_other
from consent_service.portal.session import HolderForm, HolderSession
from consent_service.representatives import service as representatives
from consent_service.representatives.schemas import RepresentativeCreate
from consent_service.rights import service as rights
from consent_service.vault import service as vault
from consent_service.vault.router import StorageDep
from consent_service.vault.upload import receive_upload

router = APIRouter(prefix="/portal", include_in_schema=False, route_class=PortalRoute)

WITHDRAWABLE = TRANSITIONS[Action.withdraw].from_states
OPEN_STATES = frozenset({"active", "suspended"})


def in_words(values: Any, language: str = "en", *, none: str = "none") -> str:
    """`["film_tv", "advertising"]` -> `film and television and advertising` (notice labels),
    joined the way `language` joins a list (Babel's CLDR list patterns)."""
    items = [vocabulary.label_in(str(v), language) for v in (values or [])]
    if not items:
        return i18n.gettext_in(language, none)
    return format_list(items, locale="en_GB" if language == "en" else language)


def _territories(values: Any, language: str) -> str:
    if values and "WORLDWIDE" in values:
        return i18n.gettext_in(language, "anywhere in the world")
    places = [i18n.place_in(language, str(v)) for v in values or []]
    return i18n.gettext_in(language, "in %(places)s") % {
        "places": format_list(places, locale="en_GB" if language == "en" else language)
    }


def licence_sentences(scope: dict[str, Any], studio: str, language: str = "en") -> list[str]:
    """What a licence allows, as sentences a person reads (from its scope, nothing else)."""

    def say(message: str, **values: str) -> str:
        return i18n.gettext_in(language, message) % values

    lines = [
        say(
            "%(studio)s may use your %(attributes)s for %(purposes)s.",
            studio=studio,
            attributes=in_words(scope.get("attributes"), language),
            purposes=in_words(scope.get("purposes"), language),
        ),
        say(
            "It may be shown in %(media)s, %(territories)s.",
            media=in_words(scope.get("media"), language),
            territories=_territories(scope.get("territories"), language),
        ),
    ]
    if scope.get("project"):
        lines.append(say("Only for the project “%(project)s”.", project=str(scope["project"])))
    if scope.get("prohibited_uses"):
        lines.append(
            say("Never for %(uses)s.", uses=in_words(scope.get("prohibited_uses"), language))
        )
    return lines


# Said in Python, translated where they are shown (portal/pages.py, `render`).
N_("anywhere in the world")
N_("in %(places)s")
N_("%(studio)s may use your %(attributes)s for %(purposes)s.")
N_("It may be shown in %(media)s, %(territories)s.")
N_("Only for the project “%(project)s”.")
N_("Never for %(uses)s.")


# -- suspend, resume, withdraw -----------------------------------------------------------------


def change_state(
    session: SessionDep,
    signer: SignerDep,
    portal: web.PortalSession,
    consent_id: str,
    action: Action,
) -> Response:
    """Suspend, resume or withdraw from a portal form, then show the consent with what was
    done (the banner named by the past tense of the action: `?done=suspended`)."""
    result = transition(
        session, signer=signer, grant_id=consent_id, action=action, principal=portal.principal
    )
    return see_other(f"/portal/consents/{result.grant.id}?done={_DONE[action]}")


_DONE = {Action.suspend: "suspended", Action.resume: "resumed", Action.withdraw: "withdrawn"}


@router.post("/consents/{consent_id}/suspend")
def suspend(
    consent_id: str, portal: HolderForm, session: SessionDep, signer: SignerDep
) -> Response:
    return change_state(session, signer, portal, consent_id, Action.suspend)


@router.post("/consents/{consent_id}/resume")
def resume(consent_id: str, portal: HolderForm, session: SessionDep, signer: SignerDep) -> Response:
    return change_state(session, signer, portal, consent_id, Action.resume)


@router.get("/consents/{consent_id}/withdraw")
def withdraw_confirm(
    consent_id: str, request: Request, portal: HolderSession, session: SessionDep
) -> Response:
    """The one confirmation step: what withdrawing does, and suspending as the milder choice."""
    grant = consents.get_consent(session, principal=portal.principal, consent_id=consent_id)
    now = utcnow()
    status = status_now(grant, now)
    rows = licences.list_licences(
        session=session, principal=portal.principal, consent_id=grant.id, after=None, limit=100
    )
    live = [lic for lic in rows if licences.status_now(lic, now) in ("active", "suspended")]
    return render(
        request,
        "withdraw.html",
        {
            "portal": portal,
            "grant": grant,
            "status": status,
            "can_withdraw": status in WITHDRAWABLE,
            "live_licences": len(live),
            "studio_name": accounts.organization_name(session, grant.studio_id) or grant.studio_id,
        },
    )


# -- licences ----------------------------------------------------------------------------------


@router.get("/licences/{licence_id}")
def licence_page(
    licence_id: str, request: Request, portal: HolderSession, session: SessionDep
) -> Response:
    lic = licences.get_licence(session=session, principal=portal.principal, licence_id=licence_id)
    studio = accounts.organization_name(session, lic.studio_id) or lic.studio_id
    return render(
        request,
        "licence.html",
        {
            "portal": portal,
            "lic": lic,
            "status": licences.status_now(lic, utcnow()),
            "studio_name": studio,
            "allows": licence_sentences(lic.scope, studio, page_language(request)),
        },
    )


# -- your data: export and erasure -------------------------------------------------------------


@router.post("/account/export")
def export(portal: HolderForm, session: SessionDep, keyring: KeyringDep) -> Response:
    """The data export as a download (a POST: handing it out is itself an audit event)."""
    holder_id = portal.principal.holder_id or ""
    document = rights.export_holder(
        session, keyring=keyring, principal=portal.principal, holder_id=holder_id
    )
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="holder-export-{holder_id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _erase_context(session: SessionDep, portal: web.PortalSession) -> dict[str, Any]:
    holder_id = portal.principal.holder_id or ""
    now = utcnow()
    grants = consents.list_consents(
        session, principal=portal.principal, status=None, cursor=None, limit=100, now=now
    )
    open_grants = [g for g in grants.items if status_now(g, now) in OPEN_STATES]
    refs = vault.list_references(
        session, principal=portal.principal, holder_id=holder_id, limit=500, after=None
    )
    return {
        "portal": portal,
        "open_consents": len(open_grants),
        "more_consents": grants.next_cursor is not None,
        "references": len(refs),
    }


@router.get("/account/erase")
def erase_confirm(request: Request, portal: HolderSession, session: SessionDep) -> Response:
    return render(request, "erase.html", {**_erase_context(session, portal), "errors": []})


@router.post("/account/erase")
def erase(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    signer: SignerDep,
    storage: StorageDep,
    settings: SettingsDep,
    understood: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if understood != "yes":
        return render(
            request,
            "erase.html",
            {
                **_erase_context(session, portal),
                "errors": [N_("Tick the box to say you understand. Nothing was erased.")],
            },
            status_code=422,
        )
    rights.erase_holder(
        session,
        signer=signer,
        storage=storage,
        principal=portal.principal,
        holder_id=portal.principal.holder_id or "",
    )
    response = render(
        request,
        "account_message.html",
        {
            "portal": None,
            "title": N_("Your account is erased"),
            "message": N_(
                "Your consents are withdrawn, your personal details and references are "
                "destroyed, and you are signed out. Thank you for using the registry."
            ),
            "failed": False,
            "sign_in": False,
        },
    )
    web.clear_session_cookie(response, request, settings)
    return response


# -- references --------------------------------------------------------------------------------


DONE = {
    "uploaded": N_("Your reference is uploaded. Hidden details (location, camera) were removed."),
    "duplicate": N_("You had already uploaded this same file: nothing new was stored."),
    "added": N_(
        "The representative is recorded. They can sign in with the email and password given."
    ),
    "deleted": N_("The reference is deleted: its file and its key are destroyed."),
    "revoked": N_("The representative can no longer act for you. Their sign-in stopped working."),
}
DoneParam = Annotated[str | None, Query(max_length=20)]


@router.get("/references")
def references_page(
    request: Request, portal: HolderSession, session: SessionDep, done: DoneParam = None
) -> Response:
    refs = vault.list_references(
        session,
        principal=portal.principal,
        holder_id=portal.principal.holder_id or "",
        limit=500,
        after=None,
    )
    return render(
        request,
        "references.html",
        {"portal": portal, "references": refs, "done": DONE.get(done or "")},
    )


@router.post("/references")
async def upload_reference(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    keyring: KeyringDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Response:
    """Upload a reference from the browser: the API's streaming, cleaning and encryption.

    The body is streamed to a temporary file (never parsed into memory), so the CSRF token is
    read from it as a field and checked before anything is stored.
    """
    holder_id = portal.principal.holder_id or ""
    await run_in_threadpool(vault.live_holder, session, portal.principal, holder_id)
    # No transaction (on SQLite, the write lock) is held while the browser sends the file.
    await run_in_threadpool(session.commit)
    upload = await receive_upload(
        request,
        tmp_dir=settings.data_dir / "tmp" / "uploads",
        limits={
            "image": settings.vault_max_image_bytes,
            "audio": settings.vault_max_audio_bytes,
            "video": settings.vault_max_video_bytes,
        },
        text_fields={"attribute": 32, "csrf_token": 256},
    )
    try:
        given = upload.fields.get("csrf_token", "")
        if not hmac.compare_digest(portal.csrf_token.encode(), given.encode()):
            raise web.CsrfRejected()
        stored = await run_in_threadpool(
            partial(
                vault.store_reference,
                session,
                keyring=keyring,
                storage=storage,
                principal=portal.principal,
                holder_id=holder_id,
                upload=upload,
            )
        )
    finally:
        upload.discard()
    return see_other("/portal/references?done=" + ("duplicate" if stored.duplicate else "uploaded"))


@router.post("/references/{reference_id}/delete")
def delete_reference(
    reference_id: str, portal: HolderForm, session: SessionDep, storage: StorageDep
) -> Response:
    vault.delete_reference(
        session, storage=storage, principal=portal.principal, reference_id=reference_id
    )
    return see_other("/portal/references?done=deleted")


# -- representatives ---------------------------------------------------------------------------


def _representatives_page(
    request: Request,
    portal: web.PortalSession,
    session: SessionDep,
    keyring: KeyringDep,
    *,
    done: str | None = None,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    reps = representatives.list_representatives(
        session, keyring=keyring, actor=portal.principal, holder_id=portal.principal.holder_id or ""
    )
    return render(
        request,
        "representatives.html",
        {
            "portal": portal,
            "representatives": reps,
            "evidence_types": EVIDENCE_TYPES,
            "done": DONE.get(done or ""),
            "errors": errors or [],
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/representatives")
def representatives_page(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    keyring: KeyringDep,
    done: DoneParam = None,
) -> Response:
    return _representatives_page(request, portal, session, keyring, done=done)


# The kinds of document that give a representative authority, in words (translated in the page).
EVIDENCE_TYPES = {
    "agency_agreement": N_("agency agreement"),
    "power_of_attorney": N_("power of attorney"),
    "parental_responsibility": N_("parental responsibility"),
    "court_order": N_("court order"),
    "letters_testamentary": N_("letters testamentary"),
    "letters_of_administration": N_("letters of administration"),
}

_REP_MESSAGES = {
    "kind": N_("Choose what the person is to you."),
    "name": N_("Give the person's name (at most 200 characters)."),
    "email": N_("Give a valid email address for the person."),
    "password": N_("Choose a password of at least 12 characters for the person."),
    "authority_evidence": N_(
        "Describe the document that gives the authority: its kind, its number, who issued it "
        "and when."
    ),
}


@router.post("/representatives")
def add_representative(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    keyring: KeyringDep,
    kind: Annotated[str, Form(max_length=20)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    email: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    evidence_type: Annotated[str, Form(max_length=40)] = "",
    evidence_reference: Annotated[str, Form(max_length=1000)] = "",
    evidence_issued_by: Annotated[str, Form(max_length=1000)] = "",
    evidence_issued_on: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    form = {
        "kind": kind,
        "name": name,
        "email": email,
        "evidence_type": evidence_type,
        "evidence_reference": evidence_reference,
        "evidence_issued_by": evidence_issued_by,
        "evidence_issued_on": evidence_issued_on,
    }
    try:
        data = RepresentativeCreate.model_validate(
            {
                "kind": kind,
                "name": name,
                "email": email.strip(),
                "password": password,
                "authority_evidence": {
                    "type": evidence_type,
                    "reference": evidence_reference,
                    "issued_by": evidence_issued_by,
                    "issued_on": evidence_issued_on,
                },
            }
        )
    except ValidationError as exc:
        errors: list[str] = []
        for err in exc.errors():
            loc = err.get("loc", ())
            text = _REP_MESSAGES.get(str(loc[0]) if loc else "", N_("Some fields are not valid."))
            if text not in errors:
                errors.append(text)
        return _representatives_page(
            request, portal, session, keyring, errors=errors, form=form, status_code=422
        )
    session.commit()  # argon2 never runs while the transaction (the write lock) is held
    password_hash = passwords.hash_password(data.password)
    representatives.add_representative(
        session,
        keyring=keyring,
        actor=portal.principal,
        holder_id=portal.principal.holder_id or "",
        data=data,
        password_hash=password_hash,
    )
    return see_other("/portal/representatives?done=added")


@router.post("/representatives/{representative_id}/revoke")
def revoke_representative(
    representative_id: str, portal: HolderForm, session: SessionDep, keyring: KeyringDep
) -> Response:
    representatives.revoke_representative(
        session,
        keyring=keyring,
        actor=portal.principal,
        holder_id=portal.principal.holder_id or "",
        representative_id=representative_id,
    )
    return see_other("/portal/representatives?done=revoked")
