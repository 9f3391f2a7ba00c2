"""Invite a person by email, list and withdraw invitations, accept or decline one.

- **Creating** checks the address's form (`invalid_email`), refuses a second pending invitation
  to the same address from the same studio (`invitation_pending`), seals the address and queues
  the mail (recipient kind "invitation") in the same transaction: a refused request queues
  nothing.
- **The token** (32 random bytes, URL-safe) travels only sealed in the outbox row and in the
  mail; the row keeps its SHA-256. It works once: accepting, declining, a withdrawal or the
  expiry end it, and every such token gets the same answer (`invitation_invalid`).
- **Accepting** is done by a signed-in holder: the studio learns that holder's id, and the
  attached consent request (if any) is made then, its terms checked against the holder.
- **Ending** erases the sealed address and frees the pending slot. Expired invitations are
  ended by the expiry sweep (reads never write), or when the studio invites the address again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from consent_service import audit
from consent_service.accounts import service as accounts
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.consents import notice
from consent_service.consents import service as consents
from consent_service.consents.errors import UnsupportedLanguage
from consent_service.consents.schemas import ConsentRequestCreate, Terms
from consent_service.crypto.envelope import aad_for, blind_index, decrypt, encrypt
from consent_service.crypto.keyring import BLIND_INDEX, INVITATION_SEAL, Keyring
from consent_service.crypto.signer import Signer
from consent_service.db import utcnow
from consent_service.errors import Conflict, DomainError, NotFound
from consent_service.ids import new_id
from consent_service.invitations import repository
from consent_service.invitations.models import Invitation
from consent_service.invitations.schemas import InvitationCreate
from consent_service.mail import service as mail
from consent_service.pagination import Page, decode_cursor
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType

RECIPIENT_KIND = "invitation"
MAIL_KIND = "invitation.new"


class InvalidEmail(DomainError):
    code, status, title = "invalid_email", 422, "This is not an email address"


class InvitationPending(DomainError):
    code, status, title = (
        "invitation_pending",
        409,
        "Your studio already has a pending invitation to this address",
    )


class InvitationInvalid(DomainError):
    code, status, title = (
        "invitation_invalid",
        400,
        "This invitation is not valid: it was used, withdrawn or has expired, or was mistyped",
    )


class InvitationNotPending(Conflict):
    code, title = "invitation_not_pending", "The invitation has ended already"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aad(invitation_id: str) -> bytes:
    return aad_for("invitation", invitation_id, "email")


def normalised_email(raw: str) -> str:
    try:
        checked = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(field="email") from exc
    return checked.normalized


def status_of(row: Invitation, now: datetime) -> str:
    if row.status == "pending" and row.expires_at <= now:
        return "expired"
    return row.status


def _end(row: Invitation, status: str, now: datetime) -> None:
    """End an invitation: its address is erased and its pending slot freed."""
    row.status = status
    row.ended_at = now
    row.email_sealed = None
    row.pending_key = None


def _expire(session: Session, row: Invitation, now: datetime) -> None:
    """Persist the expiry of a pending invitation past its end (a write path or the sweep)."""
    _end(row, "expired", now)
    row.ended_at = row.expires_at
    repository.add(session, row)
    audit.record(
        session,
        actor_id="system",
        action=Action.invitation_expired,
        subjects={"invitation_id": row.id, "studio_id": row.studio_id},
    )


def create(
    session: Session, *, keyring: Keyring, studio: Principal, body: InvitationCreate
) -> Invitation:
    """Store the invitation (address sealed) and queue its mail, in the caller's transaction."""
    assert studio.organization_id is not None
    email = normalised_email(body.email)
    spec: dict[str, Any] | None = None
    if body.consent_request is not None:
        wanted = body.consent_request
        if wanted.language not in notice.CURRENT_LANGUAGES:
            raise UnsupportedLanguage(
                f"notices exist in: {', '.join(notice.CURRENT_LANGUAGES)}",
                field="consent_request.language",
            )
        spec = {
            "terms": wanted.terms.normalised(),
            "language": wanted.language,
            "min_assurance": wanted.min_assurance.value if wanted.min_assurance else None,
        }
    now = utcnow()
    pending_key = blind_index(
        keyring.service_key(session, BLIND_INDEX), f"invitation:{studio.organization_id}:{email}"
    )
    earlier = repository.by_pending_key_for_update(session, pending_key)
    if earlier is not None:
        if status_of(earlier, now) == "pending":
            raise InvitationPending(field="email")
        _expire(session, earlier, now)
        session.flush()
    token = secrets.token_urlsafe(32)
    row = Invitation(
        id=new_id("inv"),
        studio_id=studio.organization_id,
        created_by=studio.actor_id,
        pending_key=pending_key,
        token_sha256=_digest(token),
        request_spec=spec,
        created_at=now,
        expires_at=now + timedelta(days=body.expires_in_days),
    )
    row.email_sealed = encrypt(
        keyring.service_key(session, INVITATION_SEAL), email.encode("utf-8"), aad=_aad(row.id)
    )
    try:
        with session.begin_nested():
            repository.add(session, row)
            session.flush()
    except IntegrityError as exc:  # a concurrent invitation to the same address won
        raise InvitationPending(field="email") from exc
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.invitation_created,
        subjects={"invitation_id": row.id, "studio_id": row.studio_id},
        payload={"with_consent_request": spec is not None, "expires_at": _iso(row.expires_at)},
    )
    mail.queue(
        session,
        recipient_kind=RECIPIENT_KIND,
        recipient_id=row.id,
        kind=MAIL_KIND,
        params={
            "studio_name": accounts.organization_name(session, row.studio_id) or "A studio",
            "expires_on_date": row.expires_at.date().isoformat(),  # in words when written
        },
        secrets={"token": token},
        keyring=keyring,
    )
    return row


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def list_of_studio(
    session: Session, *, studio: Principal, cursor: str | None, limit: int
) -> Page[Invitation]:
    assert studio.organization_id is not None
    rows = repository.of_studio(
        session, studio.organization_id, after=decode_cursor(cursor), limit=limit + 1
    )
    return Page[Invitation].from_rows(rows, limit)


