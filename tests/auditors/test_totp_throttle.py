"""Wrong TOTP codes are throttled like wrong passwords: the same per-address and per-account
buckets (CONSENT_LOGIN_ATTEMPTS_PER_MINUTE), so six digits cannot be guessed at speed."""

from __future__ import annotations

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.auditors.conftest import AuditorPerson, enable_totp, sign_in, wrong_code

ATTEMPTS = 4


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"login_attempts_per_minute": ATTEMPTS})


def test_wrong_codes_are_throttled_then_even_the_right_code_waits(
    client: TestClient, auditor_person: AuditorPerson
):
    # The fixture's sign-in and the confirmation took two attempts of this client address.
    secret = enable_totp(client, auditor_person)
    answers = [sign_in(client, auditor_person, totp=wrong_code(secret)) for _ in range(2)]
    assert [r.json()["code"] for r in answers] == ["totp_invalid", "totp_invalid"]
    limited = sign_in(client, auditor_person, totp=pyotp.TOTP(secret).now())
    assert limited.status_code == 429, limited.text
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


def test_wrong_codes_from_many_addresses_are_throttled_per_account(
    app: FastAPI, client: TestClient, auditor_person: AuditorPerson
):
    # The fixture's sign-in took one attempt of the account's bucket; three wrong codes, each
    # from an address of its own (no address bucket fills), take the rest.
    secret = enable_totp(client, auditor_person)
    answers = [
        sign_in(
            TestClient(app, client=(f"198.51.100.{n}", 50000)),
            auditor_person,
            totp=wrong_code(secret),
        )
        for n in range(1, ATTEMPTS)
    ]
    assert [r.json()["code"] for r in answers] == ["totp_invalid"] * (ATTEMPTS - 1)
    fresh = TestClient(app, client=("203.0.113.7", 50000))
    limited = sign_in(fresh, auditor_person, totp=pyotp.TOTP(secret).now())
    assert limited.status_code == 429, limited.text
    assert limited.json()["code"] == "rate_limited"
