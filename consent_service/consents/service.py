"""Consent requests, acceptance, grants and their status changes.

The lifecycle of DESIGN.md "Consent lifecycle": a studio asks (terms checked against the rules,
notice rendered and hashed), the holder or the right signer accepts quoting the notice hash
(or declines), and the grant then moves between `active`, `suspended`, `withdrawn`, `revoked`
and `expired`. Every move locks the grant row, tells the listeners in `events` (licences) in
the same transaction, writes an audit event, and signs a receipt for the holder.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import repository as accounts_repository
from consent_service.accounts.principal import Principal, Role
from consent_service.agreements import service as agreements
from consent_service.audit.actions import Action
from consent_service.canonical import canonical_json
from consent_service.consents import notice, repository, rules
from consent_service.consents.events import GrantStatusChange, grant_status_changed
from consent_service.consents.models import ConsentGrant, ConsentReceipt, ConsentRequest
from consent_service.consents.receipts import issue_receipt, new_receipt_id
from consent_service.consents.schemas import AcceptBody, ConsentRequestCreate
from consent_service.crypto.envelope import aad_for, decrypt, encrypt, keyed_digest
from consent_service.crypto.keyring import EVIDENCE_HMAC, KeyDestroyed, Keyring
from consent_service.db import rfc3339, utcnow
from consent_service.errors import Conflict, DomainError, NotFound
from consent_service.holders import repository as holders_repository
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.ids import new_id
from consent_service.pagination import decode_cursor, encode_cursor
from consent_service.representatives import service as representatives

# -- errors ------------------------------------------------------------------------------------


class RequestNotFound(NotFound):
    code, title = "consent_request_not_found", "No such consent request"


class ConsentNotFound(NotFound):
    code, title = "consent_not_found", "No such consent"


class RequestAlreadyDecided(Conflict):
    code, title = "request_already_decided", "This request was already accepted or declined"


class NoticeHashMismatch(DomainError):
    code, status, title = (
        "notice_hash_mismatch",
        422,
        "The notice hash does not match the notice served with this request",
    )


class ConsentNotActive(Conflict):
    code, title = "consent_not_active", "The consent is not in a state that allows this"


class NotPermitted(DomainError):
    """The caller sees the object but its role may not do this (e.g. an agent signing)."""

    code, status, title = "not_permitted", 403, "Your role may not do this"


class UnsupportedLanguage(DomainError):
    code, status, title = "unsupported_language", 422, "No notice template in this language"


# -- who is asking -----------------------------------------------------------------------------


def _acts_for_holder(principal: Principal, holder_id: str) -> bool:
    return principal.role is Role.holder and principal.holder_id == holder_id


def _is_studio_of(principal: Principal, studio_id: str) -> bool:
    return principal.role is Role.studio and principal.organization_id == studio_id


def _may_see(principal: Principal, row: ConsentRequest | ConsentGrant) -> bool:
    # API.md: the holder (or a representative acting for it) and the studio; nobody else.
    return _acts_for_holder(principal, row.holder_id) or _is_studio_of(principal, row.studio_id)


# -- holder facts for the rules ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HolderContext:
    holder: Holder
    facts: rules.HolderFacts


def _holder_context(
    session: Session, keyring: Keyring, holder: Holder, day: date
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


def _live_holder(session: Session, holder_id: str, *, lock: bool) -> Holder:
    holder = (
        holders_repository.get_for_update(session, holder_id)
        if lock
        else holders_repository.get(session, holder_id)
    )
    if holder is None:
        raise NotFound("No such holder")
    if holder.erased_at is not None:
        # After erasure no new grant can be made for that holder id (CONSENT_RULES.md).
        raise holders.HolderErased()
    return holder


def _studio_name(session: Session, studio_id: str) -> str:
    org = accounts_repository.get_organization(session, studio_id)
    return org.name if org else studio_id


# -- requests ----------------------------------------------------------------------------------


def create_request(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    studio: Principal,
    body: ConsentRequestCreate,
) -> ConsentRequest:
    """A studio asks a holder for consent; the terms are checked now, the notice rendered."""
    assert studio.organization_id is not None
    holder = _live_holder(session, body.holder_id, lock=False)
    if body.language not in notice.LANGUAGES:
        raise UnsupportedLanguage(
            f"notices exist in: {', '.join(sorted(notice.LANGUAGES))}", field="language"
        )
    now = utcnow()
    terms = body.terms.normalised()
    agreement = agreements.named_by(session, terms)
    terms = agreements.with_agreement(terms, agreement)
    ctx = _holder_context(session, keyring, holder, now.date())
    assessment = rules.assess_terms(
        terms, holder=ctx.facts, notice_served_at=now, now=now, agreement=agreement
    )
    text = notice.render(
        terms,
        studio_id=studio.organization_id,
        studio_name=_studio_name(session, studio.organization_id),
        issuer=issuer,
        language=body.language,
    )
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
        created_at=now,
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
        },
    )
    return request


def get_request(session: Session, *, principal: Principal, request_id: str) -> ConsentRequest:
    row = repository.get_request(session, request_id)
    if row is None or not _may_see(principal, row):
        raise RequestNotFound()
    return row


def list_requests(
    session: Session, *, principal: Principal, status: str | None, cursor: str | None, limit: int
) -> tuple[list[ConsentRequest], str | None]:
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
    return _paged(rows, limit)


def _list_owner(principal: Principal) -> tuple[str | None, str | None]:
    if principal.role is Role.holder and principal.holder_id:
        return principal.holder_id, None
    if principal.role is Role.studio and principal.organization_id:
        return None, principal.organization_id
    raise NotFound()


_Row = TypeVar("_Row", ConsentRequest, ConsentGrant)


def _paged(rows: list[_Row], limit: int) -> tuple[list[_Row], str | None]:
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].created_at, rows[-1].id)


def decline_reason(session: Session, keyring: Keyring, row: ConsentRequest) -> str | None:
    if row.decline_reason_enc is None:
        return None
    try:
        key = keyring.data_key(session, row.holder_id)
    except KeyDestroyed:
        return None
    return decrypt(key, row.decline_reason_enc, aad=aad_for("request", row.id, "reason")).decode()


def signed_name(session: Session, keyring: Keyring, grant: ConsentGrant) -> str | None:
    """The name the signer typed, decrypted (None once the holder was erased)."""
    if grant.signed_name_enc is None:
        return None
    try:
        key = keyring.data_key(session, grant.holder_id)
    except KeyDestroyed:
        return None
    blob = grant.signed_name_enc
    return decrypt(key, blob, aad=aad_for("grant", grant.id, "signed_name")).decode()


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
    if row is None or not _acts_for_holder(principal, row.holder_id):
        raise RequestNotFound()
    if representatives.signer_role(principal) is None:
        raise NotPermitted("an agent may not decide on a consent request")
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
    keyring: Keyring, session: Session, *, client_ip: str | None, user_agent: str
) -> str:
    """Keyed hash of the client evidence (masked IP, user agent): never kept in clear."""
    evidence = canonical_json({"ip_network": mask_ip(client_ip), "user_agent": user_agent[:512]})
    return keyed_digest(keyring.service_key(session, EVIDENCE_HMAC), evidence)


def accept_request(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    principal: Principal,
    request_id: str,
    body: AcceptBody,
    client_ip: str | None,
    user_agent: str,
) -> tuple[ConsentGrant, ConsentReceipt]:
    """Accept a pending request: checks, in order, then the grant, its audit event, a receipt.

    1. The request exists and the caller acts for its holder (else 404); lock it.
    2. The holder is not erased (lock the holder row: erasure cannot interleave).
    3. Still pending (a request is accepted or declined once: 409).
    4. The quoted notice hash is exactly the served notice's (422 notice_hash_mismatch).
    5. The caller may sign for this holder today (guardian + court approval for a minor,
       executor with estate authority for the deceased).
    6. The terms still pass the rules today; the effective term is computed with its caps.
    """
    row = repository.get_request_for_update(session, request_id)
    if row is None or not _acts_for_holder(principal, row.holder_id):
        raise RequestNotFound()
    holder = _live_holder(session, row.holder_id, lock=True)
    if row.status != "pending":
        raise RequestAlreadyDecided(f"the request is already {row.status}")
    if body.notice_sha256.lower() != row.notice_sha256:
        raise NoticeHashMismatch(
            "quote the sha256 of the notice served with this request", field="notice_sha256"
        )
    now = utcnow()
    ctx = _holder_context(session, keyring, holder, now.date())
    role = representatives.signer_role(principal) or "agent"
    representative = representatives.get_active(session, principal.representative_id)
    if body.guardian is not None and body.guardian.representative_id != principal.representative_id:
        raise rules.TermsRefused(
            "guardian_required",
            "the guardian named in the body must be the one signing",
            source="NF, TN, G Art. 8",
            field="guardian",
        )
    rules.check_signer(
        holder_status=ctx.facts.status,
        signer_role=role,
        court_approval=body.court_approval.model_dump(mode="json") if body.court_approval else None,
        has_estate_authority=representatives.has_estate_authority(representative),
    )
    assessment = rules.assess_terms(
        row.terms,
        holder=ctx.facts,
        notice_served_at=row.created_at,
        now=now,
        agreement=agreements.named_by(session, row.terms),
    )
    key = keyring.data_key(session, holder.id)
    grant_id = new_id("cns")
    grant = ConsentGrant(
        id=grant_id,
        request_id=row.id,
        holder_id=holder.id,
        studio_id=row.studio_id,
        status="active",
        terms=row.terms,
        warnings=[w.as_dict() for w in assessment.warnings],
        language=row.language,
        notice_template_version=row.notice_template_version,
        notice_sha256=row.notice_sha256,
        notice_served_at=row.created_at,
        accepted_at=now,
        holder_status=ctx.facts.status,
        # Consent acts from the moment it is given, never before (G Art. 7(3) symmetry).
        valid_from=max(assessment.valid_from, now),
        valid_until=assessment.valid_until,
        signature={
            "role": role,
            "method": body.signature.method,
            "signed_at": rfc3339(now),
            "evidence_hash": evidence_hash(
                keyring, session, client_ip=client_ip, user_agent=user_agent
            ),
            "representative_id": principal.representative_id,
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
    row.status = "accepted"
    row.decided_at = now
    row.grant_id = grant_id
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
            "holder_id": holder.id,
            "consent_id": grant_id,
            "request_id": row.id,
            "studio_id": row.studio_id,
        },
        payload={
            "notice_sha256": row.notice_sha256,
            "signer_role": role,
            "signature_method": body.signature.method,
            "evidence_hash": grant.signature["evidence_hash"],
            "court_approval": body.court_approval is not None,
            "valid_from": rfc3339(grant.valid_from),
            "valid_until": rfc3339(grant.valid_until),
            "warnings": [w.code for w in assessment.warnings],
            "receipt_id": receipt_id,
        },
    )
    receipt = issue_receipt(
        session,
        keyring=keyring,
        grant=grant,
        receipt_id=receipt_id,
        issuer=issuer,
        jurisdiction=holder.jurisdiction,
        studio_name=_studio_name(session, row.studio_id),
        audit_seq=event.seq,
    )
    return grant, receipt


# -- grants: reading (with expiry applied) -----------------------------------------------------


def effective_status(grant: ConsentGrant, now: datetime) -> str:
    """The grant's status at `now`: an active or suspended grant past its end is expired."""
    if grant.status in repository.NOT_ENDED and grant.valid_until <= now:
        return "expired"
    return grant.status


