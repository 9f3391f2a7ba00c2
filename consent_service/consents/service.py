"""Consent requests, acceptance, and reading grants.

The start of DESIGN.md "Consent lifecycle": a studio asks (terms checked against the rules,
notice rendered and hashed), the holder or the right signer accepts quoting the notice hash
(or declines), and the grant is born `active`. Every later move of the grant (withdraw,
revoke, suspend, resume, expire, erasure) is one row of `lifecycle.TRANSITIONS`.

Reads never write: they show `lifecycle.status_now(grant, now)`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent_service import audit, vocabulary
from consent_service.accounts import auditors
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.agreements import service as agreements
from consent_service.audit.actions import Action
from consent_service.canonical import canonical_json
from consent_service.consents import lifecycle, notice, repository, rules
from consent_service.consents.errors import (
    ChoiceNotOffered,
    ChoicesHashMismatch,
    ConsentNotFound,
    CourtApprovalNotVerified,
    HolderNotVerified,
    NoticeHashMismatch,
    NoticeLanguageMismatch,
    NotPermitted,
    RequestAlreadyDecided,
    RequestNotFound,
    UnsupportedLanguage,
)
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.consents.receipts import (
    GRANTED,
    ReceiptEvent,
    collection_method,
    issue_receipt,
    new_receipt_id,
    signer_of,
)
from consent_service.consents.schemas import AcceptBody, ConsentRequestCreate
from consent_service.crypto.envelope import aad_for, decrypt, encrypt, keyed_digest
from consent_service.crypto.keyring import EVIDENCE_HMAC, KeyDestroyed, Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.errors import NotFound
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.ids import new_id
from consent_service.pagination import Page, decode_cursor
from consent_service.representatives import service as representatives
from consent_service.verification import service as verification
from consent_service.verification.levels import Assurance, at_least, highest
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType

# -- who is asking -----------------------------------------------------------------------------


def _may_see(principal: Principal, row: ConsentRequest | ConsentGrant) -> bool:
    # The holder (or a representative acting for it), the studio, and auditors (read-only;
    # each read of theirs is noted for the log, see `auditors.note_read`).
    return (
        principal.acts_for(row.holder_id)
        or (principal.role is Role.studio and principal.is_org(row.studio_id))
        or principal.role is Role.auditor
    )


# -- holder facts for the rules ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HolderContext:
    holder: Holder
    facts: rules.HolderFacts


def _holder_context(
    session: Session, *, keyring: Keyring, holder: Holder, day: date
) -> _HolderContext:
    data = holders.decrypt_holder(session, keyring, holder)
    status = holders.status_on(data, day)
    return _HolderContext(
        holder=holder,
        facts=rules.HolderFacts(
            status=status.value,
            jurisdiction=holder.jurisdiction,
            eighteenth_birthday=holders.eighteenth_birthday(data.date_of_birth),
            post_mortem_rights_until=representatives.post_mortem_rights_until(
                session,
                holder.id,
                jurisdiction=holder.jurisdiction,
                date_of_death=data.date_of_death,
            ),
        ),
    )


def _studio_name(session: Session, studio_id: str) -> str:
    return accounts.organization_name(session, studio_id) or studio_id


# -- requests ----------------------------------------------------------------------------------


def create_request(
    session: Session,
    *,
    signer: Signer,
    studio: Principal,
    body: ConsentRequestCreate,
) -> ConsentRequest:
    """A studio asks a holder for consent; the terms are checked now, the notice rendered."""
    assert studio.organization_id is not None
    holder = holders.get_live(session, body.holder_id)
    if body.language not in notice.CURRENT_LANGUAGES:
        raise UnsupportedLanguage(
            f"notices exist in: {', '.join(notice.CURRENT_LANGUAGES)}", field="language"
        )
    now = utcnow()
    terms = body.terms.normalised()
    agreement = agreements.named_by(session, terms)
    terms = agreements.with_agreement(terms, agreement)
    ctx = _holder_context(session, keyring=signer.keyring, holder=holder, day=now.date())
    assessment = rules.assess_terms(
        terms, holder=ctx.facts, notice_served_at=now, now=now, agreement=agreement
    )
    texts = {
        language: notice.render(
            terms,
            studio_id=studio.organization_id,
            studio_name=_studio_name(session, studio.organization_id),
            issuer=signer.issuer,
            language=language,
            jurisdiction=holder.jurisdiction,
            time_zone=holder.time_zone,
        )
        for language in notice.CURRENT_LANGUAGES
    }
    text = texts[body.language]
    request = ConsentRequest(
        id=new_id("req"),
        holder_id=holder.id,
        studio_id=studio.organization_id,
        terms=terms,
        warnings=[w.as_dict() for w in assessment.warnings],
        language=body.language,
        notice_template_version=notice.CURRENT_VERSION,
        notice_text=text,
        notice_sha256=notice.sha256_of(text),
        notices={
            language: {"text": other, "sha256": notice.sha256_of(other)}
            for language, other in texts.items()
            if language != body.language
        },
        created_at=now,
        min_assurance=body.min_assurance.value if body.min_assurance else None,
    )
    repository.add(session, request)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.consent_request_created,
        subjects={
            "holder_id": holder.id,
            "request_id": request.id,
            "studio_id": studio.organization_id,
        },
        payload={
            "notice_sha256": request.notice_sha256,
            "notice_template_version": request.notice_template_version,
            "warnings": [w.code for w in assessment.warnings],
            "min_assurance": request.min_assurance,
        },
    )
    return request


def required_assurance(row: ConsentRequest, floor: str | None) -> Assurance:
    """What accepting `row` needs of the holder now: the higher of the request's ask and the
    deployment's floor (`CONSENT_MIN_ASSURANCE`)."""
    return highest(row.min_assurance, floor)


