"""Verification cases: open them with evidence, review them, compute the holder's assurance.

Rules (IDENTITY.md):
- A case is opened by the holder or a representative acting for them, with evidence uploaded
  through the vault's path (sniffed, de-identified, encrypted under the holder's key).
- Only a `verifier` decides a case, and never a case about themselves or a holder they
  represent (matched on the email blind index of logins).
- An identity document's image is deleted from the vault once the case is decided; its keyed
  hash, type, country, last 4 characters and the decision stay.
- Every state change is an audit event with the case id, kind and the holder's level after it,
  never evidence or personal data.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import auditors
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.consents.errors import RequestNotFound
from consent_service.crypto.keyring import Keyring
from consent_service.db import utcnow
from consent_service.errors import Conflict, DomainError, NotFound, ValidationFailed
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.ids import new_id
from consent_service.representatives import service as representatives
from consent_service.representatives.models import Representative
from consent_service.representatives.service import RepresentativeNotFound
from consent_service.vault import service as vault
from consent_service.vault.storage import Storage
from consent_service.vault.upload import ReceivedUpload
from consent_service.verification import repository
from consent_service.verification.levels import Assurance, assurance_level
from consent_service.verification.models import Challenge, Evidence, VerificationCase
from consent_service.verification.schemas import (
    AuthorityDocumentType,
    CaseKind,
    CaseStatus,
    IdentityDocumentType,
)
from consent_service.verification.words import WORDS

CHALLENGE_TTL = timedelta(minutes=10)
PHRASE_WORDS = 6
EVIDENCE_KIND = "evidence"  # the vault object kind: binds ciphertext and key to evidence
CAPTURE_FAMILIES = frozenset({"audio", "video"})
DOCUMENT_FAMILIES = frozenset({"image"})
# Kinds that count towards the assurance level.
ASSURANCE_KINDS = (CaseKind.identity_document, CaseKind.liveness)
# Kinds whose review shows the registration the evidence is compared with.
SUBJECT_KINDS = (CaseKind.identity_document, CaseKind.death)


# -- errors -----------------------------------------------------------------------------------


class CaseNotFound(NotFound):
    code, title = "verification_case_not_found", "No such verification case"


class EvidenceNotFound(NotFound):
    code, title = "evidence_not_found", "No such evidence"


class EvidenceDeleted(DomainError):
    code, status, title = "evidence_deleted", 410, "The evidence was deleted after review"


class ChallengeNotFound(NotFound):
    code, title = "challenge_not_found", "No such challenge"


class ChallengeExpired(DomainError):
    code, status, title = "challenge_expired", 409, "The challenge has expired: ask for a new one"


class ChallengeUsed(DomainError):
    code, status, title = "challenge_already_used", 409, "The challenge was already used"


class CaseAlreadyDecided(Conflict):
    code, title = "case_already_decided", "The case is no longer pending"


class CaseNotWithdrawable(Conflict):
    code, title = "case_not_withdrawable", "Only a pending or approved case can be withdrawn"


class VerifierConflictOfInterest(DomainError):
    code, status, title = (
        "verifier_conflict_of_interest",
        403,
        "A verifier cannot review a case about themselves or a holder they represent",
    )


class HeardPhraseRequired(ValidationFailed):
    code, title = "heard_phrase_required", "Approving a live capture needs the heard phrase"


class PhraseMismatch(DomainError):
    code, status, title = "phrase_mismatch", 409, "The heard phrase is not the challenge phrase"


class InvalidDocumentField(ValidationFailed):
    code, title = "invalid_document_field", "A document field is invalid"


class DocumentDateInFuture(ValidationFailed):
    code, title = "document_date_in_future", "The document is dated after today"


# -- who acts ---------------------------------------------------------------------------------


def acting_holder(session: Session, principal: Principal, holder_id: str) -> Holder:
    """The live holder `principal` is or acts for; 404 for anyone else (vault's rule)."""
    return vault.live_holder(session, principal, holder_id)


def _require_verifier(principal: Principal) -> None:
    if principal.role is not Role.verifier:
        raise CaseNotFound()


def _check_no_conflict(session: Session, verifier: Principal, case: VerificationCase) -> None:
    """Refuse a verifier whose email is that of the holder or of any of their representatives."""
    check_verifier_without_conflict(
        session, verifier, case.holder_id, representative_id=case.representative_id
    )


def _case_for_verifier(
    session: Session, verifier: Principal, case_id: str, *, for_update: bool = False
) -> VerificationCase:
    """The case, for a verifier without a conflict of interest in it; 404 for anyone else."""
    _require_verifier(verifier)
    if for_update:
        case = repository.get_case_for_update(session, case_id)
    else:
        case = repository.get_case(session, case_id)
    if case is None:
        raise CaseNotFound()
    _check_no_conflict(session, verifier, case)
    return case


def check_verifier_without_conflict(
    session: Session, verifier: Principal, holder_id: str, *, representative_id: str | None = None
) -> None:
    """403 for a verifier who is the holder or one of their representatives (by login email)."""
    mine = accounts.verifier_email_index(session, verifier.actor_id)
    if mine is None:
        return
    people = [holder_id]
    people += [rep.id for rep in representatives.active_of_holder(session, holder_id)]
    if representative_id:
        people.append(representative_id)
    if mine in accounts.login_email_indexes(session, people):
        raise VerifierConflictOfInterest()


# -- assurance --------------------------------------------------------------------------------


def assurance_of(session: Session, holder_id: str) -> Assurance:
    """The holder's identity assurance level now, from their approved cases."""
    return assurance_level(repository.approved_kinds_of_holder(session, holder_id))


def representative_authority_approved(session: Session, representative_id: str) -> bool:
    """Whether a verifier approved the evidence of this (unrevoked) representative's authority."""
    rep = representatives.find(session, representative_id)
    if rep is None or rep.revoked_at is not None:
        return False
    return repository.has_approved_case(
        session, kind=CaseKind.representative_authority, representative_id=representative_id
    )


def court_approval_approved(session: Session, request_id: str) -> bool:
    """Whether a verifier approved a court's approval of the minor's grant for this request."""
    return repository.has_approved_case(
        session, kind=CaseKind.court_approval, request_id=request_id
    )


# -- challenges -------------------------------------------------------------------------------


def normalise_phrase(phrase: str) -> str:
    """Lower case, NFKC, single spaces: what a verifier types is compared in this form."""
    return " ".join(unicodedata.normalize("NFKC", phrase).casefold().split())


def phrase_sha256(phrase: str) -> str:
    return hashlib.sha256(normalise_phrase(phrase).encode("utf-8")).hexdigest()


def new_phrase() -> str:
    return " ".join(secrets.choice(WORDS) for _ in range(PHRASE_WORDS))


def _request_of_holder(session: Session, request_id: str, holder_id: str) -> Any:
    from consent_service.consents import of_holder as consents

    request = consents.request_by_id(session, request_id)
    if request is None or request.holder_id != holder_id:
        raise RequestNotFound()
    return request


def create_challenge(
    session: Session, *, principal: Principal, holder_id: str, purpose: str
) -> tuple[Challenge, str]:
    """A one-time phrase for a live capture; returns the row and the phrase (shown once)."""
    acting_holder(session, principal, holder_id)
    if purpose.startswith("grant:"):
        _request_of_holder(session, purpose.removeprefix("grant:"), holder_id)
    phrase = new_phrase()
    now = utcnow()
    challenge = Challenge(
        id=new_id("chl"),
        holder_id=holder_id,
        purpose=purpose,
        phrase_sha256=phrase_sha256(phrase),
        created_by=principal.actor_id,
        created_at=now,
        expires_at=now + CHALLENGE_TTL,
    )
    repository.add(session, challenge)
    return challenge, phrase


def _usable_challenge(
    session: Session, *, holder_id: str, challenge_id: str, for_update: bool
) -> Challenge:
    challenge = repository.get_challenge_of_holder(
        session, challenge_id=challenge_id, holder_id=holder_id, for_update=for_update
    )
    if challenge is None:
        raise ChallengeNotFound()
    if challenge.used_at is not None:
        raise ChallengeUsed()
    if challenge.expires_at <= utcnow():
        raise ChallengeExpired()
    return challenge


def check_challenge(
    session: Session, *, principal: Principal, holder_id: str, challenge_id: str
) -> None:
    """Before receiving a capture: the challenge exists, is this holder's, unused, unexpired."""
    acting_holder(session, principal, holder_id)
    _usable_challenge(session, holder_id=holder_id, challenge_id=challenge_id, for_update=False)


# -- opening cases ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenedCase:
    case: VerificationCase
    evidence: list[Evidence]


def _seal_evidence(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    holder_id: str,
    upload: ReceivedUpload,
    families: frozenset[str],
) -> Evidence:
    evidence_id = new_id("evd")
    sealed = vault.seal_upload(
        session,
        keyring=keyring,
        storage=storage,
        holder_id=holder_id,
        kind=EVIDENCE_KIND,
        object_id=evidence_id,
        upload=upload,
        families=families,
    )
    # From here, a failed transaction removes the object: nothing is left half-stored.
    vault.discard_unless_committed(session, storage, sealed.storage_name)
    return Evidence(
        id=evidence_id,
        case_id="",
        holder_id=holder_id,
        content_type=sealed.content_type,
        size=sealed.size,
        stripped_metadata=sealed.stripped_metadata,
        storage_name=sealed.storage_name,
        content_hmac=sealed.content_hmac,
        wrapped_key=sealed.wrapped_key,
    )


def _open_case(
    session: Session,
    *,
    principal: Principal,
    kind: CaseKind,
    holder_id: str,
    evidence: Evidence,
    details: dict[str, Any],
    representative_id: str | None = None,
    request_id: str | None = None,
) -> OpenedCase:
    case = VerificationCase(
        id=new_id("vfc"),
        kind=kind.value,
        holder_id=holder_id,
        representative_id=representative_id,
        request_id=request_id,
        status=CaseStatus.pending.value,
        submitted_by=principal.actor_id,
        details=details,
    )
    repository.add(session, case)
    evidence.case_id = case.id
    repository.add(session, evidence)
    subjects = {"holder_id": holder_id, "verification_case_id": case.id}
    if representative_id:
        subjects["representative_id"] = representative_id
    if request_id:
        subjects["request_id"] = request_id
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.verification_requested,
        subjects=subjects,
        payload={"kind": kind.value, "assurance": assurance_of(session, holder_id).value},
    )
    return OpenedCase(case, [evidence])


