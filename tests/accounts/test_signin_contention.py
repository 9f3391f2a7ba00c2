"""Failed sign-ins do not stall other requests (issue 11, item 2).

Argon2 at its production cost takes tens of milliseconds and a lot of memory, and anyone may
make the service run it. It used to run inside a transaction that, on SQLite, held the
database write lock, so a handful of wrong passwords queued every other request behind them.
Here four threads sign in with a wrong password against a live server while a studio lists
its consents, and the median latency of that read is compared with its median without the
load, measured in the same test: a ratio, not an absolute time.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.conftest import HolderAccount, Org
from tests.consents.conftest import ask

READS = 25
SIGN_IN_THREADS = 4
MAX_RATIO = 5.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Production-like argon2 cost (config.py defaults), so that hashing is slow enough to matter.
    defaults = Settings.model_fields
    return settings.model_copy(
        update={
            "argon2_time_cost": defaults["argon2_time_cost"].default,
            "argon2_memory_kib": defaults["argon2_memory_kib"].default,
        }
    )


def _median_read_ms(http: httpx.Client, headers: dict[str, str]) -> float:
    timings = []
    for _ in range(READS):
        started = time.perf_counter()
        r = http.get("/v1/consents", headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    return statistics.median(timings)


def test_failed_sign_ins_do_not_stall_a_concurrent_read(
    live_server: str,
    settings: Settings,
    register_holder: Callable[..., HolderAccount],
    studio: Org,
    client: TestClient,
) -> None:
    assert settings.argon2_memory_kib >= 65536  # the override above is in force
    holder = register_holder()
    for _ in range(3):
        assert ask(client, studio, holder.id).status_code == 201

    stop = threading.Event()
    attempts: list[int] = []
    failures: list[BaseException] = []

    def sign_in_wrongly() -> None:
        try:
            with httpx.Client(base_url=live_server, timeout=60) as http:
                while not stop.is_set():
                    r = http.post(
                        "/v1/auth/token",
                        data={
                            "grant_type": "password",
                            "username": holder.email,
                            "password": "not the password",
                        },
                    )
                    assert r.status_code == 400, r.text
                    attempts.append(1)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    with httpx.Client(base_url=live_server, timeout=60) as http:
        _median_read_ms(http, studio.headers)  # warm up connections and caches
        quiet = _median_read_ms(http, studio.headers)
        threads = [threading.Thread(target=sign_in_wrongly) for _ in range(SIGN_IN_THREADS)]
        for thread in threads:
            thread.start()
        try:
            deadline = time.monotonic() + 30
            while len(attempts) < SIGN_IN_THREADS and time.monotonic() < deadline:
                time.sleep(0.01)  # wait until every thread is hashing, not for a fixed time
            loaded = _median_read_ms(http, studio.headers)
            attempts_during = len(attempts)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    assert not failures, failures
    assert attempts_during >= SIGN_IN_THREADS, "the sign-in load did not run"
    assert loaded <= MAX_RATIO * quiet, (
        f"median GET /v1/consents: {quiet:.1f} ms quiet, {loaded:.1f} ms under "
        f"{SIGN_IN_THREADS} threads of failed sign-ins ({attempts_during} attempts)"
    )
