"""Deletion acknowledgements: who owes one, acknowledging, reminding, and who may see them.

Who owes one is read from the audit log, where the vault records every download
(`reference.downloaded`, naming the licence and the studio it was read under): a studio owes an
acknowledgement for each licence under which it downloaded any of the holder's references,
once that licence stops being usable (revoked on its own or by its consent's withdrawal,
revocation, expiry or end by death) or the holder is erased.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from consent_service import audit
from consent_service.accounts.principal import Principal, Role
from consent_service.audit.actions import Action
from consent_service.audit.service import events_of_holder
from consent_service.db import rfc3339, utcnow
from consent_service.deletions import repository
from consent_service.deletions.models import DeletionAcknowledgement
from consent_service.errors import NotFound
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType

REMIND_EVERY = timedelta(days=1)


class DeletionAcknowledgementNotFound(NotFound):
    code, title = (
        "deletion_acknowledgement_not_found",
        "No deletion acknowledgement is due for this licence from this studio",
    )


def downloads_of_holder(session: Session, holder_id: str) -> dict[str, str]:
    """licence id -> studio id, for every licence a studio downloaded the holder's data under."""
    found: dict[str, str] = {}
    for event in events_of_holder(session, holder_id):
        if event.action != Action.reference_downloaded.value:
            continue
        licence_id = event.subject_ids.get("licence_id")
        studio_id = event.subject_ids.get("studio_id")
        if licence_id and studio_id:
            found[str(licence_id)] = str(studio_id)
    return found


def _open(
    session: Session, *, licence_id: str, studio_id: str, holder_id: str, cause: str
) -> DeletionAcknowledgement:
    now = utcnow()
    row = DeletionAcknowledgement(
        licence_id=licence_id,
        studio_id=studio_id,
        holder_id=holder_id,
        cause=cause,
        due_since=now,
        last_reminded_at=now,
    )
    repository.add(session, row)
    audit.record(
        session,
        actor_id="system",
        action=Action.deletion_acknowledgement_due,
        subjects={"holder_id": holder_id, "licence_id": licence_id, "studio_id": studio_id},
        payload={"cause": cause},
    )
    _remind(session, row)
    return row


def _remind(session: Session, row: DeletionAcknowledgement) -> None:
    webhooks.publish(
        session,
        EventType.deletion_acknowledgement_due,
        studio_ids=[row.studio_id],
        data={
            "licence_id": row.licence_id,
            "holder_id": row.holder_id,
            "cause": row.cause,
            "due_since": rfc3339(row.due_since),
        },
    )


def require_for_licences(
    session: Session, *, holder_id: str, licence_ids: Iterable[str], cause: str
) -> list[str]:
    """Licences of `holder_id` stopped: each one something was downloaded under now owes an
    acknowledgement (once). In the caller's transaction; returns the licences that owe one."""
    wanted = list(licence_ids)
    if not wanted:
        return []
    downloads = downloads_of_holder(session, holder_id)
    owed: list[str] = []
    for licence_id in wanted:
        studio_id = downloads.get(licence_id)
        if studio_id is None or repository.get(session, licence_id) is not None:
            continue
        _open(session, licence_id=licence_id, studio_id=studio_id, holder_id=holder_id, cause=cause)
        owed.append(licence_id)
    return owed


def require_for_erasure(session: Session, holder_id: str) -> list[str]:
    """Erasure: every licence anything was downloaded under owes an acknowledgement, also
    licences that had already ended (their studio may still keep copies)."""
    downloads = downloads_of_holder(session, holder_id)
    return require_for_licences(
        session, holder_id=holder_id, licence_ids=sorted(downloads), cause="holder_erased"
    )


def acknowledge(session: Session, *, studio: Principal, licence_id: str) -> DeletionAcknowledgement:
    """The studio confirms it deleted what it downloaded under the licence; idempotent.

    Only the studio that owes it may: anyone else (another studio's licence, a licence with
    nothing owed) gets 404 and nothing is written.
    """
    if studio.role is not Role.studio or not studio.organization_id:
        raise DeletionAcknowledgementNotFound()
    row = repository.get_of_studio_for_update(session, licence_id, studio.organization_id)
    if row is None:
        raise DeletionAcknowledgementNotFound()
    if row.acknowledged_at is None:
        row.acknowledged_at = utcnow()
        row.acknowledged_by = studio.actor_id
        repository.add(session, row)
        audit.record(
            session,
            actor_id=studio.actor_id,
            action=Action.deletion_acknowledged,
            subjects={
                "holder_id": row.holder_id,
                "licence_id": row.licence_id,
                "studio_id": row.studio_id,
            },
            payload={
                "cause": row.cause,
                "days_open": (row.acknowledged_at - row.due_since).days,
            },
        )
    return row


def of_holder(session: Session, holder_id: str) -> Sequence[DeletionAcknowledgement]:
    """A holder's acknowledgements, open and given (their API and export)."""
    return repository.of_holder(session, holder_id)


def page(
    session: Session, *, open_only: bool, after: tuple[datetime, str] | None, limit: int
) -> Sequence[DeletionAcknowledgement]:
    """All acknowledgements, oldest due first (auditors)."""
    return repository.page(session, open_only=open_only, after=after, limit=limit)


def remind_open(session: Session, *, now: datetime, limit: int = 500) -> int:
    """Send `deletion.acknowledgement_due` again for each one still open a day after the last."""
    rows = repository.open_to_remind(session, reminded_before=now - REMIND_EVERY, limit=limit)
    for row in rows:
        row.last_reminded_at = now
        repository.add(session, row)
        _remind(session, row)
    return len(rows)