def _live_holder_for_update(session: Session, holder_id: str) -> Holder:
    holder = holders.find(session, holder_id, lock=True)
    if holder is None or holder.erased_at is not None:
        raise vault.HolderNotFound()
    return holder


def _submit_document(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    kind: CaseKind,
    holder_id: str,
    upload: ReceivedUpload,
    details: dict[str, Any],
    representative_id: str | None = None,
    request_id: str | None = None,
    lock_holder: bool = True,
) -> OpenedCase:
    """The path every document upload shares, once its caller checked who acts and the
    fields: seal the image as evidence, lock the live holder (sealed first, so no row is
    locked while the file is encrypted), open the case."""
    evidence = _seal_evidence(
        session,
        keyring=keyring,
        storage=storage,
        holder_id=holder_id,
        upload=upload,
        families=DOCUMENT_FAMILIES,
    )
    if lock_holder:
        _live_holder_for_update(session, holder_id)
    return _open_case(
        session,
        principal=principal,
        kind=kind,
        holder_id=holder_id,
        evidence=evidence,
        representative_id=representative_id,
        request_id=request_id,
        details=details,
    )


def submit_capture(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    upload: ReceivedUpload,
) -> OpenedCase:
    """A live capture for a challenge: store it, use up the challenge, open a `liveness` case."""
    acting_holder(session, principal, holder_id)
    challenge_id = upload.fields.get("challenge_id", "")
    # Checked again before sealing, so an expired or used challenge stores nothing at all.
    _usable_challenge(session, holder_id=holder_id, challenge_id=challenge_id, for_update=False)
    evidence = _seal_evidence(
        session,
        keyring=keyring,
        storage=storage,
        holder_id=holder_id,
        upload=upload,
        families=CAPTURE_FAMILIES,
    )
    _live_holder_for_update(session, holder_id)
    # Locked: of two captures racing for one challenge, exactly one uses it.
    challenge = _usable_challenge(
        session, holder_id=holder_id, challenge_id=challenge_id, for_update=True
    )
    challenge.used_at = utcnow()
    repository.add(session, challenge)
    request_id = (
        challenge.purpose.removeprefix("grant:") if challenge.purpose != "liveness" else None
    )
    return _open_case(
        session,
        principal=principal,
        kind=CaseKind.liveness,
        holder_id=holder_id,
        evidence=evidence,
        request_id=request_id,
        details={
            "challenge_id": challenge.id,
            "purpose": challenge.purpose,
            "phrase_sha256": challenge.phrase_sha256,
            "captured_at": challenge.used_at.isoformat(),
        },
    )


