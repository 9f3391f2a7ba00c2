"""What a delivery channel (webhooks, mail) gives the outbox worker.

Delivery runs in two steps so that no database transaction is open while a receiver is slow:

1. `prepare(session, message)`, in a short read-only session: look up what the message needs
   (the endpoint's URL and secret, the recipient's address) and build the bytes to send. Return
   `None` when there is nothing to deliver to any more (the endpoint was deleted, the person
   erased): the message is then cancelled, not retried.
2. `send(prepared)`, with no session: talk to the receiver and say how it went.

`on_dead(session, message)` runs in the worker's transaction when a message is given up after
`max_age` (a webhook endpoint is disabled and its organisation told, for instance).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlmodel import Session

from consent_service.outbox.models import OutboxMessage


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt went. `error` is a few words, never payload or personal data."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    # The receiver asked to be left alone for this long (HTTP 429/503 Retry-After).
    retry_after_seconds: float | None = None


class Channel(Protocol):
    name: str
    max_age: timedelta  # give up (state "dead") once a message is this old

    def prepare(self, session: Session, message: OutboxMessage) -> Any | None: ...

    def send(self, prepared: Any) -> Outcome: ...

    def on_dead(self, session: Session, message: OutboxMessage) -> None: ...
