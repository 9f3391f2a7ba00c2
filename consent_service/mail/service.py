"""Queue mail to a person in the transaction of the change, and the events that cause mail.

`queue(...)` writes one outbox message (channel "mail") whose payload holds the recipient's
kind and id, the kind of mail, public parameters (ids, a studio's name, a date) and, sealed
under the service's outbox key, any single-use token the mail links with. Nothing in the row
names the person: their address and name are looked up when the mail is delivered.

`on_audit_event` is the audit observer (audit/service.py, bound by wiring.py): a new consent
request, a grant, a withdrawal, a licence issued, a verification decision, each of which has
its own audit event, queues the holder's mail in that event's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session

from consent_service.accounts import service as accounts
from consent_service.audit.actions import Action
from consent_service.audit.service import Recorded
from consent_service.crypto.envelope import aad_for, decrypt, encrypt
from consent_service.crypto.keyring import OUTBOX_SEAL, Keyring
from consent_service.mail.messages import MESSAGES
from consent_service.outbox import service as outbox

CHANNEL = "mail"


def destination(recipient_kind: str, recipient_id: str) -> str:
    """Mail to one person is delivered in order: one destination per recipient."""
    return f"mail:{recipient_kind}:{recipient_id}"


def _secret_aad(kind: str, recipient_kind: str, recipient_id: str) -> bytes:
    return aad_for("outbox", f"{recipient_kind}:{recipient_id}", kind)


def queue(
    session: Session,
    *,
    recipient_kind: str,
    recipient_id: str,
    kind: str,
    params: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    keyring: Keyring | None = None,
) -> str:
    """Queue one mail; it leaves only if the caller's transaction commits. Its message id."""
    if kind not in MESSAGES:
        raise ValueError(f"no mail of kind {kind!r}")
    payload: dict[str, Any] = {
        "recipient": {"kind": recipient_kind, "id": recipient_id},
        "params": dict(params or {}),
    }
    if secrets:
        if keyring is None:
            raise ValueError("sealing a mail's single-use token needs the keyring")
        key = keyring.service_key(session, OUTBOX_SEAL)
        sealed = encrypt(
            key,
            json.dumps(dict(secrets)).encode(),
            aad=_secret_aad(kind, recipient_kind, recipient_id),
        )
        payload["sealed"] = sealed.hex()
    message = outbox.enqueue(
        session,
        channel=CHANNEL,
        destination=destination(recipient_kind, recipient_id),
        kind=kind,
        payload=payload,
    )
    return message.id


def open_secrets(
    session: Session, keyring: Keyring, *, kind: str, payload: Mapping[str, Any]
) -> dict[str, str]:
    sealed = payload.get("sealed")
    if not sealed:
        return {}
    recipient = payload["recipient"]
    key = keyring.service_key(session, OUTBOX_SEAL)
    plain = decrypt(
        key, bytes.fromhex(sealed), aad=_secret_aad(kind, recipient["kind"], recipient["id"])
    )
    opened: dict[str, str] = json.loads(plain)
    return opened


# -- the events a holder hears of -----------------------------------------------------------

_HOLDER_MAIL: Mapping[str, str] = {
    Action.consent_request_created.value: "consent_request.new",
    Action.consent_granted.value: "consent.granted",
    Action.consent_withdrawn.value: "consent.withdrawn",
    Action.licence_issued.value: "licence.issued",
    Action.verification_approved.value: "verification.decided",
    Action.verification_rejected.value: "verification.decided",
    Action.consent_ending_soon.value: "consent.ending_soon",
}


def on_audit_event(session: Session, event: Recorded) -> None:
    """Queue the holder's mail for the events they must hear of (audit observer)."""
    kind = _HOLDER_MAIL.get(event.action)
    holder_id = event.subjects.get("holder_id")
    if kind is None or holder_id is None:
        return
    params: dict[str, Any] = {
        key: value
        for key, value in event.subjects.items()
        if key in ("request_id", "consent_id", "licence_id", "verification_case_id")
    }
    studio_id = event.subjects.get("studio_id")
    if studio_id is not None:
        params["studio_name"] = accounts.organization_name(session, studio_id) or "A studio"
    if kind == "consent.ending_soon" and "ends_at" in event.payload:
        ends = datetime.fromisoformat(str(event.payload["ends_at"]).replace("Z", "+00:00"))
        # The day, put in words in the reader's language when the mail is written (messages.py);
        # the portal shows the exact time.
        params["ends_on_date"] = ends.date().isoformat()
    if kind == "verification.decided":
        approved = event.action == Action.verification_approved.value
        params["outcome"] = "approved" if approved else "rejected"
    queue(session, recipient_kind="holder", recipient_id=holder_id, kind=kind, params=params)