def get_consent(
    session: Session,
    *,
    principal: Principal,
    consent_id: str,
    keyring: Keyring | None = None,
    issuer: str | None = None,
) -> ConsentGrant:
    """The grant for the holder or the grantee studio (404 for others), expiry applied."""
    grant = repository.get_grant(session, consent_id)
    if grant is None or not _may_see(principal, grant):
        raise ConsentNotFound()
    now = utcnow()
    if effective_status(grant, now) != grant.status:
        grant = _expire_one(session, grant.id, now=now, keyring=keyring, issuer=issuer) or grant
    return grant


def list_consents(
    session: Session,
    *,
    principal: Principal,
    status: str | None,
    cursor: str | None,
    limit: int,
    keyring: Keyring | None = None,
    issuer: str | None = None,
) -> tuple[list[ConsentGrant], str | None]:
    holder_id, studio_id = _list_owner(principal)
    expire_due_grants(
        session, utcnow(), holder_id=holder_id, studio_id=studio_id, keyring=keyring, issuer=issuer
    )
    rows = list(
        repository.list_grants(
            session,
            holder_id=holder_id,
            studio_id=studio_id,
            status=status,
            after=decode_cursor(cursor),
            limit=limit + 1,
        )
    )
    return _paged(rows, limit)


def latest_receipt(session: Session, *, principal: Principal, consent_id: str) -> ConsentReceipt:
    grant = repository.get_grant(session, consent_id)
    if grant is None or not _acts_for_holder(principal, grant.holder_id):
        raise ConsentNotFound()
    receipt = repository.latest_receipt(session, grant.id)
    if receipt is None:  # every grant is born with one; defensive
        raise ConsentNotFound("No receipt for this consent")
    return receipt