def get_request(session: Session, *, principal: Principal, request_id: str) -> ConsentRequest:
    row = repository.get_request(session, request_id)
    if row is None or not _may_see(principal, row):
        raise RequestNotFound()
    auditors.note_read(session, principal, "consent_request", [row.id])
    return row


def list_requests(
    session: Session, *, principal: Principal, status: str | None, cursor: str | None, limit: int
) -> Page[ConsentRequest]:
    holder_id, studio_id = _list_owner(principal)
    rows = list(
        repository.list_requests(
            session,
            holder_id=holder_id,
            studio_id=studio_id,
            status=status,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
    )
    page = Page.from_rows(rows, limit)
    auditors.note_read(session, principal, "consent_request", [r.id for r in page.items])
    return page


def _list_owner(principal: Principal) -> tuple[str | None, str | None]:
    if principal.role is Role.holder and principal.holder_id:
        return principal.holder_id, None
    if principal.role is Role.studio and principal.organization_id:
        return None, principal.organization_id
    if principal.role is Role.auditor:
        return None, None  # auditors read every row (and each read is logged)
    raise NotFound()


def _unseal(
    session: Session, keyring: Keyring, holder_id: str, blob: bytes, aad: bytes
) -> str | None:
    """A field sealed under the holder's data key, decrypted (None once the holder was erased)."""
    try:
        key = keyring.data_key(session, holder_id)
    except KeyDestroyed:
        return None
    return decrypt(key, blob, aad=aad).decode()


def decline_reason(session: Session, *, keyring: Keyring, row: ConsentRequest) -> str | None:
    if row.decline_reason_enc is None:
        return None
    aad = aad_for("request", row.id, "reason")
    return _unseal(session, keyring, row.holder_id, row.decline_reason_enc, aad)


def signed_name(session: Session, *, keyring: Keyring, grant: ConsentGrant) -> str | None:
    """The name the signer typed, decrypted (None once the holder was erased)."""
    if grant.signed_name_enc is None:
        return None
    aad = aad_for("grant", grant.id, "signed_name")
    return _unseal(session, keyring, grant.holder_id, grant.signed_name_enc, aad)


def status_reason(session: Session, *, keyring: Keyring, grant: ConsentGrant) -> str | None:
    """Why the grant is in its state: a person's words decrypted (None once the holder was
    erased), or the system's fixed cause kept in clear."""
    if grant.status_reason_enc is None:
        return grant.status_reason
    aad = aad_for("grant", grant.id, "status_reason")
    return _unseal(session, keyring, grant.holder_id, grant.status_reason_enc, aad)


def decline_request(
    session: Session,
    *,
    keyring: Keyring,
    principal: Principal,
    request_id: str,
    reason: str | None,
) -> ConsentRequest:
    """The holder (or a signing representative) says no; once, with an optional reason."""
    row = repository.get_request_for_update(session, request_id)
    if row is None or not principal.acts_for(row.holder_id):
        raise RequestNotFound()
    if representatives.signer_role(principal) is None:
        raise NotPermitted("an agent may not decide on a consent request")
    representatives.require_reviewed_authority(session, principal)
    if row.status != "pending":
        raise RequestAlreadyDecided(f"the request is already {row.status}")
    row.status = "declined"
    row.decided_at = utcnow()
    if reason:
        key = keyring.data_key(session, row.holder_id)
        row.decline_reason_enc = encrypt(
            key, reason.encode(), aad=aad_for("request", row.id, "reason")
        )
    repository.add(session, row)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.consent_request_declined,
        subjects={"holder_id": row.holder_id, "request_id": row.id, "studio_id": row.studio_id},
        payload={"with_reason": bool(reason)},
    )
    webhooks.publish(
        session,
        EventType.consent_request_declined,
        studio_ids=[row.studio_id],
        data={"consent_request_id": row.id, "holder_id": row.holder_id},
    )
    return row


