"""`consent-service worker` as real processes: killed mid-delivery, and two side by side.

The app's in-process worker is off here (CONSENT_OUTBOX_IN_PROCESS=false, as on production
API replicas); the workers are subprocesses on the test's database, delivering to the
verifying receiver on loopback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from consent_service.config import Settings
from consent_service.outbox.models import OutboxMessage
from consent_service.webhooks import service as webhooks
from consent_service.webhooks.events import EventType
from consent_service.wiring import Services
from tests.conftest import Org
from tests.webhooks.conftest import Endpoint
from tests.webhooks.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbox_in_process": False})


@pytest.fixture
def start_worker(
    settings: Settings, master_key: str
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*, lease_seconds: float = 120, concurrency: int = 4) -> subprocess.Popen[bytes]:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CONSENT_ENV": "development",
            "CONSENT_DATA_DIR": str(settings.data_dir),
            "CONSENT_DATABASE_URL": settings.resolved_database_url,
            "CONSENT_MASTER_KEY": master_key,
            "CONSENT_ISSUER": settings.issuer,
            "CONSENT_OUTBOX_LEASE_SECONDS": str(lease_seconds),
            "CONSENT_OUTBOX_POLL_SECONDS": "0.1",
            "CONSENT_OUTBOX_RETRY_BASE_SECONDS": "0.1",
            "CONSENT_OUTBOX_RETRY_CAP_SECONDS": "0.5",
            "CONSENT_OUTBOX_CONCURRENCY": str(concurrency),
        }
        proc = subprocess.Popen(
            [sys.executable, "-c", "from consent_service.cli import main; main()", "worker"],
            env=env,
            cwd=str(ROOT),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def publish(services: Services, studio: Org, n: int) -> list[str]:
    ids: list[str] = []
    with services.session() as session:
        for i in range(n):
            ids += webhooks.publish(
                session, EventType.consent_suspended, studio_ids=[studio.id], data={"n": i}
            )
        session.commit()
    return ids


def messages(services: Services) -> list[OutboxMessage]:
    with services.session(writes=False) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)))


def first_seen_order(receiver: Receiver, path: str) -> list[str]:
    seen: list[str] = []
    for delivery in receiver.of(path):
        if delivery.webhook_id not in seen:
            seen.append(delivery.webhook_id)
    return seen


def test_a_worker_killed_mid_delivery_loses_nothing(
    app: FastAPI,
    receiver: Receiver,
    studio: Org,
    make_endpoint: Callable[..., Endpoint],
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    services: Services = app.state.services
    first = make_endpoint(studio, ["consent.suspended"])
    second = make_endpoint(studio, ["consent.suspended"])
    ids = publish(services, studio, 5)  # 5 events x 2 endpoints
    assert len(ids) == 10
    receiver.hold = threading.Event()  # deliveries hang inside the receiver
    doomed = start_worker(lease_seconds=3)
    assert receiver.received_any.wait(60), "the first worker never started delivering"
    doomed.send_signal(signal.SIGKILL)  # kill -9, mid-delivery
    doomed.wait(10)
    receiver.hold.set()
    receiver.hold = None
    start_worker(lease_seconds=3)
    assert receiver.wait_for(
        lambda: all(m.state == "delivered" for m in messages(services)), timeout=90
    ), [m.state for m in messages(services)]
    assert receiver.bad_signatures == 0
    got = {d.webhook_id for d in receiver.deliveries}
    assert got == set(ids)  # every message arrived (a message cut off may arrive twice)
    for endpoint in (first, second):
        expected = [m.id for m in messages(services) if m.destination == endpoint.id]
        assert first_seen_order(receiver, endpoint.path) == expected  # in order per endpoint


@pytest.mark.postgresql
def test_two_workers_share_the_work_and_never_deliver_a_message_twice_at_once(
    app: FastAPI,
    receiver: Receiver,
    studio: Org,
    make_endpoint: Callable[..., Endpoint],
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    services: Services = app.state.services
    endpoints = [make_endpoint(studio, ["consent.suspended"]) for _ in range(6)]
    ids = publish(services, studio, 8)  # 8 events x 6 endpoints
    receiver.delay_seconds = 0.02
    start_worker(concurrency=4)
    start_worker(concurrency=4)
    assert receiver.wait_for(
        lambda: all(m.state == "delivered" for m in messages(services)), timeout=120
    )
    assert receiver.bad_signatures == 0
    delivered = [d.webhook_id for d in receiver.deliveries]
    assert sorted(delivered) == sorted(ids)  # each exactly once
    assert receiver.max_in_flight_same_id == 1
    for endpoint in endpoints:
        expected = [m.id for m in messages(services) if m.destination == endpoint.id]
        assert first_seen_order(receiver, endpoint.path) == expected