def _country(value: str) -> str:
    """An ISO 3166-1 alpha-2 country, checked against pycountry's data when it is installed."""
    code = value.strip().upper()
    if len(code) != 2 or not code.isascii() or not code.isalpha():
        raise InvalidDocumentField("'issuing_country' must be an ISO 3166-1 alpha-2 code")
    try:
        import pycountry
    except ImportError:  # pragma: no cover - the shape check above is then all there is
        return code
    if pycountry.countries.get(alpha_2=code) is None:
        raise InvalidDocumentField(f"'issuing_country' {code!r} is not an ISO 3166-1 country")
    return code


def identity_document_details(fields: dict[str, str]) -> dict[str, Any]:
    """Validate the form fields of an identity document; the metadata the case keeps."""
    try:
        document_type = IdentityDocumentType(fields.get("document_type", ""))
    except ValueError as exc:
        allowed = ", ".join(t.value for t in IdentityDocumentType)
        raise InvalidDocumentField(f"'document_type' must be one of {allowed}") from exc
    last4 = fields.get("number_last4", "").upper()
    if len(last4) != 4 or not last4.isascii() or not last4.isalnum():
        raise InvalidDocumentField("'number_last4' must be the last 4 letters or digits")
    return {
        "document_type": document_type.value,
        "issuing_country": _country(fields.get("issuing_country", "")),
        "number_last4": last4,
    }


