"""A person's account on their own: confirming the address, resetting and changing the password.

Through the HTTP API like a client; the links are read from the mail the outbox worker really
delivered (the embedded default's Maildir), as the person would read them.
"""

from __future__ import annotations

import mailbox
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.config import Settings
from consent_service.db import utcnow
from tests.conftest import Org, bearer, login
from tests.consents.conftest import accept, ask

PASSWORD = "a long enough passphrase"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"require_email_confirmation": True})


def deliver(app: FastAPI) -> None:
    app.state.services.outbox_worker().run_once()


def mails_to(app: FastAPI, settings: Settings, address: str) -> list[tuple[str, str]]:
    """(subject, body) of every mail delivered to `address`, oldest first."""
    deliver(app)
    if not settings.mail_dir.exists():
        return []
    box = mailbox.Maildir(settings.mail_dir, create=False)
    found = []
    for key, message in box.items():
        if address in str(message["To"]):
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            found.append((_delivered_at(key), str(message["Subject"]), payload.decode()))
    found.sort(key=lambda m: m[0])
    return [(subject, body) for _order, subject, body in found]


def _delivered_at(key: str) -> tuple[int, int]:
    """Maildir names start `<seconds>.M<microseconds>P<pid>...`: the order of delivery."""
    seconds, rest = key.split(".", 1)
    micro = re.match(r"M(\d+)", rest)
    return int(seconds), int(micro.group(1)) if micro else 0


def link_token(body: str, path: str) -> str:
    match = re.search(re.escape(path) + r"\?token=([A-Za-z0-9_-]+)", body)
    assert match, body
    return match.group(1)


def sign_up_body(**extra: Any) -> dict[str, Any]:
    import secrets

    return {
        "legal_name": "Nadia Example",
        "email": f"nadia-{secrets.token_hex(4)}@example.org",
        "password": PASSWORD,
        "date_of_birth": "1991-03-04",
        "jurisdiction": "GB",
        **extra,
    }


def counts(app: FastAPI) -> dict[str, int]:
    with app.state.services.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
            for t in ("holder", "login", "consent_grant", "login_token")
        }


def test_a_holder_confirms_the_address_before_any_consent(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org
) -> None:
    body = sign_up_body()
    r = client.post("/v1/holders", json=body)
    assert r.status_code == 202 and r.json()["status"] == "check_your_email"
    token = login(client, body["email"], PASSWORD)
    me = client.get("/v1/holders/me", headers=bearer(token)).json()
    assert me["email_confirmed"] is False

    req = ask(client, studio, me["id"])
    assert req.status_code == 201, req.text
    before = counts(app)
    refused = accept(client, bearer(token), req.json())
    assert refused.status_code == 403 and refused.json()["code"] == "email_not_confirmed"
    assert counts(app) == before

    ((subject, text), *_rest) = mails_to(app, settings, body["email"])
    assert subject == "Confirm your email address"
    confirmation = link_token(text, "/portal/confirm-email")
    ok = client.post("/v1/auth/confirm-email", json={"token": confirmation})
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"
    assert client.get("/v1/holders/me", headers=bearer(token)).json()["email_confirmed"] is True
    again = client.post("/v1/auth/confirm-email", json={"token": confirmation})
    assert again.status_code == 400 and again.json()["code"] == "link_invalid"

    granted = accept(client, bearer(token), req.json())
    assert granted.status_code == 201, granted.text