def withdraw(session: Session, *, studio: Principal, invitation_id: str) -> Invitation:
    row = repository.get_for_update(session, invitation_id)
    if row is None or row.studio_id != studio.organization_id:
        raise NotFound("No such invitation")
    now = utcnow()
    if status_of(row, now) != "pending":
        raise InvitationNotPending()
    _end(row, "withdrawn", now)
    repository.add(session, row)
    audit.record(
        session,
        actor_id=studio.actor_id,
        action=Action.invitation_withdrawn,
        subjects={"invitation_id": row.id, "studio_id": row.studio_id},
    )
    return row


def _redeem(session: Session, token: str) -> Invitation:
    row = repository.by_token_for_update(session, _digest(token))
    if row is None or status_of(row, utcnow()) != "pending":
        raise InvitationInvalid()
    return row


def accept(session: Session, *, signer: Signer, holder: Principal, token: str) -> Invitation:
    """A signed-in holder accepts: the studio learns the holder id; the request is made."""
    assert holder.holder_id is not None
    row = _redeem(session, token)
    now = utcnow()
    _end(row, "accepted", now)
    row.holder_id = holder.holder_id
    if row.request_spec is not None:
        spec = row.request_spec
        studio = Principal(role=Role.studio, actor_id=row.created_by, organization_id=row.studio_id)
        body = ConsentRequestCreate(
            holder_id=holder.holder_id,
            terms=Terms.model_validate(spec["terms"]),
            language=spec["language"],
            min_assurance=spec.get("min_assurance"),
        )
        # The terms were checked when the invitation was made; their rules are assessed
        # against this holder now, and the request's warnings say what the holder should know.
        request = consents.create_request(session, signer=signer, studio=studio, body=body)
        row.request_id = request.id
    repository.add(session, row)
    audit.record(
        session,
        actor_id=holder.actor_id,
        action=Action.invitation_accepted,
        subjects={
            "invitation_id": row.id,
            "studio_id": row.studio_id,
            "holder_id": holder.holder_id,
            **({"request_id": row.request_id} if row.request_id else {}),
        },
    )
    # In the same transaction: the studio hears of it exactly when the acceptance commits.
    webhooks.publish(
        session,
        EventType.invitation_accepted,
        studio_ids=[row.studio_id],
        data={
            "invitation_id": row.id,
            "holder_id": holder.holder_id,
            "consent_request_id": row.request_id,
        },
    )
    return row


def decline(session: Session, *, token: str) -> Invitation:
    """The person declines with the mailed token (no account needed); the studio sees it."""
    row = _redeem(session, token)
    _end(row, "declined", utcnow())
    repository.add(session, row)
    audit.record(
        session,
        actor_id="invitee",
        action=Action.invitation_declined,
        subjects={"invitation_id": row.id, "studio_id": row.studio_id},
    )
    return row


def peek(session: Session, token: str) -> tuple[Invitation, str] | None:
    """The pending invitation of a token and its studio's name, without using it; else None."""
    if not token or len(token) > 128:
        return None
    row = repository.by_token(session, _digest(token))
    if row is None or status_of(row, utcnow()) != "pending":
        return None
    return row, accounts.organization_name(session, row.studio_id) or "A studio"


def sweep_expired(session: Session, *, now: datetime | None = None, limit: int = 200) -> int:
    """End (and erase the address of) up to `limit` invitations past their expiry."""
    now = now or utcnow()
    rows = repository.expired_pending_for_update(session, now, limit)
    for row in rows:
        _expire(session, row, now)
    return len(rows)


def mail_recipient(
    session: Session, keyring: Keyring, invitation_id: str
) -> tuple[str, str] | None:
    """The invited address while the invitation is pending (mail/channel.py); else None."""
    row = repository.get(session, invitation_id)
    if row is None or row.email_sealed is None or status_of(row, utcnow()) != "pending":
        return None
    key = keyring.service_key(session, INVITATION_SEAL)
    address = decrypt(key, row.email_sealed, aad=_aad(row.id)).decode("utf-8")
    return address, ""