# -- grants: status changes ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusChanged:
    grant: ConsentGrant
    revoked_licences: list[str]
    receipt: ConsentReceipt | None


_ACTIONS = {
    "withdrawn": Action.consent_withdrawn,
    "revoked": Action.consent_revoked,
    "suspended": Action.consent_suspended,
    "active": Action.consent_resumed,
    "expired": Action.consent_expired,
}


def _change_status(
    session: Session,
    grant: ConsentGrant,
    *,
    new_status: str,
    actor_id: str,
    reason: str | None,
    now: datetime,
    keyring: Keyring | None,
    issuer: str | None,
    extra_payload: dict[str, object] | None = None,
) -> StatusChanged:
    """Move a LOCKED grant to `new_status`: listeners, audit event and receipt, one transaction."""
    old_status = grant.status
    grant.status = new_status
    grant.status_changed_at = now
    grant.status_reason = reason
    repository.add(session, grant)
    changed = grant_status_changed(
        session,
        GrantStatusChange(
            grant_id=grant.id,
            holder_id=grant.holder_id,
            studio_id=grant.studio_id,
            old_status=old_status,
            new_status=new_status,
            actor_id=actor_id,
            reason=reason,
        ),
    )
    receipt_id = new_receipt_id() if keyring is not None and issuer is not None else None
    payload: dict[str, object] = {
        "from": old_status,
        "to": new_status,
        "licences_changed": changed,
        "receipt_id": receipt_id,
        **(extra_payload or {}),
    }
    if reason:
        # The reason is free text: the log keeps its hash, the grant row keeps the text.
        payload["reason_sha256"] = _sha256_text(reason)
    event = audit.record(
        session,
        actor_id=actor_id,
        action=_ACTIONS[new_status],
        subjects={
            "holder_id": grant.holder_id,
            "consent_id": grant.id,
            "studio_id": grant.studio_id,
        },
        payload=payload,
    )
    receipt = None
    if receipt_id is not None and keyring is not None and issuer is not None:
        holder = holders_repository.get(session, grant.holder_id)
        receipt = issue_receipt(
            session,
            keyring=keyring,
            grant=grant,
            receipt_id=receipt_id,
            issuer=issuer,
            jurisdiction=holder.jurisdiction if holder else "",
            studio_name=_studio_name(session, grant.studio_id),
            audit_seq=event.seq,
        )
    return StatusChanged(grant=grant, revoked_licences=changed, receipt=receipt)