# -- acceptance --------------------------------------------------------------------------------


def mask_ip(host: str | None) -> str:
    """The client address masked to its /24 (IPv4) or /48 (IPv6) network; never stored."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return "unknown"
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def evidence_hash(
    session: Session, *, keyring: Keyring, client_ip: str | None, user_agent: str
) -> str:
    """Keyed hash of the client evidence (masked IP, user agent): never kept in clear."""
    evidence = canonical_json({"ip_network": mask_ip(client_ip), "user_agent": user_agent[:512]})
    return keyed_digest(keyring.service_key(session, EVIDENCE_HMAC), evidence)


# Where a consent is given: the holder portal's form, or the HTTP API.
Channel = Literal["portal", "api"]


@dataclass(frozen=True, slots=True)
class _Acceptance:
    """What the checks established: the locked request, the live holder and the terms' fate."""

    request: ConsentRequest
    holder: Holder
    facts: rules.HolderFacts
    signer_role: str
    assessment: rules.Assessment
    now: datetime
    # The level the holder's own signature was checked against (None: a representative with
    # reviewed authority signed) and the holder's level at acceptance.
    required_assurance: Assurance | None
    holder_assurance: Assurance
    # The holder's answer to each separate choice, and the terms that answer leaves.
    choices: Choicework
    # The language the notice was read and signed in, and that text's hash.
    language: str
    notice_sha256: str


@dataclass(frozen=True, slots=True)
class Choicework:
    """The grant's scope after the holder's choices, each choice's answer, and their hash."""

    scope: dict[str, Any]
    records: list[dict[str, Any]]
    sha256: str | None


def notices_of(row: ConsentRequest) -> dict[str, tuple[str, str]]:
    """The request's notice in each language it was rendered in: language -> (text, sha256),
    the request's own language first."""
    found = {row.language: (row.notice_text, row.notice_sha256)}
    for language, other in sorted((row.notices or {}).items()):
        found[language] = (other["text"], other["sha256"])
    return found


def _notice_accepted(row: ConsentRequest, body: AcceptBody) -> tuple[str, str]:
    """The language accepted and its notice hash, which the acceptance must quote exactly.

    A hash of this request's notice in another language than the one accepted is refused
    (422 notice_language_mismatch): the holder consents to the text in the language shown.
    """
    notices = notices_of(row)
    language = body.language or row.language
    if language not in notices:
        raise UnsupportedLanguage(f"this notice exists in: {', '.join(notices)}", field="language")
    expected = notices[language][1]
    quoted = body.notice_sha256.lower()
    if quoted != expected:
        other = next((lang for lang, (_t, h) in notices.items() if h == quoted), None)
        if other is not None:
            raise NoticeLanguageMismatch(
                f"notice_sha256 is the hash of the notice in {other!r}, but the acceptance is "
                f"in {language!r}: send language {other!r}, or quote the {language!r} notice's "
                "hash",
                field="notice_sha256",
            )
        raise NoticeHashMismatch(
            "quote the sha256 of the notice served with this request", field="notice_sha256"
        )
    return language, expected


def offered_choices(row: ConsentRequest) -> list[dict[str, Any]]:
    """The request's separate choices, each with its words and, where it has one, the
    plain-language explanation (always for ai_training), in the notice's order."""
    offered = rules.offered_choices(row.terms)
    return [
        {
            "dimension": dimension,
            "item": item,
            "label": vocabulary.label(item),
            "explanation": vocabulary.EXPLANATIONS.get(item),
        }
        for dimension in rules.CHOOSABLE
        for item in offered.get(dimension, [])
    ]