def submit_identity_document(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    upload: ReceivedUpload,
) -> OpenedCase:
    """An image of an identity document: store it until review, open an `identity_document` case."""
    acting_holder(session, principal, holder_id)
    details = identity_document_details(upload.fields)
    return _submit_document(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        upload=upload,
        kind=CaseKind.identity_document,
        holder_id=holder_id,
        details=details,
    )


def _representative_for_evidence(
    session: Session, principal: Principal, holder_id: str, representative_id: str
) -> Representative:
    """The representative whose authority is evidenced: the holder's own, or oneself."""
    acting_holder(session, principal, holder_id)
    rep = representatives.find(session, representative_id)
    if rep is None or rep.holder_id != holder_id or rep.revoked_at is not None:
        raise RepresentativeNotFound()
    # A representative may evidence their own authority, not another representative's.
    if principal.representative_id is not None and principal.representative_id != rep.id:
        raise RepresentativeNotFound()
    return rep


def check_representative(
    session: Session, *, principal: Principal, holder_id: str, representative_id: str
) -> None:
    _representative_for_evidence(session, principal, holder_id, representative_id)


def submit_authority_evidence(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    representative_id: str,
    upload: ReceivedUpload,
) -> OpenedCase:
    """The court order, letters or power of attorney behind a representative: a case to review."""
    rep = _representative_for_evidence(session, principal, holder_id, representative_id)
    try:
        document_type = AuthorityDocumentType(upload.fields.get("document_type", ""))
    except ValueError as exc:
        allowed = ", ".join(t.value for t in AuthorityDocumentType)
        raise InvalidDocumentField(f"'document_type' must be one of {allowed}") from exc
    return _submit_document(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        upload=upload,
        kind=CaseKind.representative_authority,
        holder_id=holder_id,
        representative_id=rep.id,
        details={"document_type": document_type.value, "representative_kind": rep.kind},
    )