def _sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _locked_grant_for(session: Session, principal: Principal, consent_id: str) -> ConsentGrant:
    grant = repository.get_grant_for_update(session, consent_id)
    if grant is None:
        raise ConsentNotFound()
    if not (principal.is_admin or _acts_for_holder(principal, grant.holder_id)):
        raise ConsentNotFound()
    return grant


def _expire_if_due(
    session: Session,
    grant: ConsentGrant,
    *,
    now: datetime,
    keyring: Keyring | None,
    issuer: str | None,
) -> None:
    if effective_status(grant, now) == "expired" and grant.status != "expired":
        _change_status(
            session,
            grant,
            new_status="expired",
            actor_id="system",
            reason=None,
            now=now,
            keyring=keyring,
            issuer=issuer,
        )


def _latest_receipt_or_fail(session: Session, grant: ConsentGrant) -> ConsentReceipt:
    receipt = repository.latest_receipt(session, grant.id)
    if receipt is None:
        raise ConsentNotFound("No receipt for this consent")
    return receipt


def withdraw_consent(
    session: Session, *, keyring: Keyring, issuer: str, principal: Principal, consent_id: str
) -> StatusChanged:
    """Withdraw (G Art. 7(3)): by the holder or the signer role that granted it; no reason.

    A second withdrawal is harmless: 200 with the same state and the latest receipt.
    """
    grant = _locked_grant_for(session, principal, consent_id)
    if principal.is_admin:
        raise ConsentNotFound()  # admins revoke; withdrawal is the holder's act
    role = representatives.signer_role(principal)
    if role is None or (role != "self" and role != grant.signature.get("role")):
        raise NotPermitted("only the holder or the role that signed the grant may withdraw it")
    return _end_grant(
        session,
        grant,
        new_status="withdrawn",
        actor_id=principal.actor_id,
        reason=None,
        keyring=keyring,
        issuer=issuer,
        extra_payload={"signer_role": role},
    )


