"""Representatives: recorded authority to act for a holder, and their password logins.

A representative logs in with its own password and acts as role `holder` for the one holder it
represents, within its kind: a guardian signs for a minor, an executor for a deceased holder,
an attorney for a living adult; an agent reads and negotiates but never signs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import service as accounts
from consent_service.accounts.models import Login
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.consents import rules
from consent_service.crypto.envelope import aad_for, decrypt, encrypt
from consent_service.crypto.keyring import KeyDestroyed, Keyring
from consent_service.db import utcnow
from consent_service.errors import DomainError, NotFound
from consent_service.holders import service as holders
from consent_service.holders.models import Holder
from consent_service.holders.schemas import HolderStatus
from consent_service.holders.service import EmailAlreadyRegistered
from consent_service.ids import new_id
from consent_service.representatives import repository
from consent_service.representatives.models import Representative
from consent_service.representatives.schemas import (
    AuthorityEvidence,
    PostMortemRights,
    RepresentativeCreate,
)
from consent_service.verification import service as verification

# The signature role each kind signs with; an agent has none (it cannot sign).
SIGNER_ROLE_OF_KIND = {
    "guardian": "guardian",
    "executor": "executor",
    "attorney": "representative",
}


@dataclass(frozen=True, slots=True)
class RepresentativeData:
    row: Representative
    name: str
    email: str
    authority_evidence: AuthorityEvidence
    post_mortem_rights: PostMortemRights | None


def _aad(rep_id: str, field: str) -> bytes:
    return aad_for("representative", rep_id, field)


def may_manage(principal: Principal, holder_id: str) -> bool:
    """The holder themself (not a representative of theirs) or an admin."""
    return principal.is_admin or (
        principal.acts_for(holder_id) and principal.representative_kind is None
    )


class MinorCannotManageGuardian(DomainError):
    code, status, title = (
        "minor_cannot_manage_guardian",
        403,
        "A minor's own login cannot add or remove a guardian",
    )


def _refuse_minor_managing_guardian(
    session: Session, *, keyring: Keyring, actor: Principal, holder: Holder, kind: str
) -> None:
    """IDENTITY.md: a minor's own login never adds, removes or changes a guardian (the
    guardian's authority comes from a court or a verifier, not from the child)."""
    if kind != "guardian" or actor.is_admin or actor.representative_kind is not None:
        return
    data = holders.decrypt_holder(session, keyring, holder)
    if holders.status_on(data, utcnow().date()) is HolderStatus.minor:
        raise MinorCannotManageGuardian()


def add_representative(
    session: Session,
    *,
    keyring: Keyring,
    actor: Principal,
    holder_id: str,
    data: RepresentativeCreate,
    password_hash: str,
) -> RepresentativeData:
    """Record a representative with its authority evidence and give it a password login.

    `password_hash` is `passwords.hash_password(data.password)`, computed before the write
    transaction began (the route does it), so argon2 never runs under the write lock.
    """
    if not may_manage(actor, holder_id):
        raise NotFound("No such holder")
    holder = holders.get_live(session, holder_id, lock=True)
    _refuse_minor_managing_guardian(
        session, keyring=keyring, actor=actor, holder=holder, kind=data.kind
    )
    return _create_representative(
        session,
        keyring=keyring,
        actor_id=actor.actor_id,
        holder_id=holder_id,
        data=data,
        password_hash=password_hash,
    )


def add_estate_executor(
    session: Session,
    *,
    keyring: Keyring,
    holder_id: str,
    data: RepresentativeCreate,
    password_hash: str,
) -> RepresentativeData:
    """The executor who registers an estate (flows/estate.py): recorded with its login in the
    estate's transaction, the actor of its own registration. Like every representative it can
    sign in but not act until a verifier approved its letters (representative_authority)."""
    if data.kind != "executor":
        raise ValueError("an estate is registered by its executor")
    rep_id = new_id("rep")
    return _create_representative(
        session,
        keyring=keyring,
        actor_id=rep_id,
        holder_id=holder_id,
        data=data,
        password_hash=password_hash,
        rep_id=rep_id,
    )


