"""Auditor fixtures: the licence fixtures, reused, and a person with an auditor login."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Org, bearer, login
from tests.licences.conftest import grant, issue, make_grant  # noqa: F401


@dataclass
class AuditorPerson:
    id: str
    organization: Org
    email: str
    password: str
    headers: dict[str, str]


@pytest.fixture
def make_auditor(
    client: TestClient, admin_headers: dict[str, str], make_org: Callable[..., Org]
) -> Callable[..., AuditorPerson]:
    def make(org: Org | None = None) -> AuditorPerson:
        org = org or make_org("auditor")
        email = f"auditor-{secrets.token_hex(4)}@audit.example"
        r = client.post(
            "/v1/auditors",
            json={"organization_id": org.id, "email": email},
            headers=admin_headers,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        password = body["initial_password"]
        token = login(client, email, password)
        return AuditorPerson(body["id"], org, email, password, bearer(token))

    return make


@pytest.fixture
def auditor_person(make_auditor: Callable[..., AuditorPerson]) -> AuditorPerson:
    return make_auditor()


def sign_in(client: TestClient, person: AuditorPerson, **extra: Any) -> Any:
    return client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": person.email,
            "password": person.password,
            **extra,
        },
    )


def wrong_code(secret: str) -> str:
    """A 6-digit code that is not valid now, nor one step before or after."""
    totp = pyotp.TOTP(secret)
    now = time.time()
    valid = {totp.at(now, counter_offset=offset) for offset in (-2, -1, 0, 1, 2)}
    return next(c for c in (f"{n:06d}" for n in range(1_000_000)) if c not in valid)


def next_code(secret: str) -> str:
    """The code of the next time step: valid now (the window admits one step either way) and
    not yet used, unlike the current one, which may be the very code that confirmed the factor
    (a code signs in once: `totp_reused`)."""
    return pyotp.TOTP(secret).at(time.time(), counter_offset=1)


def enable_totp(client: TestClient, person: AuditorPerson) -> str:
    r = client.post("/v1/auth/totp", headers=person.headers)
    assert r.status_code == 200, r.text
    secret = str(r.json()["secret"])
    r = client.post(
        "/v1/auth/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=person.headers
    )
    assert r.status_code == 200, r.text
    return secret
