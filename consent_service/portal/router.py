"""Holder portal: server-rendered pages to read notices, accept, decline and withdraw consent.

What the notice promises ("withdraw at any time … or the withdraw button in your account"),
in a browser. Every page calls the same consents service functions as the JSON API, so the
rules, ownership checks (another holder's id answers 404), audit events and receipts are the
API's own; the portal only turns forms into calls and results into HTML.

These routes are left out of the OpenAPI document: they are pages for people, not an API.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from pydantic import ValidationError

from consent_service import vocabulary
from consent_service.accounts import service as accounts
from consent_service.catalogues import N_
from consent_service.consents import notice
from consent_service.consents import service as consents
from consent_service.consents.lifecycle import (
    TRANSITIONS,
    Action,
    status_changed_at_now,
    status_now,
)
from consent_service.consents.models import ConsentRequest
from consent_service.consents.receipts import RECEIPT_TYP
from consent_service.consents.rules import CHOOSABLE
from consent_service.consents.schemas import AcceptBody, DeclineBody
from consent_service.db import utcnow
from consent_service.deps import (
    KeyringDep,
    ReadSessionDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
    SignerDep,
)
from consent_service.errors import InvalidCredentials
from consent_service.flows import accounts as account_flows
from consent_service.holders import service as holders
from consent_service.invitations import pages as invitation_pages
from consent_service.licences import service as licences
from consent_service.ops.rate_limit import check_login_rate
from consent_service.portal import i18n, receipt_pdf
from consent_service.portal import session as web
from consent_service.portal.notice_view import blocks
from consent_service.portal.pages import (
    STYLESHEET,
    PortalRoute,
    login_page,
    page_language,
    render,
    see_other,
    sign_out,
)
from consent_service.portal.rights import change_state
from consent_service.portal.session import HolderForm, HolderSession, OptionalPortalSession
from consent_service.usages import service as usages

router = APIRouter(prefix="/portal", include_in_schema=False, route_class=PortalRoute)

PAGE_SIZE = 50
# Outputs shown on a consent's page, newest first; all of them are in the API and the export.
USAGES_SHOWN = 50
CursorParam = Annotated[str | None, Query(max_length=512)]
FormText = Annotated[str, Form(max_length=4000)]

# The banner after an action; only these keys are ever shown (the query cannot inject text).
DONE_MESSAGES = {
    "accepted": N_("You gave your consent. Your signed receipt is ready to download below."),
    "withdrawn": N_(
        "You withdrew this consent. Every licence issued under it stopped being valid at once."
    ),
    "declined": N_("You declined this request. The studio has been told."),
    "confirmation_sent": N_("We mailed you a new link to confirm your email address."),
    "suspended": N_("You suspended this consent. Its licences are on hold until you resume it."),
    "resumed": N_("You resumed this consent. Licences it had put on hold are valid again."),
    "invitation": N_(
        "You accepted the invitation: the studio now knows your registry id, nothing else. "
        "Nothing is allowed until you give your consent."
    ),
    "invitation_invalid": N_(
        "You are signed in, but the invitation could not be accepted: it was used, withdrawn "
        "or has expired. Nothing was changed."
    ),
}
# Which states a withdrawal starts from is the lifecycle's rule, not the portal's.
WITHDRAWABLE = TRANSITIONS[Action.withdraw].from_states


def _done(value: str | None) -> str | None:
    return DONE_MESSAGES.get(value or "")


# -- static ------------------------------------------------------------------------------------


@router.get("/static/portal.css")
def stylesheet() -> Response:
    return Response(
        STYLESHEET,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# -- signing in and out ------------------------------------------------------------------------


def _login_page(
    request: Request,
    settings: SettingsDep,
    *,
    invitation: tuple[str, str] | None = None,
    **fields: Any,
) -> Response:
    # (token, studio name) of a pending invitation that signing in accepts.
    extra = {
        "invitation_token": invitation[0] if invitation else None,
        "invitation_studio": invitation[1] if invitation else None,
    }
    return login_page(request, settings, template="login.html", extra=extra, **fields)


def _invitation(session: SessionDep, request: Request, given: str | None) -> tuple[str, str] | None:
    """The pending invitation this sign-in carries (the link's, the form's or a sign-up's)."""
    token = invitation_pages.carried(request, given)
    studio = invitation_pages.offered(session, token) if token else None
    return (token, studio) if studio else None


@router.get("/login")
def login_form(
    request: Request,
    portal: OptionalPortalSession,
    session: SessionDep,
    settings: SettingsDep,
    next_url: Annotated[str | None, Query(alias="next", max_length=200)] = None,
    signed_out: Annotated[bool, Query()] = False,
    invitation_token: Annotated[str | None, Query(alias="invitation", max_length=128)] = None,
) -> Response:
    invitation = _invitation(session, request, invitation_token)
    if portal is not None:
        if invitation is not None:  # signed in already: the invitation's page, one button
            return see_other("/portal/invitations/accept?token=" + quote(invitation[0], safe=""))
        return see_other(web.safe_next(next_url))
    message = N_("You are signed out.") if signed_out else None
    return _login_page(
        request,
        settings,
        message=message,
        next_url=web.safe_next(next_url),
        invitation=invitation,
    )


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    read_session: ReadSessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    services: ServicesDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=200)] = "",
    invitation_token: Annotated[str, Form(alias="invitation", max_length=128)] = "",
) -> Response:
    web.check_login_csrf(request, csrf_token)
    destination = web.safe_next(next_url)
    # Only a token the form carried (shown on the page as whose invitation it is) is accepted.
    invitation = _invitation(session, request, invitation_token) if invitation_token else None
    check_login_rate(
        services.login_rate_limiters,
        address=request.client.host if request.client else "unknown",
        email=email,
    )
    try:
        # A read-only session: no transaction is held while the password is hashed.
        access_token, ttl = accounts.issue_access_token(
            read_session,
            signer=signer,
            ttl_seconds=settings.access_token_ttl_seconds,
            email=email.strip(),
            password=password,
            client_id="portal",
            write_session=services.session,
        )
    except InvalidCredentials:
        return _login_page(
            request,
            settings,
            message=N_("The email or password is not correct."),
            email=email,
            next_url=destination,
            status_code=401,
            invitation=invitation,
        )
    except holders.HolderDeceased:
        return _login_page(
            request,
            settings,
            message=(
                "The registry records the death of the person this account belongs to, so it "
                "can no longer sign in. Their executor acts for them now."
            ),
            next_url=destination,
            status_code=403,
        )
    principal = web.holder_principal(session, signer, access_token)
    if principal is None:
        return _login_page(
            request,
            settings,
            message=N_(
                "This portal is for identity holders and the people who act for them. "
                "Auditors sign in at /portal/audit; studios use the API."
            ),
            next_url=destination,
            status_code=403,
        )
    if invitation is not None:
        destination = invitation_pages.accept_on_sign_in(
            session, signer=signer, principal=principal, token=invitation[0]
        )
    response = see_other(destination)
    web.set_session_cookie(response, request, settings, access_token, ttl)
    web.clear_login_csrf_cookie(response, request, settings)
    if web.INVITATION_COOKIE in request.cookies:  # carried this far: its work is done
        web.clear_invitation_cookie(response, request, settings)
    return response