def _end_grant(
    session: Session,
    grant: ConsentGrant,
    *,
    new_status: str,
    actor_id: str,
    reason: str | None,
    keyring: Keyring,
    issuer: str,
    extra_payload: dict[str, object] | None = None,
) -> StatusChanged:
    """Withdraw or revoke a locked grant; asking again for the state it is in is harmless."""
    now = utcnow()
    _expire_if_due(session, grant, now=now, keyring=keyring, issuer=issuer)
    if grant.status == new_status:
        return StatusChanged(grant, [], _latest_receipt_or_fail(session, grant))
    if grant.status not in repository.NOT_ENDED:
        raise ConsentNotActive(f"the consent is already {grant.status}")
    return _change_status(
        session,
        grant,
        new_status=new_status,
        actor_id=actor_id,
        reason=reason,
        now=now,
        keyring=keyring,
        issuer=issuer,
        extra_payload=extra_payload,
    )


def revoke_consent(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    principal: Principal,
    consent_id: str,
    reason: str,
) -> StatusChanged:
    """Revoke (DPV): by a guardian, an executor or an admin, with a reason."""
    grant = _locked_grant_for(session, principal, consent_id)
    if not principal.is_admin and principal.representative_kind not in ("guardian", "executor"):
        raise NotPermitted("revocation is for a guardian, an executor or an admin")
    if principal.representative_kind == "guardian" and grant.holder_status != "minor":
        # A guardian's authority covers what was granted while the holder was a minor.
        raise NotPermitted("a guardian may revoke only what was granted for a minor")
    return _end_grant(
        session,
        grant,
        new_status="revoked",
        actor_id=principal.actor_id,
        reason=reason,
        keyring=keyring,
        issuer=issuer,
    )


def _may_suspend(principal: Principal) -> bool:
    return principal.is_admin or representatives.signer_role(principal) is not None


def suspend_consent(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    principal: Principal,
    consent_id: str,
    reason: str | None = None,
) -> StatusChanged:
    """Suspend (SAG, e.g. during a strike): temporary, reversible with `resume_consent`."""
    return _suspend_or_resume(
        session,
        keyring=keyring,
        issuer=issuer,
        principal=principal,
        consent_id=consent_id,
        target="suspended",
        from_status="active",
        reason=reason,
    )