def _request_for_guardian(session: Session, principal: Principal, request_id: str) -> Any:
    """The request, if `principal` is a guardian acting for its holder; 404 otherwise."""
    from consent_service.consents import of_holder as consents

    request = consents.request_by_id(session, request_id)
    if (
        request is None
        or principal.role is not Role.holder
        or principal.holder_id != request.holder_id
        or principal.representative_kind != "guardian"
    ):
        raise RequestNotFound()
    return request


def check_court_approval(session: Session, *, principal: Principal, request_id: str) -> None:
    request = _request_for_guardian(session, principal, request_id)
    acting_holder(session, principal, request.holder_id)


def court_approval_details(fields: dict[str, str], request_id: str, today: date) -> dict[str, Any]:
    try:
        document_date = date.fromisoformat(fields.get("document_date", ""))
    except ValueError as exc:
        raise InvalidDocumentField("'document_date' must be a date (YYYY-MM-DD)") from exc
    if document_date > today:
        raise DocumentDateInFuture(f"The court approval is dated {document_date}, after today")
    named = fields.get("names_request_id", "")
    if named != request_id:
        raise InvalidDocumentField(
            "'names_request_id' must be the id of the request the court approved (as the "
            "document names it)"
        )
    court = fields.get("court", "")
    if not court:
        raise InvalidDocumentField("'court' must name the court that approved the grant")
    return {"document_date": document_date.isoformat(), "court": court}


def submit_court_approval(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    request_id: str,
    upload: ReceivedUpload,
) -> OpenedCase:
    """A court's approval of a minor's grant, uploaded by the guardian: a case to review."""
    request = _request_for_guardian(session, principal, request_id)
    holder_id = request.holder_id
    acting_holder(session, principal, holder_id)
    details = court_approval_details(upload.fields, request_id, utcnow().date())
    return _submit_document(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        upload=upload,
        kind=CaseKind.court_approval,
        holder_id=holder_id,
        request_id=request_id,
        representative_id=principal.representative_id,
        details=details,
    )


def submit_death_certificate(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    upload: ReceivedUpload,
    approve_now: bool,
) -> OpenedCase:
    """The death certificate behind a recorded death: a `death` case with sealed evidence.

    The death recording flow (flows/death.py) authorised the caller and checked the date
    first. Recorded by a verifier (`approve_now`), the case is approved by that verifier at
    once; recorded by an approved executor, it waits in the queue for a verifier's review.
    """
    opened = _submit_document(
        session,
        keyring=keyring,
        storage=storage,
        principal=principal,
        upload=upload,
        kind=CaseKind.death,
        holder_id=holder_id,
        representative_id=principal.representative_id,
        details={
            "document_type": "death_certificate",
            "recorded_by": "verifier" if approve_now else "executor",
        },
        # holders.record_death locks the holder right after, and checks again.
        lock_holder=False,
    )
    if approve_now:
        _transition(
            session,
            storage=storage,
            actor=principal,
            case=opened.case,
            action="approve",
            reason="death recorded by the verifier on this certificate",
        )
    return opened


# -- the review queue -------------------------------------------------------------------------


def list_cases(
    session: Session,
    *,
    verifier: Principal,
    status: CaseStatus | None,
    kind: CaseKind | None,
    limit: int,
    after: tuple[datetime, str] | None,
) -> list[VerificationCase]:
    """The review queue (verifiers), or the cases an auditor reads (each read is logged)."""
    if verifier.role is not Role.auditor:
        _require_verifier(verifier)
    rows = list(
        repository.page_of_cases(
            session,
            status=status.value if status else None,
            kind=kind.value if kind else None,
            limit=limit,
            after=after,
        )
    )
    # Callers ask for one row more than they show (to know if a next page exists).
    shown = rows[: limit - 1] if len(rows) == limit else rows
    auditors.note_read(session, verifier, "verification_case", [c.id for c in shown])
    return rows


