"""A TOTP code signs in once (RFC 6238 §5.2): the login keeps the time step of the last code
accepted, on the database, so a code seen over a shoulder or in a proxy log cannot be played
again within its validity window, not even by a concurrent request to the same service."""

from __future__ import annotations

import threading
import time

import httpx
import pyotp
from fastapi.testclient import TestClient

from tests.auditors.conftest import AuditorPerson, enable_totp, sign_in


def test_the_same_code_sent_twice_at_once_signs_in_once(
    live_server: str, client: TestClient, auditor_person: AuditorPerson
) -> None:
    secret = enable_totp(client, auditor_person)
    code = pyotp.TOTP(secret).at(time.time(), counter_offset=1)
    start = threading.Barrier(2)
    answers: list[httpx.Response] = []

    def attempt() -> None:
        start.wait()
        answers.append(
            httpx.post(
                f"{live_server}/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": auditor_person.email,
                    "password": auditor_person.password,
                    "totp": code,
                },
                timeout=30,
            )
        )

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 400], [r.text for r in answers]
    [refused] = [r for r in answers if r.status_code == 400]
    assert (refused.json()["error"], refused.json()["code"]) == ("invalid_grant", "totp_reused")
    # And later, through another client: still refused.
    again = sign_in(client, auditor_person, totp=code)
    assert (again.status_code, again.json()["code"]) == (400, "totp_reused")
