"""Auditor accounts through the HTTP API: an admin creates a person's login, the person reads
consents, licences, usages and verification cases (never evidence media, never a write), and
every read of theirs is an `auditor.read` event naming what was read by id. Their TOTP second
factor, and their expired keys, get problem codes of their own."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from consent_service.audit import offline
from tests.auditors.conftest import AuditorPerson, sign_in, wrong_code
from tests.conftest import HolderAccount, Org, bearer
from tests.licences.conftest import Grant
from tests.usages.conftest import usage
from tests.vault import media

Issue = Callable[..., dict[str, Any]]


def events(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    """The whole log, read with `headers` (an admin's: an auditor's read would add events)."""
    items, after = [], -1
    while True:
        r = client.get("/v1/audit/events", params={"after": after, "limit": 200}, headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        if r.json()["next_after"] is None:
            return items
        after = r.json()["next_after"]


def verifies(client: TestClient, auditor: Org, tmp_path: Path) -> bool:
    """The whole log, exported and verified offline against the published keys."""
    export = client.get("/v1/audit/export", headers=auditor.headers)
    assert export.status_code == 200, export.text
    path = tmp_path / "export.jsonl"
    path.write_bytes(export.content)
    jwks = tmp_path / "jwks.json"
    jwks.write_text(client.get("/.well-known/jwks.json").text)
    return bool(offline.verify_file(path, keys=offline.load_jwks_file(jwks)).ok)


def reads_of(client: TestClient, headers: dict[str, str], actor_id: str) -> list[dict[str, Any]]:
    """Every (kind, ids) read by `actor_id`, from its auditor.read events."""
    out: list[dict[str, Any]] = []
    for e in events(client, headers):
        if e["event"]["action"] == "auditor.read" and e["event"]["actor"] == actor_id:
            out += e["event"]["payload"]["reads"]
    return out


def test_an_auditor_reads_consents_licences_and_usages_and_each_read_is_logged(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    auditor_person: AuditorPerson,
    auditor: Org,
    holder: HolderAccount,
    admin_headers: dict[str, str],
    tmp_path: Path,
):
    licence = issue(grant)
    r = client.post(
        f"/v1/licences/{licence['id']}/usages",
        json={"usages": [usage()]},
        headers=grant.studio.headers,
    )
    assert r.status_code == 201, r.text
    [recorded] = r.json()["usages"]
    h = auditor_person.headers

    # Before: 404 on consents and licences for auditors. Now read-only access to each.
    got = client.get(f"/v1/consents/{grant.id}", headers=h)
    assert got.status_code == 200, got.text
    assert got.json()["id"] == grant.id and got.json()["holder_id"] == holder.id
    listed = client.get("/v1/consents", headers=h)
    assert listed.status_code == 200 and grant.id in {c["id"] for c in listed.json()["items"]}
    assert client.get(f"/v1/licences/{licence['id']}", headers=h).status_code == 200
    assert licence["id"] in {x["id"] for x in client.get("/v1/licences", headers=h).json()["items"]}
    usages = client.get(f"/v1/licences/{licence['id']}/usages", headers=h)
    assert usages.status_code == 200 and [u["id"] for u in usages.json()["items"]] == [
        recorded["id"]
    ]

    # Each read is an event naming what was read, by kind and id: nothing more.
    reads = reads_of(client, admin_headers, auditor_person.id)
    assert {"kind": "consent", "ids": [grant.id]} in reads
    assert {"kind": "licence", "ids": [licence["id"]]} in reads
    assert {"kind": "usage", "ids": [recorded["id"]]} in reads
    assert any(r["kind"] == "consent" and grant.id in r["ids"] for r in reads)
    logged = [e for e in events(client, admin_headers) if e["event"]["action"] == "auditor.read"]
    assert len(logged) == 5
    text = json.dumps(logged)
    assert auditor_person.email not in text and "Imogen" not in text
    # The log with the read events still verifies offline.
    assert verifies(client, auditor, tmp_path)


def test_an_auditor_cannot_write(
    client: TestClient,
    grant: Grant,
    issue: Issue,
    auditor_person: AuditorPerson,
    admin_headers: dict[str, str],
):
    licence = issue(grant)
    h = auditor_person.headers
    before = len(events(client, admin_headers))
    refused = [
        client.post(f"/v1/licences/{licence['id']}/revoke", json={"reason": "x"}, headers=h),
        client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=h),
        client.post(f"/v1/consents/{grant.id}/revoke", json={"reason": "x"}, headers=h),
        client.post("/v1/consent-requests", json={}, headers=h),
        client.post(f"/v1/licences/{licence['id']}/usages", json={"usages": []}, headers=h),
    ]
    assert [r.status_code for r in refused] == [404] * 5, [r.text for r in refused]
    assert client.get(f"/v1/licences/{licence['id']}", headers=h).json()["status"] == "active"
    assert client.get(f"/v1/consents/{grant.id}", headers=h).json()["status"] == "active"
    after = events(client, admin_headers)[before:]
    assert {e["event"]["action"] for e in after} == {"auditor.read"}


def test_an_auditor_reads_verification_cases_without_evidence_media(
    client: TestClient,
    holder: HolderAccount,
    auditor_person: AuditorPerson,
    admin_headers: dict[str, str],
):
    document = client.post(
        f"/v1/holders/{holder.id}/identity-documents",
        files={"file": ("passport.png", media.png_with_text(), "image/png")},
        data={"document_type": "passport", "issuing_country": "GB", "number_last4": "4821"},
        headers=holder.headers,
    )
    assert document.status_code == 201, document.text
    case = document.json()
    evidence_id = case["evidence"][0]["id"]
    h = auditor_person.headers
    shown = client.get(f"/v1/verifications/{case['id']}", headers=h)
    assert shown.status_code == 200, shown.text
    assert shown.json()["subject"] is None  # not the registration it is checked against
    assert [e["download"] for e in shown.json()["evidence"]] == [None]
    queue = client.get("/v1/verifications", headers=h)
    assert queue.status_code == 200 and case["id"] in {c["id"] for c in queue.json()["items"]}
    media_read = client.get(f"/v1/verifications/{case['id']}/evidence/{evidence_id}", headers=h)
    assert media_read.status_code == 404
    # Nor can an auditor review.
    review = client.post(
        f"/v1/verifications/{case['id']}/approve", json={"reason": "looks fine"}, headers=h
    )
    assert review.status_code == 404, review.text
    assert {"kind": "verification_case", "ids": [case["id"]]} in reads_of(
        client, admin_headers, auditor_person.id
    )


def test_creating_an_auditor_checks_the_organization_and_the_email(
    client: TestClient,
    admin_headers: dict[str, str],
    make_org: Callable[..., Org],
    auditor_person: AuditorPerson,
    auditor: Org,
):
    studio = make_org("studio")
    before = len(events(client, admin_headers))
    wrong_kind = client.post(
        "/v1/auditors",
        json={"organization_id": studio.id, "email": "a@b.example"},
        headers=admin_headers,
    )
    assert wrong_kind.status_code == 422 and wrong_kind.json()["code"] == (
        "not_an_auditor_organization"
    )
    taken = client.post(
        "/v1/auditors",
        json={"organization_id": auditor_person.organization.id, "email": auditor_person.email},
        headers=admin_headers,
    )
    assert taken.status_code == 409 and taken.json()["code"] == "email_already_registered"
    assert len(events(client, admin_headers)) == before
    # Only admins create auditors.
    r = client.post(
        "/v1/auditors",
        json={"organization_id": auditor.id, "email": "x@y.example"},
        headers=auditor_person.headers,
    )
    assert r.status_code == 404
    listed = client.get("/v1/auditors", headers=admin_headers).json()["items"]
    assert auditor_person.id in {a["id"] for a in listed}


def test_totp_second_factor_enrol_confirm_and_sign_in(
    client: TestClient, auditor_person: AuditorPerson, admin_headers: dict[str, str]
):
    r = client.post("/v1/auth/totp", headers=auditor_person.headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    assert r.json()["provisioning_uri"].startswith("otpauth://totp/")
    assert pyotp.parse_uri(r.json()["provisioning_uri"]).secret == secret
    # A wrong first code is refused, and the factor stays off: sign-in needs no code yet.
    bad = client.post(
        "/v1/auth/totp/confirm", json={"code": wrong_code(secret)}, headers=auditor_person.headers
    )
    assert bad.status_code == 401 and bad.json()["code"] == "totp_invalid"
    assert sign_in(client, auditor_person).status_code == 200
    # A malformed code is bad input (422), not a guess.
    malformed = client.post(
        "/v1/auth/totp/confirm", json={"code": "12ab"}, headers=auditor_person.headers
    )
    assert malformed.status_code == 422

    totp = pyotp.TOTP(secret)
    confirmed_at = time.time()
    first = totp.at(confirmed_at)
    good = client.post(
        "/v1/auth/totp/confirm", json={"code": first}, headers=auditor_person.headers
    )
    assert good.status_code == 200, good.text
    again = client.post("/v1/auth/totp", headers=auditor_person.headers)
    assert again.status_code == 409 and again.json()["code"] == "totp_already_enabled"

    # Refused codes at the token endpoint are RFC 6749 invalid_grant (what OAuth clients
    # understand), the problem code beside it saying which.
    missing = sign_in(client, auditor_person)
    wrong = sign_in(client, auditor_person, totp=wrong_code(secret))
    for r, code in ((missing, "totp_required"), (wrong, "totp_invalid")):
        assert r.status_code == 400, r.text
        assert (r.json()["error"], r.json()["code"]) == ("invalid_grant", code)
        assert r.json()["type"].endswith(f"/problems/{code}")
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("application/json")
    # A wrong password is refused as before, whatever the code: the code is not looked at.
    bad_password = client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": auditor_person.email,
            "password": "not-it",
            "totp": pyotp.TOTP(secret).now(),
        },
    )
    assert bad_password.status_code == 400 and bad_password.json()["error"] == "invalid_grant"
    assert bad_password.json()["code"] == "invalid_grant"
    # The code that confirmed the factor was used once: it does not sign in.
    reused = sign_in(client, auditor_person, totp=first)
    assert reused.status_code == 400, reused.text
    assert (reused.json()["error"], reused.json()["code"]) == ("invalid_grant", "totp_reused")
    # The next step's code does (one step either side is accepted), once.
    later = totp.at(confirmed_at, counter_offset=1)
    ok = sign_in(client, auditor_person, totp=later)
    assert ok.status_code == 200, ok.text
    for replay in (later, first):  # the same code again, or an older one
        again = sign_in(client, auditor_person, totp=replay)
        assert (again.status_code, again.json()["code"]) == (400, "totp_reused"), again.text
    token = ok.json()["access_token"]
    assert client.get("/v1/consents", headers=bearer(token)).status_code == 200
    enabled = [
        e for e in events(client, admin_headers) if e["event"]["action"] == "auditor.totp_enabled"
    ]
    assert [e["event"]["subjects"]["auditor_id"] for e in enabled] == [auditor_person.id]
    assert secret not in json.dumps(enabled)


def test_totp_is_only_for_auditor_logins(client: TestClient, holder: HolderAccount):
    assert client.post("/v1/auth/totp", headers=holder.headers).status_code == 404


def test_an_expired_auditor_key_has_its_own_problem_code(
    client: TestClient, admin_headers: dict[str, str], auditor: Org
):
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat().replace("+00:00", "Z")
    r = client.post(
        f"/v1/organizations/{auditor.id}/api-keys",
        json={"name": "short", "expires_at": soon},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    headers = bearer(r.json()["key"])
    assert client.get("/v1/consents", headers=headers).status_code == 200
    time.sleep(1.2)
    before = len(events(client, admin_headers))
    expired = client.get("/v1/consents", headers=headers)
    assert expired.status_code == 401
    assert expired.headers["content-type"] == "application/problem+json"
    assert expired.json()["code"] == "api_key_expired"
    assert len(events(client, admin_headers)) == before
    # A revoked auditor key stays a plain 401 (revocation is not expiry).
    key_id = r.json()["id"]
    other = client.post(
        f"/v1/organizations/{auditor.id}/api-keys", json={"name": "k"}, headers=admin_headers
    ).json()
    client.delete(f"/v1/organizations/{auditor.id}/api-keys/{other['id']}", headers=admin_headers)
    revoked = client.get("/v1/consents", headers=bearer(other["key"]))
    assert revoked.status_code == 401 and revoked.json()["code"] == "unauthenticated"
    assert key_id != other["id"]


def test_an_auditor_changes_the_initial_password(client: TestClient, auditor_person: AuditorPerson):
    r = client.post(
        "/v1/holders/me/password",
        json={"current_password": auditor_person.password, "new_password": "a new long secret 42"},
        headers=auditor_person.headers,
    )
    assert r.status_code == 200, r.text
    assert (
        sign_in(client, auditor_person).status_code == 400
    )  # the initial one is gone (invalid_grant)
    auditor_person.password = "a new long secret 42"
    ok = sign_in(client, auditor_person)
    assert ok.status_code == 200, ok.text
    assert client.get("/v1/consents", headers=bearer(ok.json()["access_token"])).status_code == 200