def check_choices(row: ConsentRequest, body: AcceptBody, notice_sha256: str) -> Choicework:
    """The holder's choices against what the request offers; nothing is written.

    An item not offered is refused (422 choice_not_offered); when choices are offered, the
    acceptance quotes `choices_sha256`, which binds the notice hash and exactly these choices
    (422 choices_hash_mismatch); a dimension left empty is refused by the rules (422).
    """
    offered = rules.offered_choices(row.terms)
    accepted = body.choices.as_lists() if body.choices else {}
    for dimension, items in accepted.items():
        strangers = sorted(set(items) - set(offered.get(dimension, ())))
        if strangers:
            raise ChoiceNotOffered(
                f"choices.{dimension}: {', '.join(strangers)} "
                + ("is" if len(strangers) == 1 else "are")
                + " not offered as a separate choice by this request",
                field=f"choices.{dimension}",
                offered=offered,
            )
    expected = notice.choices_sha256(notice_sha256, accepted)
    quoted = body.choices_sha256.lower() if body.choices_sha256 else None
    if (offered or quoted is not None) and quoted != expected:
        raise ChoicesHashMismatch(
            "quote choices_sha256: the SHA-256 of the notice hash and the choices you accept "
            "(docs/consent.md, 'Separate choices')",
            field="choices_sha256",
        )
    scope = rules.chosen_scope(row.terms, accepted) if offered else row.terms
    records = [
        {"dimension": dimension, "item": item, "accepted": item in accepted.get(dimension, [])}
        for dimension in rules.CHOOSABLE
        for item in offered.get(dimension, [])
    ]
    return Choicework(scope=scope, records=records, sha256=expected if offered else None)


def accept_request(
    session: Session,
    *,
    signer: Signer,
    floor: str | None,
    principal: Principal,
    request_id: str,
    body: AcceptBody,
    client_ip: str | None,
    user_agent: str,
    channel: Channel,
) -> tuple[ConsentGrant, ConsentReceipt]:
    """Accept a pending request: check, build the grant, record it (audit event, receipt).

    `channel` says where the consent was given ("portal" or "api"): the receipt's
    `collectionMethod` is "<channel>:<signature method>".
    """
    accepted = _check_acceptance(
        session, signer=signer, floor=floor, principal=principal, request_id=request_id, body=body
    )
    grant = _build_grant(
        session,
        keyring=signer.keyring,
        accepted=accepted,
        principal=principal,
        body=body,
        client_ip=client_ip,
        user_agent=user_agent,
        channel=channel,
    )
    receipt = _record_acceptance(
        session, signer=signer, accepted=accepted, grant=grant, principal=principal, body=body
    )
    return grant, receipt


def _check_acceptance(
    session: Session,
    *,
    signer: Signer,
    floor: str | None,
    principal: Principal,
    request_id: str,
    body: AcceptBody,
) -> _Acceptance:
    """The checks, in order; each failure is its own problem and nothing is written.

    1. The request exists and the caller acts for its holder (else 404); lock it.
    2. The holder is not erased (lock the holder row: erasure cannot interleave).
    3. Still pending (a request is accepted or declined once: 409).
    4. The quoted notice hash is exactly the served notice's (422 notice_hash_mismatch).
    5. The caller's role may sign for this holder today (guardian for a minor, executor for
       the deceased, the holder or an attorney for a living adult: 422).
    6. A representative's authority was reviewed and approved by a verifier (403
       authority_not_verified); a minor's grant has a reviewed court approval naming this
       request (409 court_approval_not_verified).
    7. When the holder signs, their identity assurance meets the required level (409
       holder_not_verified): see `_check_assurance`.
    8. The terms still pass the rules today; the effective term is computed with its caps.
    """
    row = repository.get_request_for_update(session, request_id)
    if row is None or not principal.acts_for(row.holder_id):
        raise RequestNotFound()
    holder = holders.get_live(session, row.holder_id, lock=True)
    if row.status != "pending":
        raise RequestAlreadyDecided(f"the request is already {row.status}")
    language, notice_sha256 = _notice_accepted(row, body)
    choices = check_choices(row, body, notice_sha256)
    now = utcnow()
    ctx = _holder_context(session, keyring=signer.keyring, holder=holder, day=now.date())
    role = representatives.signer_role(principal) or "agent"
    representative = representatives.get_active(session, principal.representative_id)
    rules.check_named_guardian(
        body.guardian.representative_id if body.guardian else None, principal.representative_id
    )
    rules.check_signer(
        holder_status=ctx.facts.status,
        signer_role=role,
        has_estate_authority=representatives.has_estate_authority(representative),
    )
    representatives.require_reviewed_authority(session, principal)
    if ctx.facts.status == "minor" and not verification.court_approval_approved(session, row.id):
        raise CourtApprovalNotVerified(
            "a minor's grant needs a court approval naming this request, uploaded at "
            f"POST /v1/consent-requests/{row.id}/court-approval and approved by a verifier",
            request_id=row.id,
        )
    level = verification.assurance_of(session, holder.id)
    required = required_assurance(row, floor) if principal.representative_id is None else None
    if required is not None and not at_least(level, required):
        raise HolderNotVerified(
            _how_to_verify(holder.id, required, level),
            required_assurance=required.value,
            holder_assurance=level.value,
            how_to_verify=_verification_routes(holder.id, required),
        )
    assessment = rules.assess_terms(
        choices.scope,
        holder=ctx.facts,
        notice_served_at=row.created_at,
        now=now,
        agreement=agreements.named_by(session, row.terms),
    )
    return _Acceptance(
        row,
        holder,
        ctx.facts,
        role,
        assessment,
        now,
        required,
        level,
        choices,
        language,
        notice_sha256,
    )