@dataclass(frozen=True, slots=True)
class CaseView:
    case: VerificationCase
    evidence: list[Evidence]
    assurance: Assurance
    # Identity documents and deaths under review: (legal name, date of birth, jurisdiction,
    # date of death as recorded) to compare the evidence against.
    subject: tuple[str, date, str, date | None] | None = None


def get_case(session: Session, *, keyring: Keyring, verifier: Principal, case_id: str) -> CaseView:
    """A case with what its review needs: its evidence and, for a document, the registration.

    An auditor gets the case and its evidence's metadata, never the registration nor the
    evidence itself (the router gives them no download link); the read is logged.
    """
    if verifier.role is Role.auditor:
        case_row = repository.get_case(session, case_id)
        if case_row is None:
            raise CaseNotFound()
        auditors.note_read(session, verifier, "verification_case", [case_row.id])
        return CaseView(
            case=case_row,
            evidence=list(repository.evidence_of_case(session, case_row.id)),
            assurance=assurance_of(session, case_row.holder_id),
        )
    case = _case_for_verifier(session, verifier, case_id)
    subject: tuple[str, date, str, date | None] | None = None
    # A pending document, or an executor's recording of a death, is checked against the
    # registration (and the date of death as recorded).
    if case.status == CaseStatus.pending and case.kind in SUBJECT_KINDS:
        holder = holders.find(session, case.holder_id)
        if holder is None:
            raise CaseNotFound()
        data = holders.decrypt_holder(session, keyring, holder)
        died = data.date_of_death if case.kind == CaseKind.death else None
        subject = (data.legal_name, data.date_of_birth, holder.jurisdiction, died)
    return CaseView(
        case=case,
        evidence=list(repository.evidence_of_case(session, case.id)),
        assurance=assurance_of(session, case.holder_id),
        subject=subject,
    )


def open_evidence(
    session: Session,
    *,
    keyring: Keyring,
    storage: Storage,
    verifier: Principal,
    case_id: str,
    evidence_id: str,
) -> tuple[Evidence, Iterator[bytes]]:
    """The decrypted evidence of one case, for the verifier reviewing it; every read is audited."""
    case = _case_for_verifier(session, verifier, case_id)
    evidence = repository.get_evidence_of_case(session, case_id=case.id, evidence_id=evidence_id)
    if evidence is None:
        raise EvidenceNotFound()
    if evidence.wrapped_key is None or evidence.deleted_at is not None:
        raise EvidenceDeleted()
    content = vault.open_sealed(
        session,
        keyring=keyring,
        storage=storage,
        holder_id=evidence.holder_id,
        kind=EVIDENCE_KIND,
        object_id=evidence.id,
        storage_name=evidence.storage_name,
        wrapped_key=evidence.wrapped_key,
    )
    audit.record(
        session,
        actor_id=verifier.actor_id,
        action=Action.verification_evidence_viewed,
        subjects={
            "holder_id": case.holder_id,
            "verification_case_id": case.id,
            "evidence_id": evidence.id,
        },
        payload={"kind": case.kind},
    )
    return evidence, content


# The case state machine: (from status, action) -> to status.
TRANSITIONS: dict[tuple[str, str], str] = {
    (CaseStatus.pending, "approve"): CaseStatus.approved,
    (CaseStatus.pending, "reject"): CaseStatus.rejected,
    (CaseStatus.pending, "withdraw"): CaseStatus.withdrawn,
    (CaseStatus.approved, "withdraw"): CaseStatus.withdrawn,
}
EVENT_OF_STATUS = {
    CaseStatus.approved: Action.verification_approved,
    CaseStatus.rejected: Action.verification_rejected,
    CaseStatus.withdrawn: Action.verification_withdrawn,
}


