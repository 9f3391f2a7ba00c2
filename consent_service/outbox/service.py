"""Enqueue a message with the change that causes it; read and redeliver (the delivery log)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from consent_service.db import utcnow
from consent_service.ids import new_id
from consent_service.outbox import repository
from consent_service.outbox.models import MessageState, OutboxAttempt, OutboxMessage

_WAKEUP_KEY = "consent_service.outbox_wakeup"
_HOOKED_KEY = "consent_service.outbox_hooked"


def bind_wakeup(info: dict[Any, Any], wakeup: threading.Event) -> None:
    """Have commits of the session owning `info` wake the in-process worker when they enqueued.

    Called by `Services.session()`; without it a message waits for the worker's next poll.
    """
    info[_WAKEUP_KEY] = wakeup


def enqueue(
    session: Session,
    *,
    channel: str,
    destination: str,
    kind: str,
    payload: dict[str, Any],
    due_at: datetime | None = None,
) -> OutboxMessage:
    """Write one message in the caller's transaction; it is delivered only if that commits.

    `payload` holds ids, never personal data: the channel looks up what it needs at delivery.
    """
    now = utcnow()
    message = OutboxMessage(
        id=new_id("msg"),
        channel=channel,
        destination=destination,
        kind=kind,
        payload=payload,
        created_at=now,
        due_at=due_at or now,
    )
    repository.add(session, message)
    _wake_after_commit(session)
    return message


def _wake_after_commit(session: Session) -> None:
    wakeup: threading.Event | None = session.info.get(_WAKEUP_KEY)
    if wakeup is None or session.info.get(_HOOKED_KEY):
        return
    session.info[_HOOKED_KEY] = True

    def _after_commit(_session: Any) -> None:
        wakeup.set()

    event.listen(session, "after_commit", _after_commit, once=True)

    def _reset(_session: Any, *_args: Any) -> None:
        session.info.pop(_HOOKED_KEY, None)

    event.listen(session, "after_transaction_end", _reset, once=True)


def redeliver(session: Session, message_id: str) -> OutboxMessage | None:
    """Send a message again, with the same id (receivers that already have it dedupe it).

    A delivered, dead or cancelled message becomes pending and due now; `None` if unknown.
    """
    message = repository.get_for_update(session, message_id)
    if message is None:
        return None
    message.state = MessageState.pending.value
    message.due_at = utcnow()
    message.lease_until = None
    message.finished_at = None
    session.add(message)
    session.flush()
    _wake_after_commit(session)
    return message


def delivery_log(
    session: Session, destination: str, *, limit: int = 50, before_seq: int | None = None
) -> list[tuple[OutboxMessage, list[OutboxAttempt]]]:
    """The newest messages of a destination first, each with its attempts, oldest first."""
    messages = repository.messages_of_destination(
        session, destination, limit=limit, before_seq=before_seq
    )
    attempts = repository.attempts_of(session, [m.id for m in messages])
    by_message: dict[str, list[OutboxAttempt]] = {m.id: [] for m in messages}
    for attempt in attempts:
        by_message[attempt.message_id].append(attempt)
    return [(m, by_message[m.id]) for m in messages]


def get_message(session: Session, message_id: str) -> OutboxMessage | None:
    return repository.get(session, message_id)


def cancel_destination(session: Session, destination: str) -> int:
    """Cancel every pending message of a destination that no longer exists."""
    return repository.cancel_pending_of_destination(session, destination, utcnow())


def counts(session: Session) -> dict[str, int]:
    return repository.count_by_state(session)


__all__: Sequence[str] = [
    "bind_wakeup",
    "cancel_destination",
    "counts",
    "delivery_log",
    "enqueue",
    "get_message",
    "redeliver",
]