def _create_representative(
    session: Session,
    *,
    keyring: Keyring,
    actor_id: str,
    holder_id: str,
    data: RepresentativeCreate,
    password_hash: str,
    rep_id: str | None = None,
) -> RepresentativeData:
    email = str(data.email)
    if accounts.email_taken(session, keyring=keyring, email=email):
        raise EmailAlreadyRegistered()
    key = keyring.data_key(session, holder_id)
    rep_id = rep_id or new_id("rep")
    evidence = data.authority_evidence.model_dump(mode="json")
    row = Representative(
        id=rep_id,
        holder_id=holder_id,
        kind=data.kind,
        name_enc=encrypt(key, data.name.encode(), aad=_aad(rep_id, "name")),
        email_enc=encrypt(key, email.encode(), aad=_aad(rep_id, "email")),
        authority_enc=encrypt(
            key, json.dumps(evidence, sort_keys=True).encode(), aad=_aad(rep_id, "authority")
        ),
        post_mortem_rights_until=data.post_mortem_rights.until if data.post_mortem_rights else None,
        post_mortem_authority=(
            {
                "registry": data.post_mortem_rights.registry,
                "reference": data.post_mortem_rights.reference,
            }
            if data.post_mortem_rights
            else None
        ),
    )
    repository.add(session, row)
    try:
        accounts.create_login(
            session,
            keyring=keyring,
            email=email,
            password_hash=password_hash,
            principal_kind="representative",
            principal_id=rep_id,
        )
    except IntegrityError as exc:
        raise EmailAlreadyRegistered() from exc
    audit.record(
        session,
        actor_id=actor_id,
        action=Action.representative_added,
        subjects={"holder_id": holder_id, "representative_id": rep_id},
        payload={
            "kind": data.kind,
            "authority_type": data.authority_evidence.type,
            "post_mortem_rights_until": (
                data.post_mortem_rights.until.isoformat() if data.post_mortem_rights else None
            ),
        },
    )
    return RepresentativeData(
        row=row,
        name=data.name,
        email=email,
        authority_evidence=data.authority_evidence,
        post_mortem_rights=data.post_mortem_rights,
    )


def decrypt_representative(key: bytes, row: Representative) -> RepresentativeData:
    """A representative's record with its personal fields decrypted under the holder's key."""
    authority = json.loads(decrypt(key, row.authority_enc, aad=_aad(row.id, "authority")))
    post_mortem = None
    if row.post_mortem_rights_until is not None and row.post_mortem_authority:
        post_mortem = PostMortemRights(
            until=row.post_mortem_rights_until, **row.post_mortem_authority
        )
    return RepresentativeData(
        row=row,
        name=decrypt(key, row.name_enc, aad=_aad(row.id, "name")).decode(),
        email=decrypt(key, row.email_enc, aad=_aad(row.id, "email")).decode(),
        authority_evidence=AuthorityEvidence.model_validate(authority),
        post_mortem_rights=post_mortem,
    )


def _holder_key_for(session: Session, keyring: Keyring, actor: Principal, holder_id: str) -> bytes:
    if not may_manage(actor, holder_id):
        raise NotFound("No such holder")
    holders.get_live(session, holder_id)
    return keyring.data_key(session, holder_id)


def list_representatives(
    session: Session, *, keyring: Keyring, actor: Principal, holder_id: str
) -> list[RepresentativeData]:
    """The holder's current representatives (not revoked), for the holder and admins."""
    key = _holder_key_for(session, keyring, actor, holder_id)
    return [decrypt_representative(key, row) for row in repository.of_holder(session, holder_id)]


class RepresentativeNotFound(NotFound):
    code, title = "representative_not_found", "No such representative"


def revoke_representative(
    session: Session, *, keyring: Keyring, actor: Principal, holder_id: str, representative_id: str
) -> None:
    """End a representative's authority at once: its login stops working, its email is forgotten.

    What it signed stays signed (grants are immutable); the holder withdraws those separately.
    Revoking twice is harmless.
    """
    _holder_key_for(session, keyring, actor, holder_id)
    row = repository.get_for_update(session, representative_id)
    if row is None or row.holder_id != holder_id:
        raise RepresentativeNotFound()
    if row.revoked_at is not None:
        return
    holder = holders.find(session, holder_id)
    if holder is not None:
        _refuse_minor_managing_guardian(
            session, keyring=keyring, actor=actor, holder=holder, kind=row.kind
        )
    row.revoked_at = utcnow()
    repository.add(session, row)
    accounts.forget_logins(session, row.id)
    audit.record(
        session,
        actor_id=actor.actor_id,
        action=Action.representative_revoked,
        subjects={"holder_id": holder_id, "representative_id": row.id},
        payload={"kind": row.kind},
    )


