"""The notice sweep: what is sent because time passed, not because someone acted.

- `licence.expiring`: once per active licence, when it ends within 7 days;
- `deletion.acknowledgement_due`: again each day an acknowledgement stays open.

Runs beside the expiry sweep (the serving process's timer, `consent-service consents expire`);
each run is one short transaction and safe to repeat: a notice is queued once however often or
from however many processes it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from consent_service.db import utcnow
from consent_service.deletions import service as deletions
from consent_service.licences import service as licences
from consent_service.webhooks.events import EXPIRY_WARNING_DAYS


@dataclass(frozen=True, slots=True)
class NoticesSent:
    expiry_warnings: int
    acknowledgement_reminders: int


def sweep_notices(open_session: Callable[[], Session], now: datetime | None = None) -> NoticesSent:
    now = now or utcnow()
    with open_session() as session:
        warned = licences.warn_of_expiry(
            session, now=now, within=timedelta(days=EXPIRY_WARNING_DAYS)
        )
        reminded = deletions.remind_open(session, now=now)
        session.commit()
    return NoticesSent(expiry_warnings=warned, acknowledgement_reminders=reminded)