def resume_consent(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    principal: Principal,
    consent_id: str,
) -> StatusChanged:
    return _suspend_or_resume(
        session,
        keyring=keyring,
        issuer=issuer,
        principal=principal,
        consent_id=consent_id,
        target="active",
        from_status="suspended",
        reason=None,
    )


def _suspend_or_resume(
    session: Session,
    *,
    keyring: Keyring,
    issuer: str,
    principal: Principal,
    consent_id: str,
    target: str,
    from_status: str,
    reason: str | None,
) -> StatusChanged:
    grant = _locked_grant_for(session, principal, consent_id)
    if not _may_suspend(principal):
        raise NotPermitted("an agent may not suspend or resume a consent")
    now = utcnow()
    _expire_if_due(session, grant, now=now, keyring=keyring, issuer=issuer)
    if grant.status == target:
        return StatusChanged(grant, [], _latest_receipt_or_fail(session, grant))
    if grant.status != from_status:
        raise ConsentNotActive(f"the consent is {grant.status}")
    return _change_status(
        session,
        grant,
        new_status=target,
        actor_id=principal.actor_id,
        reason=reason,
        now=now,
        keyring=keyring,
        issuer=issuer,
    )


# -- sweeps: expiry and erasure ---------------------------------------------------------------


def _expire_one(
    session: Session,
    grant_id: str,
    *,
    now: datetime,
    keyring: Keyring | None,
    issuer: str | None,
) -> ConsentGrant | None:
    grant = repository.get_grant_for_update(session, grant_id)
    if grant is None:
        return None
    _expire_if_due(session, grant, now=now, keyring=keyring, issuer=issuer)
    return grant


def expire_due_grants(
    session: Session,
    now: datetime,
    *,
    holder_id: str | None = None,
    studio_id: str | None = None,
    keyring: Keyring | None = None,
    issuer: str | None = None,
) -> list[str]:
    """Mark every active/suspended grant whose effective end has passed `expired`.

    End of term, the 18th birthday of a minor and the end of post-mortem rights are all folded
    into `valid_until` when the grant is made, so one comparison covers them (NF). Each grant
    is locked and re-checked; listeners are told; receipts are signed when a keyring is given.
    """
    expired: list[str] = []
    for grant_id in repository.due_grant_ids(
        session, now=now, holder_id=holder_id, studio_id=studio_id
    ):
        grant = repository.get_grant_for_update(session, grant_id)
        if grant is None or effective_status(grant, now) != "expired" or grant.status == "expired":
            continue
        _change_status(
            session,
            grant,
            new_status="expired",
            actor_id="system",
            reason=None,
            now=now,
            keyring=keyring,
            issuer=issuer,
        )
        expired.append(grant_id)
    return expired


def withdraw_all_for_erasure(
    session: Session,
    *,
    holder_id: str,
    actor_id: str,
    keyring: Keyring | None = None,
    issuer: str | None = None,
) -> list[str]:
    """Withdraw every active or suspended grant of a holder being erased; return their ids.

    Called by erasure inside its own transaction, before the holder key is destroyed.
    Receipts are signed when `keyring` and `issuer` are given.
    """
    withdrawn: list[str] = []
    now = utcnow()
    for grant_id in repository.open_grant_ids_of_holder(session, holder_id):
        grant = repository.get_grant_for_update(session, grant_id)
        if grant is None or grant.status not in repository.NOT_ENDED:
            continue
        _change_status(
            session,
            grant,
            new_status="withdrawn",
            actor_id=actor_id,
            reason="erasure",
            now=now,
            keyring=keyring,
            issuer=issuer,
            extra_payload={"cause": "erasure"},
        )
        withdrawn.append(grant_id)
    return withdrawn


def ensure_holder_can_consent(session: Session, holder_id: str) -> None:
    """Raise `HolderErased` (404 `holder_erased`) for an erased holder, NotFound if unknown."""
    _live_holder(session, holder_id, lock=False)