def _verification_routes(holder_id: str, required: Assurance) -> list[dict[str, str]]:
    """The steps that reach `required` (each reviewed by a verifier)."""
    steps = [
        {
            "step": "identity_document",
            "route": f"POST /v1/holders/{holder_id}/identity-documents",
            "gives": Assurance.document_verified.value,
        }
    ]
    if required is Assurance.liveness_verified:
        steps += [
            {
                "step": "challenge",
                "route": f"POST /v1/holders/{holder_id}/challenges",
                "gives": "a one-time phrase to speak (valid 10 minutes)",
            },
            {
                "step": "capture",
                "route": f"POST /v1/holders/{holder_id}/captures",
                "gives": Assurance.liveness_verified.value,
            },
        ]
    return steps


def _how_to_verify(holder_id: str, required: Assurance, level: Assurance) -> str:
    text = (
        f"accepting this request needs identity assurance {required.value}; the holder has "
        f"{level.value}. Upload an identity document (POST /v1/holders/{holder_id}/"
        "identity-documents)"
    )
    if required is Assurance.liveness_verified:
        text += (
            f", ask for a challenge (POST /v1/holders/{holder_id}/challenges) and upload a "
            f"capture of yourself speaking its phrase (POST /v1/holders/{holder_id}/captures)"
        )
    return text + "; a verifier reviews them, then accept again"


def _build_grant(
    session: Session,
    *,
    keyring: Keyring,
    accepted: _Acceptance,
    principal: Principal,
    body: AcceptBody,
    client_ip: str | None,
    user_agent: str,
    channel: Channel,
) -> ConsentGrant:
    """The grant, its signature evidence hashed and the typed name sealed with the holder key."""
    row, now = accepted.request, accepted.now
    key = keyring.data_key(session, accepted.holder.id)
    grant_id = new_id("cns")
    return ConsentGrant(
        id=grant_id,
        request_id=row.id,
        holder_id=accepted.holder.id,
        studio_id=row.studio_id,
        status="active",
        # The scope the holder chose: the required items and the optional ones accepted.
        terms=accepted.choices.scope,
        warnings=[w.as_dict() for w in accepted.assessment.warnings],
        language=accepted.language,
        notice_template_version=row.notice_template_version,
        notice_sha256=accepted.notice_sha256,
        choices=accepted.choices.records or None,
        choices_sha256=accepted.choices.sha256,
        notice_served_at=row.created_at,
        accepted_at=now,
        collection_channel=channel,
        holder_status=accepted.facts.status,
        # Consent acts from the moment it is given, never before (G Art. 7(3) symmetry).
        valid_from=max(accepted.assessment.valid_from, now),
        valid_until=accepted.assessment.valid_until,
        signature={
            "role": accepted.signer_role,
            "method": body.signature.method,
            "signed_at": rfc3339(now),
            "evidence_hash": evidence_hash(
                session, keyring=keyring, client_ip=client_ip, user_agent=user_agent
            ),
            "representative_id": principal.representative_id,
            "required_assurance": (
                accepted.required_assurance.value if accepted.required_assurance else None
            ),
            "holder_assurance": accepted.holder_assurance.value,
        },
        signed_name_enc=encrypt(
            key, body.signature.signed_name.encode(), aad=aad_for("grant", grant_id, "signed_name")
        ),
        court_approval_enc=(
            encrypt(
                key,
                canonical_json(body.court_approval.model_dump(mode="json")),
                aad=aad_for("grant", grant_id, "court_approval"),
            )
            if body.court_approval
            else None
        ),
        created_at=now,
        status_changed_at=now,
    )


