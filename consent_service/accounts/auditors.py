"""Auditor accounts: people of an auditor organization, their TOTP second factor, and the
audit trail of what they read.

- **Accounts.** An admin creates an auditor (`POST /v1/auditors` or `consent-service auditors
  create`) for an organization of kind `auditor`. The person gets a password login under their
  email (kept only as its blind index) and an initial password, shown once to the admin, that
  they change after signing in. Their access tokens carry role `auditor`.
- **TOTP (RFC 6238, pyotp).** Optional: the signed-in auditor enrols (a secret and its
  `otpauth://` provisioning URI for an authenticator app), then confirms with a first code.
  From then on `POST /v1/auth/token` needs the current code in the form field `totp`. A wrong
  code is `totp_invalid`, a missing one `totp_required`; both go through the same per-address
  and per-account throttle as passwords (the code travels in the same request). A code is
  accepted once (RFC 6238 §5.2): the login keeps the time step of the last code accepted, and
  a code of that step or an earlier one is `totp_reused`. The secret is sealed (AES-GCM)
  under the service key "totp-seal".
- **Reads are audited.** Services call `note_read(session, principal, kind, ids)` when an
  auditor reads something; the request's unit of work (deps.get_session) appends one
  `auditor.read` event per request naming the kind and the ids, never the content. Reads of
  the log itself (`note_log_read`: events, export, checkpoint, proofs) name their filters and
  range instead.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import pyotp
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import repository
from consent_service.accounts import service as accounts
from consent_service.accounts.models import Auditor, Login
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.crypto.envelope import aad_for, decrypt, encrypt
from consent_service.crypto.keyring import TOTP_SEAL, Keyring
from consent_service.db import utcnow
from consent_service.errors import Conflict, DomainError, NotFound
from consent_service.ids import new_id

LOGIN_KIND = "auditor"
TOTP_ISSUER = "consent-service"
# One step (30 s) either side of now: an authenticator a little out of sync still works.
TOTP_VALID_WINDOW = 1


class TotpRequired(DomainError):
    code, status, title = (
        "totp_required",
        401,
        "This account has a second factor: send the current code in the form field 'totp'",
    )


class TotpInvalid(DomainError):
    code, status, title = "totp_invalid", 401, "The one-time code is not correct"


class TotpReused(DomainError):
    code, status, title = (
        "totp_reused",
        401,
        "This one-time code was already used: wait for the next code of your authenticator",
    )


class TotpAlreadyEnabled(Conflict):
    code, title = "totp_already_enabled", "A second factor is already enabled for this account"


class TotpNotEnrolled(Conflict):
    code, title = "totp_not_enrolled", "Start the enrolment first (POST /v1/auth/totp)"


class NotAnAuditorOrganization(DomainError):
    code, status, title = (
        "not_an_auditor_organization",
        422,
        "Auditors belong to an organization of kind 'auditor'",
    )


class AuditorEmailTaken(Conflict):
    code, title = "email_already_registered", "This email is already registered"


def new_initial_password() -> str:
    """A random initial password (128 bits), shown once to the admin who creates the auditor."""
    return secrets.token_urlsafe(16)


def create_auditor(
    session: Session,
    *,
    keyring: Keyring,
    actor_id: str,
    organization_id: str,
    email: str,
    password_hash: str,
) -> Auditor:
    """An auditor and their login; `password_hash` was computed before the transaction."""
    org = repository.get_organization(session, organization_id)
    if org is None:
        raise NotFound("No such organization")
    if org.kind != Role.auditor.value:
        raise NotAnAuditorOrganization()
    if accounts.email_taken(session, keyring=keyring, email=email):
        raise AuditorEmailTaken()
    auditor = Auditor(id=new_id("aud"), organization_id=org.id)
    repository.add(session, auditor)
    login = accounts.create_login(
        session,
        keyring=keyring,
        email=email,
        password_hash=password_hash,
        principal_kind=LOGIN_KIND,
        principal_id=auditor.id,
    )
    # The admin vouched for the address: it counts as confirmed.
    login.email_confirmed_at = utcnow()
    accounts.save_login(session, login)
    audit.record(
        session,
        actor_id=actor_id,
        action=Action.auditor_created,
        subjects={"organization_id": org.id, "auditor_id": auditor.id, "login_id": login.id},
    )
    return auditor


def list_auditors(session: Session) -> list[Auditor]:
    return list(repository.list_auditors(session))


def resolve_login(session: Session, login: Login) -> Principal | None:
    """The Principal of an auditor's login; None once the auditor is disabled."""
    auditor = repository.get_auditor(session, login.principal_id)
    if auditor is None or auditor.disabled_at is not None:
        return None
    return Principal(
        role=Role.auditor, actor_id=auditor.id, organization_id=auditor.organization_id
    )


# -- TOTP ----------------------------------------------------------------------------------------


def _aad(login_id: str) -> bytes:
    return aad_for("totp", login_id)


def _secret_of(session: Session, keyring: Keyring, login_id: str, sealed: bytes) -> str:
    key = keyring.service_key(session, TOTP_SEAL)
    return decrypt(key, sealed, aad=_aad(login_id)).decode("ascii")


def _auditor_login(session: Session, principal: Principal) -> Login:
    if principal.role is not Role.auditor:
        raise NotFound()
    login = accounts.login_of_principal(session, principal.actor_id)
    if login is None or login.disabled_at is not None:
        raise NotFound()
    return accounts.login_for_update(session, login.id) or login


