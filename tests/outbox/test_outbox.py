"""The durable outbox: transactional enqueue, leases, order per destination, retries, give-up.

The channel here is a receiver kept in memory (what a webhook endpoint or a mailbox would be);
everything between the enqueueing transaction and the channel is the real outbox on the real
database. Webhook and mail tests drive the same worker against real receivers on loopback.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlmodel import Session, select

from consent_service.outbox import service as outbox
from consent_service.outbox.channels import Outcome
from consent_service.outbox.models import MessageState, OutboxAttempt, OutboxMessage
from consent_service.outbox.worker import Backoff, OutboxWorker
from consent_service.wiring import Services


@dataclass
class Receiver:
    """A channel whose receiver is a list; `fail` maps message id -> failures still to give."""

    name: str = "test"
    max_age: timedelta = timedelta(days=3)
    delay: float = 0.0
    fail: dict[str, int] = field(default_factory=dict)
    received: list[tuple[str, str]] = field(default_factory=list)  # (destination, message id)
    dead: list[str] = field(default_factory=list)
    cancel: set[str] = field(default_factory=set)
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_parallel_same_message: int = 0
    max_parallel: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def prepare(self, session: Session, message: OutboxMessage) -> Any | None:
        if message.destination in self.cancel:
            return None
        return (message.destination, message.id)

    def send(self, prepared: Any) -> Outcome:
        destination, message_id = prepared
        with self.lock:
            self.in_flight[message_id] += 1
            self.max_parallel = max(self.max_parallel, sum(self.in_flight.values()))
            self.max_parallel_same_message = max(
                self.max_parallel_same_message, self.in_flight[message_id]
            )
        try:
            if self.delay:
                time.sleep(self.delay)
            with self.lock:
                if self.fail.get(message_id, 0) > 0:
                    self.fail[message_id] -= 1
                    return Outcome(ok=False, status_code=500, error="HTTP 500")
                self.received.append((destination, message_id))
            return Outcome(ok=True, status_code=204)
        finally:
            with self.lock:
                self.in_flight[message_id] -= 1

    def on_dead(self, session: Session, message: OutboxMessage) -> None:
        self.dead.append(message.id)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def services(app: FastAPI, receiver: Receiver) -> Services:
    base: Services = app.state.services
    return replace(base, outbox_channels={"test": receiver})


def worker_of(services: Services, **kwargs: Any) -> OutboxWorker:
    kwargs.setdefault("backoff", Backoff(base_seconds=0.01, cap_seconds=0.02))
    return OutboxWorker(
        open_session=services.session,
        channels=services.outbox_channels,
        wakeup=services.outbox_wakeup,
        **kwargs,
    )


def enqueue(services: Services, destination: str, n: int = 1) -> list[str]:
    with services.session() as session:
        ids = [
            outbox.enqueue(
                session, channel="test", destination=destination, kind="t", payload={"i": i}
            ).id
            for i in range(n)
        ]
        session.commit()
    return ids


def states(services: Services) -> dict[str, str]:
    with services.session(writes=False) as session:
        return {m.id: m.state for m in session.scalars(select(OutboxMessage))}


def test_a_message_exists_only_if_its_transaction_commits(
    services: Services, receiver: Receiver
) -> None:
    with services.session() as session:
        outbox.enqueue(session, channel="test", destination="d1", kind="t", payload={})
        session.rollback()
    kept = enqueue(services, "d1")
    assert services.outbox_wakeup.is_set()  # the commit woke the in-process worker
    assert worker_of(services).run_once() == 1
    assert receiver.received == [("d1", kept[0])]
    assert states(services) == {kept[0]: "delivered"}


def test_failures_retry_with_backoff_and_keep_order_per_destination(
    services: Services, receiver: Receiver
) -> None:
    first, second = enqueue(services, "d1", 2)
    (other,) = enqueue(services, "d2")
    receiver.fail[first] = 2
    # Retries wait 0.5-1 s (then 1 s, the cap): long enough that the first pass ends first.
    worker = worker_of(services, backoff=Backoff(base_seconds=1.0, cap_seconds=1.0))
    worker.run_once()
    # d1's head failed: its second message waits behind it; d2 is not held up.
    assert receiver.received == [("d2", other)]
    deadline = time.monotonic() + 10
    while len(receiver.received) < 3 and time.monotonic() < deadline:
        time.sleep(0.03)
        worker.run_once()
    assert receiver.received == [("d2", other), ("d1", first), ("d1", second)]
    with services.session(writes=False) as session:
        attempts = session.scalars(
            select(OutboxAttempt).where(OutboxAttempt.message_id == first)
        ).all()
    assert [a.ok for a in attempts] == [False, False, True]
    assert attempts[0].status_code == 500 and attempts[0].error == "HTTP 500"


def test_a_lost_lease_is_redelivered_and_a_live_one_is_not_taken(
    services: Services, receiver: Receiver
) -> None:
    (message_id,) = enqueue(services, "d1")
    # A worker claims the message, then dies before delivering it.
    dying = worker_of(services, lease_seconds=0.5)
    assert [c.message_id for c in dying._claim(4)] == [message_id]
    # While the lease runs, no other worker takes it.
    other = worker_of(services, lease_seconds=30)
    assert other.run_once() == 0
    time.sleep(0.6)
    assert other.run_once() == 1
    assert receiver.received == [("d1", message_id)]
    # The dead worker's late outcome is not recorded over the new owner's.
    assert states(services) == {message_id: "delivered"}


def test_give_up_after_max_age_runs_the_channels_on_dead(
    services: Services, receiver: Receiver
) -> None:
    (message_id,) = enqueue(services, "d1")
    receiver.fail[message_id] = 100
    receiver.max_age = timedelta(0)
    worker_of(services).run_once()
    assert states(services) == {message_id: "dead"}
    assert receiver.dead == [message_id]
    # Redelivery (the delivery log's button) puts it back in line, with the same id.
    with services.session() as session:
        again = outbox.redeliver(session, message_id)
        session.commit()
    assert again is not None and again.id == message_id
    receiver.fail.clear()
    receiver.max_age = timedelta(days=3)
    worker_of(services).run_once()
    assert receiver.received == [("d1", message_id)]


def test_nothing_left_to_deliver_to_cancels(services: Services, receiver: Receiver) -> None:
    (message_id,) = enqueue(services, "gone")
    receiver.cancel.add("gone")
    worker_of(services).run_once()
    assert states(services) == {message_id: MessageState.cancelled.value}
    assert receiver.received == []


def test_a_slow_receiver_holds_one_slot_not_the_others(
    services: Services, receiver: Receiver
) -> None:
    receiver.delay = 0.3
    for d in range(4):
        enqueue(services, f"d{d}")
    worker = worker_of(services, concurrency=4)
    worker.run_once()
    # The four slow deliveries were under way side by side, not one after another.
    assert len(receiver.received) == 4
    assert receiver.max_parallel == 4


def test_in_process_worker_delivers_soon_after_commit(
    services: Services, receiver: Receiver
) -> None:
    worker = worker_of(services, poll_seconds=30)  # only the wake-up can make it quick
    worker.start()
    try:
        (message_id,) = enqueue(services, "d1")
        deadline = time.monotonic() + 5
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert receiver.received == [("d1", message_id)]


@pytest.mark.postgresql
def test_two_workers_share_the_work_without_double_delivery(
    services: Services, receiver: Receiver
) -> None:
    receiver.delay = 0.005
    expected: dict[str, list[str]] = {}
    for d in range(12):
        expected[f"d{d}"] = enqueue(services, f"d{d}", 10)
    workers = [worker_of(services, concurrency=4, poll_seconds=0.05) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        deadline = time.monotonic() + 60
        while len(receiver.received) < 120 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        for w in workers:
            w.stop()
    ids = [m for _, m in receiver.received]
    assert len(ids) == 120 and len(set(ids)) == 120  # each once
    assert receiver.max_parallel_same_message == 1
    for destination, sent in expected.items():
        assert [m for d, m in receiver.received if d == destination] == sent  # in order
    with Session(services.engine) as session:
        assert {m.state for m in session.scalars(select(OutboxMessage))} == {"delivered"}