def get_active(session: Session, representative_id: str | None) -> Representative | None:
    if representative_id is None:
        return None
    row = repository.get(session, representative_id)
    return row if row is not None and row.revoked_at is None else None


def post_mortem_rights_until(
    session: Session, holder_id: str, *, jurisdiction: str, date_of_death: date | None
) -> date | None:
    """The effective end of a deceased holder's rights: the latest executor's recorded date,
    cut to the law's end from the table in `consents/rules.py` (an executor may shorten the
    period, never lengthen it). None until an executor recorded a date, and None where the
    table has no entry for the jurisdiction (no post-mortem grant there).
    """
    typed = executor_post_mortem_end(session, holder_id)
    if typed is None or date_of_death is None:  # nothing recorded, or no death to count from
        return typed
    return rules.post_mortem_rights_until(jurisdiction, date_of_death, executor_end=typed)


def executor_post_mortem_end(session: Session, holder_id: str) -> date | None:
    """The end of the post-mortem rights an executor of the holder recorded, as typed (the
    death flow cuts it to the law's end with `rules.post_mortem_rights_until`)."""
    row = repository.latest_post_mortem_record(session, holder_id)
    return row.post_mortem_rights_until if row else None


def has_estate_authority(rep: Representative | None) -> bool:
    # Authority evidence is mandatory at creation, so an unrevoked executor row has it.
    return rep is not None and rep.kind == "executor" and rep.revoked_at is None


class AuthorityNotVerified(DomainError):
    """A representative acts only once a verifier approved the evidence of their authority."""

    code, status, title = (
        "authority_not_verified",
        403,
        "Your authority to act for the holder has not been approved by a verifier yet",
    )


def require_reviewed_authority(session: Session, principal: Principal | None) -> None:
    """A representative signs, declines, withdraws, suspends, resumes or revokes for the holder
    only once a verifier approved the evidence of their authority (IDENTITY.md "Authority of
    representatives"): 403 `authority_not_verified` before, with the route to upload it.
    The holder themself, admins and the system pass."""
    if principal is None or principal.representative_id is None:
        return
    if not verification.representative_authority_approved(session, principal.representative_id):
        raise AuthorityNotVerified(
            "upload the evidence of your authority at POST /v1/holders/"
            f"{principal.holder_id}/representatives/{principal.representative_id}/evidence; "
            "you can act for the holder once a verifier approved it",
            representative_id=principal.representative_id,
        )


def signer_role(principal: Principal) -> str | None:
    """The signature role of the principal, or None when it may not sign (an agent)."""
    if principal.representative_kind is None:
        return "self"
    return SIGNER_ROLE_OF_KIND.get(principal.representative_kind)


def all_of_holder(session: Session, holder_id: str) -> Sequence[Representative]:
    """Every representative of the holder, revoked ones included (export, erasure)."""
    return repository.all_of_holder(session, holder_id)


def resolve_login(session: Session, login: Login) -> Principal | None:
    """The Principal of a representative's login; None once revoked or the holder erased."""
    rep = repository.get(session, login.principal_id)
    if rep is None or rep.revoked_at is not None:
        return None
    holder = holders.find(session, rep.holder_id)
    if holder is None or holder.erased_at is not None:
        return None
    return Principal(
        role=Role.holder,
        actor_id=rep.id,
        holder_id=rep.holder_id,
        representative_kind=rep.kind,
        representative_id=rep.id,
    )


def find(session: Session, representative_id: str) -> Representative | None:
    """The representative row, revoked or not, or None."""
    return repository.get(session, representative_id)


def active_of_holder(session: Session, holder_id: str) -> Sequence[Representative]:
    """The holder's representatives that are not revoked, oldest first."""
    return repository.of_holder(session, holder_id)


def mail_recipient(
    session: Session, keyring: Keyring, representative_id: str
) -> tuple[str, str] | None:
    """(address, name) for mail to a representative; None once revoked or the holder erased."""
    row = repository.get(session, representative_id)
    if row is None or row.revoked_at is not None:
        return None
    try:
        key = keyring.data_key(session, row.holder_id)
    except KeyDestroyed:
        return None
    data = decrypt_representative(key, row)
    return data.email, data.name