def enrol_totp(
    session: Session, *, keyring: Keyring, principal: Principal, account_name: str
) -> tuple[str, str]:
    """Start (or restart) the enrolment: (secret, provisioning URI). Not active until confirmed."""
    login = _auditor_login(session, principal)
    if login.totp_confirmed_at is not None:
        raise TotpAlreadyEnabled()
    secret = pyotp.random_base32()
    key = keyring.service_key(session, TOTP_SEAL)
    login.totp_secret_sealed = encrypt(key, secret.encode("ascii"), aad=_aad(login.id))
    accounts.save_login(session, login)
    uri = pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=TOTP_ISSUER)
    return secret, uri


def confirm_totp(session: Session, *, keyring: Keyring, principal: Principal, code: str) -> None:
    """Confirm the enrolment with a first code; sign-in asks for a code from now on."""
    login = _auditor_login(session, principal)
    if login.totp_confirmed_at is not None:
        raise TotpAlreadyEnabled()
    if login.totp_secret_sealed is None:
        raise TotpNotEnrolled()
    secret = _secret_of(session, keyring, login.id, login.totp_secret_sealed)
    step = matched_step(secret, code)
    if step is None:
        raise TotpInvalid()
    login.totp_confirmed_at = utcnow()
    # The confirming code counts as used: it cannot sign in afterwards.
    login.totp_last_step = step
    accounts.save_login(session, login)
    audit.record(
        session,
        actor_id=principal.actor_id,
        action=Action.auditor_totp_enabled,
        subjects={"auditor_id": principal.actor_id, "login_id": login.id},
    )


def matched_step(secret: str, code: str) -> int | None:
    """The RFC 6238 time step whose code `code` is, within `TOTP_VALID_WINDOW` steps of now;
    None when it matches none.

    What `pyotp.TOTP.verify` checks (each candidate compared in constant time), but it also
    says which step matched, which replay protection needs and pyotp does not return.
    """
    totp = pyotp.TOTP(secret)
    current = totp.timecode(datetime.fromtimestamp(time.time(), UTC))
    matched = None
    for step in range(current - TOTP_VALID_WINDOW, current + TOTP_VALID_WINDOW + 1):
        if pyotp.utils.strings_equal(code.strip(), totp.generate_otp(step)):
            matched = step
    return matched


def check_second_factor(
    session: Session, *, keyring: Keyring, login_id: str, code: str | None
) -> int | None:
    """After a correct password: refuse unless the login has no confirmed TOTP (None) or
    `code` is one of its current codes (its time step, to claim with `claim_totp_step` before
    the sign-in succeeds). Reads only."""
    login = repository.get_login(session, login_id)
    if login is None or login.totp_confirmed_at is None or login.totp_secret_sealed is None:
        return None
    if not code:
        raise TotpRequired()
    secret = _secret_of(session, keyring, login.id, login.totp_secret_sealed)
    step = matched_step(secret, code)
    if step is None:
        raise TotpInvalid()
    if login.totp_last_step is not None and step <= login.totp_last_step:
        raise TotpReused()
    return step


def claim_totp_step(session: Session, *, login_id: str, step: int) -> None:
    """Mark the code of `step` used for this login (in the caller's write transaction);
    `totp_reused` when it, or a later code, was accepted already (a concurrent sign-in with
    the same code included)."""
    if not repository.claim_totp_step(session, login_id, step):
        raise TotpReused()


# -- auditors' reads on the log -----------------------------------------------------------------

_READS_KEY = "consent_service.auditor_reads"


def note_read(session: Session, principal: Principal, kind: str, ids: Iterable[str]) -> None:
    """Remember that an auditor read these objects of `kind` (no-op for anyone else).

    Nothing is written here: the request's unit of work appends one `auditor.read` event with
    every read it noted (`take_reads`, `record_reads`), in a write transaction of its own when
    the request's session only reads.
    """
    _note(session, principal, {"kind": kind, "ids": list(ids)})


def note_log_read(session: Session, principal: Principal, kind: str, **what: Any) -> None:
    """Remember that an auditor read the log itself (no-op for anyone else).

    `kind` names the read (`audit_events`, `audit_export`, `audit_checkpoint`,
    `audit_checkpoints`, `audit_inclusion_proof`, `audit_consistency_proof`); `what` says what
    was read: the filters as query parameters (ids and times, never personal data) and the
    range (sequence numbers, tree sizes). Logged like `note_read`, one `auditor.read` event
    per request.
    """
    _note(session, principal, {"kind": kind, **what})


def _note(session: Session, principal: Principal, read: dict[str, Any]) -> None:
    if principal.role is not Role.auditor:
        return
    notes: list[dict[str, Any]] = session.info.setdefault(_READS_KEY, [])
    notes.append({"actor_id": principal.actor_id, "read": read})


def take_reads(session: Session) -> list[dict[str, Any]]:
    """The reads noted in this session, forgotten from it."""
    notes: list[dict[str, Any]] = session.info.pop(_READS_KEY, [])
    return notes


def record_reads(session: Session, notes: list[dict[str, Any]]) -> None:
    """One `auditor.read` event per auditor, listing what was read (by kind: ids, or for the
    log itself its filters and range)."""
    by_actor: dict[str, list[dict[str, Any]]] = {}
    for note in notes:
        by_actor.setdefault(note["actor_id"], []).append(note["read"])
    for actor_id, reads in by_actor.items():
        audit.record(
            session,
            actor_id=actor_id,
            action=Action.auditor_read,
            subjects={"auditor_id": actor_id},
            payload={"reads": reads},
        )
