"""Invitations through the HTTP API like a client; the link is read from the mail the outbox
worker really delivered (the embedded default's Maildir), as the invited person reads it."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.config import Settings
from consent_service.db import utcnow
from tests.accounts.test_account_links import mails_to, sign_up_body
from tests.conftest import HolderAccount, Org, bearer, sign_up
from tests.consents.conftest import make_terms


def invite(client: TestClient, studio: Org, email: str, **body: Any):
    return client.post("/v1/invitations", json={"email": email, **body}, headers=studio.headers)


def an_address() -> str:
    return f"invitee-{secrets.token_hex(4)}@example.org"


def invitation_token(body: str) -> str:
    tokens = set(re.findall(r"[?&](?:invitation|token)=([A-Za-z0-9_-]+)", body))
    assert len(tokens) == 1, body  # the three links carry the same single-use token
    return tokens.pop()


def counts(app: FastAPI) -> dict[str, int]:
    with app.state.services.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
            for t in ("invitation", "outbox_message", "audit_event", "consent_request")
        }


def stored(app: FastAPI, invitation_id: str) -> dict[str, Any]:
    with app.state.services.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT * FROM invitation WHERE id = :id"), {"id": invitation_id}
        ).mappings()
        return dict(row.one())


def audit_text(app: FastAPI) -> str:
    with app.state.services.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT event_json FROM audit_event")).scalars().all()
    return "\n".join(rows)


def listed(client: TestClient, studio: Org) -> dict[str, dict[str, Any]]:
    r = client.get("/v1/invitations", headers=studio.headers)
    assert r.status_code == 200, r.text
    return {item["id"]: item for item in r.json()["items"]}


def test_a_person_accepts_and_only_then_the_studio_learns_the_holder_id(
    app: FastAPI, client: TestClient, settings: Settings, make_org: Callable[..., Org]
) -> None:
    studio = make_org("studio", name="Northlight Pictures")
    email = an_address()
    r = invite(client, studio, email, consent_request={"terms": make_terms()})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "pending" and created["holder_id"] is None
    assert created["has_consent_request"] is True
    assert email not in r.text
    row = stored(app, created["id"])
    assert row["email_sealed"] is not None and email.encode() not in bytes(row["email_sealed"])
    with app.state.services.engine.connect() as conn:
        queued = conn.execute(sa.text("SELECT payload FROM outbox_message")).scalars().all()
    assert queued and all(email not in str(payload) for payload in queued)

    ((subject, text),) = mails_to(app, settings, email)
    assert subject == "Northlight Pictures invites you to a consent registry"
    assert "/portal/sign-up?invitation=" in text and "/portal/login?invitation=" in text
    assert "@" not in text  # the mail names the studio; no address, no other personal data
    token = invitation_token(text)

    # The person signs up (with any address they like), signs in and accepts.
    body = sign_up_body()
    holder_id, access = sign_up(client, body)
    still = listed(client, studio)[created["id"]]
    assert still["status"] == "pending" and still["holder_id"] is None

    accepted = client.post("/v1/invitations/accept", json={"token": token}, headers=bearer(access))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["studio_id"] == studio.id
    request_id = accepted.json()["consent_request_id"]
    assert request_id

    shown = listed(client, studio)[created["id"]]
    assert shown["status"] == "accepted" and shown["holder_id"] == holder_id
    assert shown["consent_request_id"] == request_id
    req = client.get(f"/v1/consent-requests/{request_id}", headers=studio.headers).json()
    assert req["holder_id"] == holder_id and req["status"] == "pending"
    mine = client.get("/v1/consent-requests", headers=bearer(access)).json()["items"]
    assert [m["id"] for m in mine] == [request_id]

    # The address is erased with the end of the invitation; the audit log never had it.
    row = stored(app, created["id"])
    assert row["email_sealed"] is None and row["pending_key"] is None
    assert email not in audit_text(app) and "invitation.accepted" in audit_text(app)

    # The link worked once.
    before = counts(app)
    again = client.post("/v1/invitations/accept", json={"token": token}, headers=bearer(access))
    assert again.status_code == 400 and again.json()["code"] == "invitation_invalid"
    assert counts(app) == before


def test_without_terms_accepting_makes_no_request_and_needs_a_signed_in_holder(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org, holder: HolderAccount
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    assert created["has_consent_request"] is False
    token = invitation_token(mails_to(app, settings, email)[0][1])

    anonymous = client.post("/v1/invitations/accept", json={"token": token})
    assert anonymous.status_code == 401
    as_studio = client.post("/v1/invitations/accept", json={"token": token}, headers=studio.headers)
    assert as_studio.status_code == 404  # other roles learn nothing of the route
    before = counts(app)
    r = client.post("/v1/invitations/accept", json={"token": token}, headers=holder.headers)
    assert r.status_code == 200 and r.json()["consent_request_id"] is None
    after = counts(app)
    assert after["consent_request"] == before["consent_request"]
    assert listed(client, studio)[created["id"]]["holder_id"] == holder.id


def test_bad_input_is_refused_with_its_own_code_and_queues_nothing(
    app: FastAPI, client: TestClient, studio: Org, make_org: Callable[..., Org]
) -> None:
    email = an_address()
    assert invite(client, studio, email).status_code == 201
    before = counts(app)

    twice = invite(client, studio, email.upper())  # the same address, however spelled
    assert twice.status_code == 409 and twice.json()["code"] == "invitation_pending"
    for bad in ("not-an-address", "a@b", "two@@example.org", "x@example.org\nBcc: y@z.org"):
        r = invite(client, studio, bad)
        assert r.status_code == 422 and r.json()["code"] == "invalid_email", (bad, r.text)
    bad_terms = invite(client, studio, an_address(), consent_request={"terms": {"x": 1}})
    assert bad_terms.status_code == 422
    bad_language = invite(
        client, studio, an_address(), consent_request={"terms": make_terms(), "language": "xx"}
    )
    assert bad_language.status_code == 422
    assert bad_language.json()["code"] == "unsupported_language"
    assert counts(app) == before

    # Another studio may invite the same person; its invitation is its own.
    other = make_org("studio")
    assert invite(client, other, email).status_code == 201
    assert len(listed(client, other)) == 1


def test_a_withdrawn_invitation_stops_working_and_frees_the_address(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    studio: Org,
    make_org: Callable[..., Org],
    holder: HolderAccount,
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    token = invitation_token(mails_to(app, settings, email)[0][1])

    other = make_org("studio")
    assert (
        client.delete(f"/v1/invitations/{created['id']}", headers=other.headers).status_code == 404
    )
    assert created["id"] not in listed(client, other)
    gone = client.delete(f"/v1/invitations/{created['id']}", headers=studio.headers)
    assert gone.status_code == 204
    again = client.delete(f"/v1/invitations/{created['id']}", headers=studio.headers)
    assert again.status_code == 409 and again.json()["code"] == "invitation_not_pending"
    assert listed(client, studio)[created["id"]]["status"] == "withdrawn"
    assert stored(app, created["id"])["email_sealed"] is None

    r = client.post("/v1/invitations/accept", json={"token": token}, headers=holder.headers)
    assert r.status_code == 400 and r.json()["code"] == "invitation_invalid"
    assert invite(client, studio, email).status_code == 201  # may be invited anew


def test_an_expired_invitation_is_refused_its_mail_cancelled_and_its_address_erased(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org, holder: HolderAccount
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    with app.state.services.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE invitation SET expires_at = :t WHERE id = :id"),
            {"t": (utcnow() - timedelta(seconds=1)).replace(tzinfo=None), "id": created["id"]},
        )
    assert mails_to(app, settings, email) == []  # expired before delivery: never sent
    assert listed(client, studio)[created["id"]]["status"] == "expired"
    assert stored(app, created["id"])["email_sealed"] is not None  # reads never write

    app.state.expiry_sweeper.run_once()
    row = stored(app, created["id"])
    assert row["status"] == "expired" and row["email_sealed"] is None
    assert "invitation.expired" in audit_text(app)
    assert invite(client, studio, email).status_code == 201


def test_an_expired_token_is_refused(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org, holder: HolderAccount
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    token = invitation_token(mails_to(app, settings, email)[0][1])
    with app.state.services.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE invitation SET expires_at = :t WHERE id = :id"),
            {"t": (utcnow() - timedelta(seconds=1)).replace(tzinfo=None), "id": created["id"]},
        )
    before = counts(app)
    r = client.post("/v1/invitations/accept", json={"token": token}, headers=holder.headers)
    assert r.status_code == 400 and r.json()["code"] == "invitation_invalid"
    assert counts(app) == before
    assert listed(client, studio)[created["id"]]["holder_id"] is None


def test_declining_through_the_api(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    token = invitation_token(mails_to(app, settings, email)[0][1])
    assert client.post("/v1/invitations/decline", json={"token": token}).status_code == 204
    assert listed(client, studio)[created["id"]]["status"] == "declined"


@pytest.mark.parametrize("path", ["/v1/invitations"])
def test_only_studios_invite(client: TestClient, holder: HolderAccount, path: str) -> None:
    r = client.post(path, json={"email": an_address()}, headers=holder.headers)
    assert r.status_code == 404  # other roles learn nothing of the route
    assert client.get(path, headers=holder.headers).status_code == 404