def _delete_evidence(session: Session, storage: Storage, case: VerificationCase) -> None:
    """Data minimisation: forget the object key now, remove the object once committed."""
    for evidence in repository.evidence_of_case(session, case.id):
        if evidence.deleted_at is not None:
            continue
        evidence.deleted_at = utcnow()
        evidence.wrapped_key = None
        repository.add(session, evidence)
        vault.delete_after_commit(session, storage, evidence.storage_name)


def _transition(
    session: Session,
    *,
    storage: Storage,
    actor: Principal,
    case: VerificationCase,
    action: str,
    reason: str | None,
) -> VerificationCase:
    to_status = TRANSITIONS.get((case.status, action))
    if to_status is None:
        if action == "withdraw":
            raise CaseNotWithdrawable()
        raise CaseAlreadyDecided(f"The case is {case.status}")
    now = utcnow()
    case.status = to_status
    if action == "withdraw":
        case.withdrawn_at = now
        if reason:
            case.details = {**case.details, "withdrawal_reason": reason}
    else:
        case.reviewed_by = actor.actor_id
        case.reviewed_at = now
        case.reason = reason
    repository.add(session, case)
    if case.kind == CaseKind.identity_document and action in {"approve", "reject"}:
        _delete_evidence(session, storage, case)
    audit.record(
        session,
        actor_id=actor.actor_id,
        action=EVENT_OF_STATUS[CaseStatus(to_status)],
        subjects={"holder_id": case.holder_id, "verification_case_id": case.id},
        payload={"kind": case.kind, "assurance": assurance_of(session, case.holder_id).value},
    )
    return case


def review_case(
    session: Session,
    *,
    storage: Storage,
    verifier: Principal,
    case_id: str,
    approve: bool,
    reason: str,
    heard_phrase: str | None,
) -> VerificationCase:
    """Approve or reject a pending case, as a verifier without a conflict of interest."""
    case = _case_for_verifier(session, verifier, case_id, for_update=True)
    if case.status != CaseStatus.pending:
        raise CaseAlreadyDecided(f"The case is {case.status}")
    if approve and case.kind == CaseKind.liveness:
        # Only the phrase's hash is kept: the verifier proves they heard the right words.
        if not heard_phrase:
            raise HeardPhraseRequired()
        if phrase_sha256(heard_phrase) != case.details.get("phrase_sha256"):
            raise PhraseMismatch()
    return _transition(
        session,
        storage=storage,
        actor=verifier,
        case=case,
        action="approve" if approve else "reject",
        reason=reason,
    )


def list_cases_of_holder(
    session: Session, *, principal: Principal, holder_id: str
) -> list[VerificationCase]:
    """The holder's own cases (the holder, or a representative acting for them)."""
    acting_holder(session, principal, holder_id)
    return list(
        repository.page_of_cases(
            session, status=None, kind=None, holder_id=holder_id, limit=1000, after=None
        )
    )


def withdraw_case(
    session: Session,
    *,
    storage: Storage,
    principal: Principal,
    holder_id: str,
    case_id: str,
    reason: str | None,
) -> VerificationCase:
    """The holder withdraws evidence: a pending case stops, an approved one stops counting."""
    acting_holder(session, principal, holder_id)
    case = repository.get_case_of_holder_for_update(session, case_id=case_id, holder_id=holder_id)
    if case is None:
        raise CaseNotFound()
    case = _transition(
        session, storage=storage, actor=principal, case=case, action="withdraw", reason=reason
    )
    _delete_evidence(session, storage, case)
    return case


def assurance_view(
    session: Session, *, principal: Principal, holder_id: str
) -> tuple[Assurance, list[VerificationCase]]:
    """The level and the decided assurance cases, for the holder, auditors, admins and the
    studios that asked the holder for consent; 404 for anyone else."""
    from consent_service.consents import of_holder as consents

    holder = holders.find(session, holder_id)
    allowed = holder is not None and (
        principal.role in (Role.admin, Role.auditor)
        or principal.acts_for(holder_id)
        or (
            principal.role is Role.studio
            and principal.organization_id is not None
            and consents.studio_asked(
                session, studio_id=principal.organization_id, holder_id=holder_id
            )
        )
    )
    if not allowed:
        raise NotFound("No such holder")
    cases = [
        c
        for c in repository.page_of_cases(
            session, status=None, kind=None, holder_id=holder_id, limit=1000, after=None
        )
        if c.kind in ASSURANCE_KINDS
    ]
    auditors.note_read(session, principal, "holder_assurance", [holder_id])
    return assurance_of(session, holder_id), cases