def test_a_new_link_voids_the_old_one_and_forged_links_change_nothing(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    body = sign_up_body()
    client.post("/v1/holders", json=body)
    token = login(client, body["email"], PASSWORD)
    ((_s, first_text),) = mails_to(app, settings, body["email"])
    r = client.post("/v1/auth/confirm-email/resend", headers=bearer(token))
    assert r.status_code == 202 and r.json()["status"] == "sent"
    mails = mails_to(app, settings, body["email"])
    assert len(mails) == 2
    old = link_token(first_text, "/portal/confirm-email")
    new = link_token(mails[1][1], "/portal/confirm-email")
    before = counts(app)
    for forged in (old, "A" * 43, "x", new[:-1] + ("A" if new[-1] != "A" else "B")):
        r = client.post("/v1/auth/confirm-email", json={"token": forged})
        assert r.status_code == 400 and r.json()["code"] == "link_invalid", forged
        assert r.headers["content-type"] == "application/problem+json"
    assert counts(app) == before
    assert client.post("/v1/auth/confirm-email", json={"token": new}).status_code == 200


def test_sign_up_with_a_registered_address_tells_its_owner_and_no_one_else(
    app: FastAPI, client: TestClient, settings: Settings
) -> None:
    body = sign_up_body()
    first = client.post("/v1/holders", json=body)
    before = counts(app)
    second = client.post("/v1/holders", json={**body, "legal_name": "Someone Else"})
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert counts(app) == before
    subjects = [s for s, _ in mails_to(app, settings, body["email"])]
    assert subjects == ["Confirm your email address", "Someone tried to sign up with your address"]


def test_password_reset_by_mailed_link_works_once_and_signs_other_sessions_out(
    app: FastAPI, client: TestClient, settings: Settings, register_holder: Callable[..., Any]
) -> None:
    holder = register_holder()
    unknown = client.post("/v1/auth/password-reset", json={"email": "nobody@example.org"})
    known = client.post("/v1/auth/password-reset", json={"email": holder.email.upper()})
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert known.status_code == 202
    assert mails_to(app, settings, "nobody@example.org") == []
    (subject, text) = mails_to(app, settings, holder.email)[-1]
    assert subject == "Reset your password"
    reset = link_token(text, "/portal/reset-password")

    short = client.post(
        "/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "short"}
    )
    assert short.status_code == 422  # refused before the link is used up
    new_password = "an entirely new passphrase"
    r = client.post(
        "/v1/auth/password-reset/confirm", json={"token": reset, "new_password": new_password}
    )
    assert r.status_code == 200, r.text
    # The old session is signed out; the old password is gone; the new one works.
    assert client.get("/v1/holders/me", headers=holder.headers).status_code == 401
    bad = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": PASSWORD},
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    fresh = login(client, holder.email, new_password)
    assert client.get("/v1/holders/me", headers=bearer(fresh)).status_code == 200
    reused = client.post(
        "/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "x" * 20}
    )
    assert reused.status_code == 400 and reused.json()["code"] == "link_invalid"
    assert mails_to(app, settings, holder.email)[-1][0] == "Your password was changed"


def test_a_reset_link_expires_after_30_minutes(
    app: FastAPI, client: TestClient, settings: Settings, register_holder: Callable[..., Any]
) -> None:
    holder = register_holder()
    client.post("/v1/auth/password-reset", json={"email": holder.email})
    reset = link_token(mails_to(app, settings, holder.email)[-1][1], "/portal/reset-password")
    with app.state.services.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE login_token SET expires_at = :t WHERE purpose = 'reset_password'"),
            {"t": (utcnow() - timedelta(seconds=1)).replace(tzinfo=None)},
        )
    r = client.post(
        "/v1/auth/password-reset/confirm", json={"token": reset, "new_password": "x" * 20}
    )
    assert r.status_code == 400 and r.json()["code"] == "link_invalid"
    assert login(client, holder.email, PASSWORD)


def test_changing_the_password_asks_for_the_current_one(
    client: TestClient, register_holder: Callable[..., Any]
) -> None:
    holder = register_holder()
    wrong = client.post(
        "/v1/holders/me/password",
        json={"current_password": "not it at all", "new_password": "a brand new passphrase"},
        headers=holder.headers,
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "current_password_incorrect"
    assert client.get("/v1/holders/me", headers=holder.headers).status_code == 200
    ok = client.post(
        "/v1/holders/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=holder.headers,
    )
    assert ok.status_code == 200, ok.text
    assert client.get("/v1/holders/me", headers=holder.headers).status_code == 401
    assert login(client, holder.email, "a brand new passphrase")