def _record_acceptance(
    session: Session,
    *,
    signer: Signer,
    accepted: _Acceptance,
    grant: ConsentGrant,
    principal: Principal,
    body: AcceptBody,
) -> ConsentReceipt:
    """Mark the request accepted, store the grant, write `consent.granted`, sign the receipt."""
    row = accepted.request
    row.status = "accepted"
    row.decided_at = accepted.now
    row.grant_id = grant.id
    try:
        repository.add(session, row)
        repository.add(session, grant)
    except IntegrityError as exc:  # the unique request_id: a concurrent accept won
        raise RequestAlreadyDecided("the request was accepted concurrently") from exc
    receipt_id = new_receipt_id()
    event = audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.consent_granted,
        subjects={
            "holder_id": grant.holder_id,
            "consent_id": grant.id,
            "request_id": row.id,
            "studio_id": row.studio_id,
        },
        payload={
            "notice_sha256": grant.notice_sha256,
            "language": grant.language,
            "choices_sha256": grant.choices_sha256,
            "choices": grant.choices or [],
            "signer_role": accepted.signer_role,
            "signature_method": body.signature.method,
            "collection_method": collection_method(grant),
            "evidence_hash": grant.signature["evidence_hash"],
            "court_approval": body.court_approval is not None,
            "required_assurance": grant.signature["required_assurance"],
            "holder_assurance": grant.signature["holder_assurance"],
            "valid_from": rfc3339(grant.valid_from),
            "valid_until": rfc3339(grant.valid_until),
            "warnings": [w.code for w in accepted.assessment.warnings],
            "receipt_id": receipt_id,
        },
    )
    webhooks.publish(
        session,
        EventType.consent_request_accepted,
        studio_ids=[row.studio_id],
        data={
            "consent_request_id": row.id,
            "consent_id": grant.id,
            "holder_id": grant.holder_id,
            "valid_from": rfc3339(grant.valid_from),
            "valid_until": rfc3339(grant.valid_until),
        },
    )
    return issue_receipt(
        session,
        signer=signer,
        grant=grant,
        receipt_id=receipt_id,
        jurisdiction=accepted.holder.jurisdiction,
        studio_name=_studio_name(session, row.studio_id),
        audit_seq=event.seq,
        event=ReceiptEvent(action=GRANTED, actor=signer_of(grant), at=grant.accepted_at),
    )


# -- grants: reading (never writes) ------------------------------------------------------------


def get_consent(session: Session, *, principal: Principal, consent_id: str) -> ConsentGrant:
    """The grant for the holder or the grantee studio (404 for others), as stored.

    Show it with `status_now(grant, now)`: a grant past its end reads as expired before the
    sweep records it.
    """
    grant = repository.get_grant(session, consent_id)
    if grant is None or not _may_see(principal, grant):
        raise ConsentNotFound()
    auditors.note_read(session, principal, "consent", [grant.id])
    return grant


def list_consents(
    session: Session,
    *,
    principal: Principal,
    status: str | None,
    cursor: str | None,
    limit: int,
    now: datetime | None = None,
) -> Page[ConsentGrant]:
    """Own grants, newest first; `status` filters on the state as of `now` (`status_now`)."""
    holder_id, studio_id = _list_owner(principal)
    rows = repository.list_grants(
        session,
        holder_id=holder_id,
        studio_id=studio_id,
        status_now=status,
        now=now or utcnow(),
        after=decode_cursor(cursor),
        limit=limit + 1,
    )
    page = Page.from_rows(rows, limit)
    auditors.note_read(session, principal, "consent", [g.id for g in page.items])
    return page


def latest_receipt(session: Session, *, principal: Principal, consent_id: str) -> ConsentReceipt:
    grant = repository.get_grant(session, consent_id)
    if grant is None or not principal.acts_for(grant.holder_id):
        raise ConsentNotFound()
    return lifecycle.latest_receipt(session, grant)