@router.post("/logout")
def logout(
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
) -> Response:
    return sign_out(request, session, signer, settings, then="/portal/login?signed_out=true")


# -- home --------------------------------------------------------------------------------------


@router.get("")
def home(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    requests_cursor: CursorParam = None,
    consents_cursor: CursorParam = None,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    principal = portal.principal
    now = utcnow()
    pending = consents.list_requests(
        session, principal=principal, status="pending", cursor=requests_cursor, limit=PAGE_SIZE
    )
    grants = consents.list_consents(
        session, principal=principal, status=None, cursor=consents_cursor, limit=PAGE_SIZE, now=now
    )
    studio_ids = {row.studio_id for row in pending.items} | {row.studio_id for row in grants.items}
    return render(
        request,
        "home.html",
        {
            "portal": portal,
            "time_zone": holders.time_zone_of(session, principal.holder_id),
            "pending": pending.items,
            "grants": grants.items,
            "statuses": {grant.id: status_now(grant, now) for grant in grants.items},
            "studios": {sid: accounts.organization_name(session, sid) or sid for sid in studio_ids},
            "next_requests": pending.next_cursor,
            "next_consents": grants.next_cursor,
            "done": _done(done),
        },
    )


# -- a request: the notice, accept, decline ----------------------------------------------------


def _request_page(
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    row: ConsentRequest,
    *,
    errors: list[str] | None = None,
    form: dict[str, str] | None = None,
    done: str | None = None,
    status_code: int = 200,
    lang: str | None = None,
    email_unconfirmed: bool = False,
) -> Response:
    notices = consents.notices_of(row)
    # The language asked for in the page's address, else the holder's, else the request's.
    preferred = lang or holders.language_of(session, row.holder_id)
    language = preferred if preferred in notices else row.language
    text, _sha256 = notices[language]
    ui = page_language(request)
    return render(
        request,
        "request.html",
        {
            "portal": portal,
            "time_zone": holders.time_zone_of(session, row.holder_id),
            "req": row,
            "studio_name": accounts.organization_name(session, row.studio_id) or row.studio_id,
            "notice_text": text,
            # The same text with its structure (None for notices served before v3).
            "notice_blocks": blocks(text, row.notice_template_version),
            "language": language,
            "languages": [(code, vocabulary.LANGUAGE_NAMES.get(code, code)) for code in notices],
            "choices": [
                {
                    **c,
                    "label": vocabulary.label_in(c["item"], ui),
                    "explanation": c["explanation"]
                    and vocabulary.TRANSLATIONS.get(ui, {}).get(
                        f"explain.{c['item']}", c["explanation"]
                    ),
                }
                for c in consents.offered_choices(row)
            ],
            # The advice is translated in the page (its words are in the portal's catalogue).
            "warnings": [
                {**w, "advice": i18n.gettext_in(ui, vocabulary.warning_advice(w["code"]))}
                for w in row.warnings
            ],
            # The hash of the very text placed in this page: accepting quotes what was shown.
            "notice_sha256": notice.sha256_of(text),
            "errors": errors or [],
            "form": form or {},
            "done": _done(done),
            "asks_court_approval": portal.principal.representative_kind == "guardian",
            "email_unconfirmed": email_unconfirmed,
        },
        status_code=status_code,
    )


@router.get("/requests/{request_id}")
def request_page(
    request_id: str,
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
    lang: Annotated[str | None, Query(max_length=8)] = None,
) -> Response:
    row = consents.get_request(session, principal=portal.principal, request_id=request_id)
    return _request_page(request, portal, session, row, done=done, lang=lang)


_FIELD_MESSAGES = {
    "notice_sha256": N_("The page was incomplete. Reload it and sign again."),
    "signature.signed_name": N_("Type your full name to sign (at most 200 characters)."),
    "court_approval": N_("Court approval: give the court, the case number and the date."),
}


def _form_errors(exc: ValidationError) -> list[str]:
    messages: list[str] = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err.get("loc", ()))
        key = next((k for k in _FIELD_MESSAGES if loc.startswith(k)), None)
        message = _FIELD_MESSAGES[key] if key else N_("Some fields of the form are not valid.")
        if message not in messages:
            messages.append(message)
    return messages


