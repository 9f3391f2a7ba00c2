"""Holder registration and records: validation, privacy, encryption at rest."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service.ops.rate_limit import RateLimiter
from tests.conftest import bearer

VALID = {
    "legal_name": "Octavia Example-Person",
    "email": "octavia@example.org",
    "password": "a long enough passphrase",
    "date_of_birth": "1985-02-03",
    "jurisdiction": "US-CA",
    "stage_name": "Tavi Stardust",
}


def _table_counts(app) -> dict[str, int]:
    with app.state.services.engine.connect() as conn:
        names = sa.inspect(conn).get_table_names()
        return {
            n: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{n}"')).scalar_one()
            for n in names
            if n != "alembic_version"
        }


def test_holder_registers_logs_in_and_reads_own_record(client: TestClient):
    r = client.post("/v1/holders", json=VALID)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "check_your_email" and "id" not in r.json()

    token = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": VALID["email"], "password": VALID["password"]},
    ).json()
    me = client.get("/v1/holders/me", headers=bearer(token["access_token"])).json()
    assert me["id"].startswith("hld_")
    assert me["status"] == "living_adult" and me["verification"] == "self_asserted"
    assert me["email_confirmed"] is False
    record = client.get(f"/v1/holders/{me['id']}", headers=bearer(token["access_token"])).json()
    assert record["legal_name"] == VALID["legal_name"]
    assert record["stage_name"] == VALID["stage_name"]
    assert record["email"] == VALID["email"]
    assert record["date_of_birth"] == VALID["date_of_birth"]
    assert record["jurisdiction"] == "US-CA"
    assert token["token_type"] == "bearer" and token["expires_in"] > 0


def test_status_is_computed_from_dates(client: TestClient, register_holder, admin_headers):
    today = date.today()
    minor = register_holder(date_of_birth=today.replace(year=today.year - 12).isoformat())
    assert client.get(f"/v1/holders/{minor.id}", headers=minor.headers).json()["status"] == "minor"
    # A deceased person is never self-registered (IDENTITY.md "Death"): own code, nothing stored.
    r = client.post(
        "/v1/holders", json={**VALID, "email": "estate@example.org", "date_of_death": "2020-01-01"}
    )
    assert r.status_code == 422 and r.json()["code"] == "deceased_self_registration"
    # Registered alive, then the death recorded with evidence: deceased from that date.
    estate = register_holder(email="estate@example.org", date_of_death="2020-01-01")
    assert client.get(f"/v1/holders/{estate.id}", headers=admin_headers).json()["status"] == (
        "deceased"
    )


def test_sign_up_answers_the_same_for_a_registered_email_and_admins_get_409(
    client: TestClient, app, admin_headers
):
    first = client.post("/v1/holders", json=VALID)
    before = _table_counts(app)
    again = client.post(
        "/v1/holders", json={**VALID, "email": VALID["email"].upper(), "password": "x" * 20}
    )
    # Same status, same body: nobody learns whether the address was registered.
    assert (
        (again.status_code, again.json())
        == (first.status_code, first.json())
        == (
            202,
            first.json(),
        )
    )
    after = _table_counts(app)
    # No second holder or login: only the mail to the address's owner was queued.
    assert after["holder"] == before["holder"] and after["login"] == before["login"]
    assert after["outbox_message"] == before["outbox_message"] + 1
    r = client.post(
        "/v1/holders", json={**VALID, "email": VALID["email"].upper()}, headers=admin_headers
    )
    assert r.status_code == 409
    assert r.json()["code"] == "email_already_registered"


def test_self_registration_is_throttled_per_address_and_admins_are_not(
    app, client: TestClient, admin_headers
):
    app.state.services = replace(
        app.state.services, registration_rate_limiter=RateLimiter(per_minute=2)
    )
    assert client.post("/v1/holders", json=VALID).status_code == 202
    # An email already registered takes a token too: probing for emails is throttled as well.
    assert client.post("/v1/holders", json=VALID).status_code == 202
    r = client.post("/v1/holders", json={**VALID, "email": "third@example.org"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert r.headers["content-type"] == "application/problem+json"
    assert int(r.headers["Retry-After"]) >= 1
    # Nothing was written for the refused registration: the email is still free for an admin.
    r = client.post(
        "/v1/holders", json={**VALID, "email": "third@example.org"}, headers=admin_headers
    )
    assert r.status_code == 201, r.text


def test_holder_cannot_read_another_holder(client: TestClient, register_holder):
    a, b = register_holder(), register_holder()
    r = client.get(f"/v1/holders/{b.id}", headers=a.headers)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"


def test_studio_key_cannot_read_a_holder(client: TestClient, holder, studio):
    assert client.get(f"/v1/holders/{holder.id}", headers=studio.headers).status_code == 404


def test_verification_is_computed_and_no_one_can_type_it(client: TestClient, holder, admin_headers):
    """An admin could once mark a holder verified with no evidence; only reviewed evidence
    raises the level now, so the route is gone for everyone (IDENTITY.md: computed, never typed)."""
    record = client.get(f"/v1/holders/{holder.id}", headers=admin_headers)
    assert record.status_code == 200
    assert record.json()["verification"] == record.json()["assurance"] == "self_asserted"
    for headers in (admin_headers, holder.headers):
        r = client.put(
            f"/v1/holders/{holder.id}/verification",
            json={"verification": "verified"},
            headers=headers,
        )
        assert r.status_code in (404, 405)
    again = client.get(f"/v1/holders/{holder.id}", headers=holder.headers).json()
    assert again["verification"] == "self_asserted" and "verified_at" not in again


def test_invalid_registrations_are_refused_and_nothing_is_written(client: TestClient, app):
    before = _table_counts(app)
    bad_bodies = [
        ({**VALID, "email": "not-an-email"}, "email"),
        ({**VALID, "password": "short"}, "password"),
        ({**VALID, "date_of_birth": "2999-01-01"}, ""),
        ({**VALID, "date_of_birth": 19850203}, "date_of_birth"),
        ({**VALID, "jurisdiction": "Britain"}, "jurisdiction"),
        ({**VALID, "legal_name": ""}, "legal_name"),
        ({**VALID, "is_admin": True}, "is_admin"),
        ({k: v for k, v in VALID.items() if k != "email"}, "email"),
        ([VALID], ""),
    ]
    for body, field in bad_bodies:
        r = client.post("/v1/holders", json=body)
        assert r.status_code == 422, (body, r.text)
        problem = r.json()
        assert r.headers["content-type"] == "application/problem+json"
        assert problem["code"] == "validation_error" and problem["errors"]
        if field:
            assert any(e["field"] == field for e in problem["errors"]), (field, problem)
    for died in ("1980-01-01", "2020-01-01", "2999-01-01"):
        r = client.post("/v1/holders", json={**VALID, "date_of_death": died})
        assert r.status_code == 422 and r.json()["code"] == "deceased_self_registration", r.text
    assert _table_counts(app) == before


def test_malformed_json_and_oversized_bodies_are_4xx_problems(client: TestClient, app):
    before = _table_counts(app)
    r = client.post(
        "/v1/holders", content=b'{"legal_name": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_body"
    huge = {**VALID, "legal_name": "x" * 2_000_000}
    r = client.post("/v1/holders", json=huge)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    # A body that grows past the limit without announcing its length (chunked).
    def chunks():
        yield b'{"legal_name": "'
        for _ in range(300):
            yield b"y" * 8192
        yield b'"}'

    r = client.post("/v1/holders", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert _table_counts(app) == before


def test_personal_data_is_not_stored_in_clear(client: TestClient, app, settings):
    body = {
        **VALID,
        "legal_name": "Zanzibar Quokkafeather",
        "email": "quokka.zz@example.org",
        "stage_name": "Marmalade Thunderclap",
    }
    assert client.post("/v1/holders", json=body).status_code == 202
    secrets_in_clear = [b"Zanzibar", b"Quokkafeather", b"quokka.zz", b"Marmalade", b"1985-02-03"]
    with app.state.services.engine.connect() as conn:
        dump = []
        for table in sa.inspect(conn).get_table_names():
            for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                dump.append(repr(tuple(row)).encode())
    blob = b"\n".join(dump)
    for needle in secrets_in_clear:
        assert needle not in blob, needle
    if settings.resolved_database_url.startswith("sqlite"):
        app.state.services.engine.dispose()
        db_file = settings.resolved_database_url.removeprefix("sqlite:///")
        raw = b""
        for suffix in ("", "-wal"):
            try:
                with open(db_file + suffix, "rb") as fh:
                    raw += fh.read()
            except FileNotFoundError:
                pass
        for needle in secrets_in_clear:
            assert needle not in raw, needle


def test_every_registration_writes_an_audit_event_without_personal_data(client: TestClient, app):
    assert client.post("/v1/holders", json=VALID).status_code == 202
    with app.state.services.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, action, event_json FROM audit_event ORDER BY seq")
        ).all()
    actions = [r.action for r in rows]
    assert "holder.registered" in actions
    assert [r.seq for r in rows] == list(range(len(rows)))
    for row in rows:
        assert "Octavia" not in row.event_json and "octavia@" not in row.event_json
