"""The outbox worker: claim due messages, deliver them through their channel, record each try.

`OutboxWorker.run_once()` claims and delivers what is due now (tests and the CLI use it);
`start()`/`stop()` run it on a thread inside the serving process (the embedded default), and
`run_forever()` is `consent-service worker` (production runs several: on PostgreSQL they share
the work through `FOR UPDATE SKIP LOCKED`; a claim is a lease, so none delivers a message
another is delivering, and a worker killed mid-delivery only delays its messages until their
lease runs out).

At most `concurrency` deliveries run at once, each on its own pool thread, so one slow receiver
holds one slot, never the others and never the API (which only writes the outbox row).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session

from consent_service.db import utcnow
from consent_service.outbox import repository
from consent_service.outbox.channels import Channel, Outcome
from consent_service.outbox.models import MessageState, OutboxAttempt

log = logging.getLogger("consent_service.outbox")

OpenSession = Callable[..., Session]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter: try n waits a random time in [d/2, d], d = base*2^(n-1)."""

    base_seconds: float = 5.0
    cap_seconds: float = 3600.0

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        delay = random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.cap_seconds))
        return delay


@dataclass(frozen=True, slots=True)
class Claimed:
    message_id: str
    channel: str
    lease_until: datetime


class OutboxWorker:
    def __init__(
        self,
        *,
        open_session: OpenSession,
        channels: Mapping[str, Channel],
        concurrency: int = 4,
        lease_seconds: float = 120.0,
        poll_seconds: float = 1.0,
        backoff: Backoff | None = None,
        wakeup: threading.Event | None = None,
    ) -> None:
        self.open_session = open_session
        self.channels = dict(channels)
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.backoff = backoff or Backoff()
        self.wakeup = wakeup or threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one message -------------------------------------------------------------------

    def _claim(self, limit: int) -> list[Claimed]:
        if limit <= 0 or not self.channels:
            return []
        now = utcnow()
        lease_until = now + self.lease
        channels = sorted(self.channels)
        with self.open_session(writes=False) as session:
            if not repository.any_claimable(session, channels=channels, now=now):
                return []
        with self.open_session() as session:
            messages = repository.claim(
                session,
                channels=channels,
                now=now,
                lease_until=lease_until,
                limit=limit,
            )
            claimed = [Claimed(m.id, m.channel, lease_until) for m in messages]
            session.commit()
        return claimed

    def _deliver(self, claimed: Claimed) -> None:
        channel = self.channels[claimed.channel]
        started = time.monotonic()
        prepared: Any = None
        try:
            with self.open_session(writes=False) as session:
                message = repository.get(session, claimed.message_id)
                if message is None:
                    return
                prepared = channel.prepare(session, message)
                session.rollback()
        except Exception as exc:  # noqa: BLE001 - a bug in one channel must not stop the rest
            log.exception("outbox: preparing %s failed", claimed.message_id)
            self._record(
                claimed, Outcome(ok=False, error=f"prepare failed: {type(exc).__name__}"), 0
            )
            return
        if prepared is None:
            self._record(claimed, None, 0)
            return
        try:
            outcome = channel.send(prepared)
        except Exception as exc:  # noqa: BLE001 - same: record it and retry later
            log.exception("outbox: sending %s failed", claimed.message_id)
            outcome = Outcome(ok=False, error=f"send failed: {type(exc).__name__}")
        self._record(claimed, outcome, int((time.monotonic() - started) * 1000))

    def _record(self, claimed: Claimed, outcome: Outcome | None, duration_ms: int) -> None:
        """Record the attempt, unless the lease was lost (another worker owns the message now)."""
        now = utcnow()
        with self.open_session() as session:
            message = repository.get_for_update(session, claimed.message_id)
            if (
                message is None
                or message.state != MessageState.pending.value
                or message.lease_until is None
                or abs((message.lease_until - claimed.lease_until).total_seconds()) > 0.001
            ):
                log.warning(
                    "outbox: lease of %s lost before its outcome was recorded", claimed.message_id
                )
                session.rollback()
                return
            message.lease_until = None
            if outcome is None:
                message.state = MessageState.cancelled.value
                message.finished_at = now
            else:
                message.attempts += 1
                repository.add_attempt(
                    session,
                    OutboxAttempt(
                        message_id=message.id,
                        attempted_at=now,
                        ok=outcome.ok,
                        status_code=outcome.status_code,
                        error=(outcome.error or None) and outcome.error[:200],
                        duration_ms=duration_ms,
                    ),
                )
                if outcome.ok:
                    message.state = MessageState.delivered.value
                    message.finished_at = now
                elif now - message.created_at >= self.channels[message.channel].max_age:
                    message.state = MessageState.dead.value
                    message.finished_at = now
                    self.channels[message.channel].on_dead(session, message)
                    log.warning(
                        "outbox: gave up on %s after %d attempts", message.id, message.attempts
                    )
                else:
                    delay = self.backoff.delay(message.attempts, outcome.retry_after_seconds)
                    message.due_at = now + timedelta(seconds=delay)
            session.add(message)
            session.commit()

    # -- loops ---------------------------------------------------------------------------

    def run_once(self) -> int:
        """Deliver everything due now (in parallel, up to `concurrency`); return how many tried."""
        done = 0
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="outbox") as pool:
            while True:
                claimed = self._claim(self.concurrency)
                if not claimed:
                    return done
                list(pool.map(self._deliver, claimed))
                done += len(claimed)

    def _loop(self) -> None:
        in_flight: set[Future[None]] = set()
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="outbox") as pool:
            while not self._stopping.is_set():
                try:
                    for claimed in self._claim(self.concurrency - len(in_flight)):
                        in_flight.add(pool.submit(self._deliver, claimed))
                except Exception:  # noqa: BLE001 - the database may be away for a moment
                    log.exception("outbox: claiming failed; retrying")
                    self._stopping.wait(self.poll_seconds)
                    continue
                if in_flight and len(in_flight) >= self.concurrency:
                    finished, in_flight = _wait_any(in_flight, self.poll_seconds)
                    continue
                # Free slots: sleep until a delivery ends, a commit enqueues, or the poll.
                if in_flight:
                    finished, in_flight = _wait_any(in_flight, min(self.poll_seconds, 0.2))
                    if finished:
                        continue
                self.wakeup.wait(self.poll_seconds)
                self.wakeup.clear()
            wait(in_flight)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, name="consent-outbox", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self.wakeup.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_forever(self) -> None:
        """`consent-service worker`: run until `stop()` (a signal handler calls it)."""
        self._loop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


def _wait_any(
    futures: set[Future[None]], timeout: float
) -> tuple[set[Future[None]], set[Future[None]]]:
    done, pending = wait(futures, timeout=timeout, return_when=FIRST_COMPLETED)
    for future in done:
        exc = future.exception()
        if exc is not None:
            log.error("outbox: delivery thread failed: %r", exc)
    return set(done), set(pending)