def _chosen(values: list[str]) -> dict[str, list[str]]:
    """The ticked boxes (`purposes:ai_training`) as choices; the service refuses any item
    the request did not offer (choice_not_offered)."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        dimension, _, item = value.partition(":")
        if dimension not in CHOOSABLE or not item:
            raise ValueError(value)
        chosen.setdefault(dimension, []).append(item)
    return chosen


def _accept_body(
    *,
    notice_sha256: str,
    signed_name: str,
    court: str,
    case_number: str,
    court_date: str,
    chosen: dict[str, list[str]],
    language: str,
) -> AcceptBody:
    body: dict[str, Any] = {
        "notice_sha256": notice_sha256,
        "language": language or None,
        "signature": {"signed_name": signed_name, "method": "typed_name"},
        "choices": chosen,
        # The boxes ticked under the notice whose hash the page carried: the browser has no
        # script, so the portal binds the two for it exactly as an API client would.
        "choices_sha256": notice.choices_sha256(notice_sha256, chosen),
    }
    if court.strip() or case_number.strip() or court_date.strip():
        body["court_approval"] = {"court": court, "case_number": case_number, "date": court_date}
    return AcceptBody.model_validate(body)


@router.post("/requests/{request_id}/accept")
def accept(
    request_id: str,
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    signer: SignerDep,
    settings: SettingsDep,
    notice_sha256: Annotated[str, Form(max_length=128)] = "",
    signed_name: FormText = "",
    court: FormText = "",
    case_number: FormText = "",
    court_date: Annotated[str, Form(max_length=40)] = "",
    choice: Annotated[list[str] | None, Form(max_length=50)] = None,
    language: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    form = {"signed_name": signed_name, "court": court, "case_number": case_number}
    form["court_date"] = court_date
    ticked = list(choice or [])
    form.update({f"choice={value}": "checked" for value in ticked})
    try:
        chosen = _chosen(ticked)
    except ValueError:
        row = consents.get_request(session, principal=portal.principal, request_id=request_id)
        errors = [N_("One of the choices was not one this request offers. Reload the page.")]
        return _request_page(
            request, portal, session, row, errors=errors, form=form, status_code=422, lang=language
        )
    try:
        body = _accept_body(
            notice_sha256=notice_sha256,
            signed_name=signed_name,
            court=court,
            case_number=case_number,
            court_date=court_date,
            chosen=chosen,
            language=language,
        )
    except ValidationError as exc:
        row = consents.get_request(session, principal=portal.principal, request_id=request_id)
        return _request_page(
            request,
            portal,
            session,
            row,
            errors=_form_errors(exc),
            form=form,
            status_code=422,
            lang=language,
        )
    try:
        account_flows.require_confirmed_email(
            session, portal.principal, required=settings.require_email_confirmation
        )
    except account_flows.EmailNotConfirmed:  # said plainly, with the resend button
        row = consents.get_request(session, principal=portal.principal, request_id=request_id)
        return _request_page(request, portal, session, row, email_unconfirmed=True, status_code=403)
    grant, _receipt = consents.accept_request(
        session,
        signer=signer,
        floor=settings.min_assurance,
        principal=portal.principal,
        request_id=request_id,
        body=body,
        client_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent", ""),
        channel="portal",
    )
    return see_other(f"/portal/consents/{grant.id}?done=accepted")


@router.post("/requests/{request_id}/decline")
def decline(
    request_id: str,
    request: Request,
    portal: HolderForm,
    session: SessionDep,
    keyring: KeyringDep,
    reason: FormText = "",
) -> Response:
    try:
        body = DeclineBody.model_validate({"reason": reason or None})
    except ValidationError:
        row = consents.get_request(session, principal=portal.principal, request_id=request_id)
        return _request_page(
            request,
            portal,
            session,
            row,
            errors=[N_("A reason can be at most 1000 characters long.")],
            form={"reason": reason},
            status_code=422,
        )
    row = consents.decline_request(
        session,
        keyring=keyring,
        principal=portal.principal,
        request_id=request_id,
        reason=body.reason,
    )
    return see_other(f"/portal/requests/{row.id}?done=declined")


# -- a consent: status, withdraw, receipt ------------------------------------------------------


@router.get("/consents/{consent_id}")
def consent_page(
    consent_id: str,
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    grant = consents.get_consent(session, principal=portal.principal, consent_id=consent_id)
    now = utcnow()
    status = status_now(grant, now)
    rows = licences.list_licences(
        session=session, principal=portal.principal, consent_id=grant.id, after=None, limit=100
    )
    used = usages.usages_of_holder(
        session=session,
        holder_id=grant.holder_id,
        licence_id=None,
        consent_id=grant.id,
        after=None,
        limit=USAGES_SHOWN + 1,
    )
    return render(
        request,
        "consent.html",
        {
            "portal": portal,
            "time_zone": holders.time_zone_of(session, grant.holder_id),
            "grant": grant,
            "status": status,
            "status_since": status_changed_at_now(grant, now),
            "studio_name": accounts.organization_name(session, grant.studio_id) or grant.studio_id,
            "licences": [(lic, licences.status_now(lic, now)) for lic in rows],
            "usages": used[:USAGES_SHOWN],
            "more_usages": len(used) > USAGES_SHOWN,
            "can_withdraw": status in WITHDRAWABLE,
            "done": _done(done),
        },
    )


@router.post("/consents/{consent_id}/withdraw")
def withdraw(
    consent_id: str,
    portal: HolderForm,
    session: SessionDep,
    signer: SignerDep,
) -> Response:
    return change_state(session, signer, portal, consent_id, Action.withdraw)


@router.get("/consents/{consent_id}/receipt")
def receipt_download(consent_id: str, portal: HolderSession, session: SessionDep) -> Response:
    receipt = consents.latest_receipt(session, principal=portal.principal, consent_id=consent_id)
    return Response(
        receipt.token,
        media_type="application/jose",  # RFC 7515 §9.2.1: a compact JWS
        headers={
            "Content-Disposition": f'attachment; filename="{receipt.grant_id}-receipt.jws"',
            "Cache-Control": "no-store",
        },
    )


def _receipt_context(
    session: SessionDep, signer: SignerDep, portal: HolderSession, consent_id: str
) -> dict[str, Any]:
    """The latest receipt's facts, from the signed receipt itself, checked here against the
    registry's own keys (the page and the PDF show the same). Another holder's: 404."""
    grant = consents.get_consent(session, principal=portal.principal, consent_id=consent_id)
    receipt = consents.latest_receipt(session, principal=portal.principal, consent_id=consent_id)
    header, claims = signer.verify(session, receipt.token, typ=RECEIPT_TYP)
    return {
        "portal": portal,
        "time_zone": holders.time_zone_of(session, grant.holder_id),
        "grant": grant,
        "receipt": receipt,
        "claims": claims,
        "kid": header.get("kid"),
        "signed_name": consents.signed_name(session, keyring=signer.keyring, grant=grant),
        "studio_name": accounts.organization_name(session, grant.studio_id) or grant.studio_id,
        "jwks_url": f"{signer.issuer.rstrip('/')}/.well-known/jwks.json",
        "choices": claims.get("choices") or [],
    }


@router.get("/consents/{consent_id}/receipt/view")
def receipt_page(
    consent_id: str,
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    signer: SignerDep,
) -> Response:
    """The latest receipt for people: printable, choice by choice, with how to check it."""
    return render(request, "receipt.html", _receipt_context(session, signer, portal, consent_id))


@router.get("/consents/{consent_id}/receipt/pdf")
def receipt_pdf_download(
    consent_id: str,
    request: Request,
    portal: HolderSession,
    session: SessionDep,
    signer: SignerDep,
) -> Response:
    """The same receipt as a PDF, in the holder's language and time zone."""
    context = _receipt_context(session, signer, portal, consent_id)
    document = receipt_pdf.build(
        context,
        language=page_language(request),
        time_zone=context["time_zone"],
    )
    return Response(
        document,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{context["grant"].id}-receipt.pdf"',
            "Cache-Control": "no-store",
        },
    )