# -- holder rights ----------------------------------------------------------------------------


def export_of_holder(session: Session, holder_id: str) -> list[dict[str, Any]]:
    """The holder's cases for their data export: metadata and decisions, never the media."""
    cases = repository.page_of_cases(
        session, status=None, kind=None, holder_id=holder_id, limit=100_000, after=None
    )
    return [
        {
            "id": case.id,
            "kind": case.kind,
            "status": case.status,
            "representative_id": case.representative_id,
            "request_id": case.request_id,
            "details": {k: v for k, v in case.details.items() if k != "phrase_sha256"},
            "reason": case.reason,
            "created_at": case.created_at.isoformat(),
            "reviewed_at": case.reviewed_at.isoformat() if case.reviewed_at else None,
            "evidence": [
                {
                    "id": e.id,
                    "content_type": e.content_type,
                    "size": e.size,
                    "deleted": e.deleted_at is not None or e.wrapped_key is None,
                }
                for e in repository.evidence_of_case(session, case.id)
            ],
        }
        for case in cases
    ]


def forget_holder(session: Session, holder_id: str) -> None:
    """Erasure: keep each case's kind, status and decision time; drop the document metadata,
    the reasons and the evidence keys (the objects go with the holder's vault prefix)."""
    cases = repository.page_of_cases(
        session, status=None, kind=None, holder_id=holder_id, limit=100_000, after=None
    )
    for case in cases:
        case.details = {}
        case.reason = None
        repository.add(session, case)
        for evidence in repository.evidence_of_case(session, case.id):
            evidence.wrapped_key = None
            evidence.deleted_at = evidence.deleted_at or utcnow()
            repository.add(session, evidence)


# -- retention (flows/retention.py) ------------------------------------------------------------

# What a case keeps after its retention period: its kind and status (columns), its times, and
# these details, which identify no one (the type of document, not its number or its date).
RETAINED_DETAILS = frozenset({"document_type", "issuing_country", "representative_kind"})


@dataclass(frozen=True, slots=True)
class EvidenceRetention:
    case_ids: list[str]
    objects_deleted: int


def apply_evidence_retention(
    session: Session,
    *,
    storage: Storage,
    decided_before: datetime,
    uploaded_before: datetime,
    dry_run: bool,
) -> EvidenceRetention:
    """Delete the evidence of cases past their retention period and scrub their sensitive
    columns (the reviewer's reason, identifying details, the evidence keys).

    The objects are removed once the transaction commits; the evidence rows keep their
    metadata (type, size, the keyed content HMAC) and their deletion time. A case already
    scrubbed is left alone, so running again changes nothing.
    """
    changed: list[str] = []
    objects = 0
    for case in repository.cases_past_retention(
        session, decided_before=decided_before, uploaded_before=uploaded_before
    ):
        live = [
            e
            for e in repository.evidence_of_case(session, case.id)
            if e.deleted_at is None or e.wrapped_key is not None
        ]
        details = {k: v for k, v in (case.details or {}).items() if k in RETAINED_DETAILS}
        if not live and case.reason is None and details == (case.details or {}):
            continue
        changed.append(case.id)
        objects += sum(1 for e in live if e.deleted_at is None)
        if dry_run:
            continue
        case.reason = None
        case.details = details
        repository.add(session, case)
        for evidence in live:
            if evidence.deleted_at is None:
                vault.delete_after_commit(session, storage, evidence.storage_name)
            evidence.deleted_at = evidence.deleted_at or utcnow()
            evidence.wrapped_key = None
            repository.add(session, evidence)
    return EvidenceRetention(case_ids=changed, objects_deleted=objects)
