"""Death as a lifecycle event (IDENTITY.md "Death"): POST /v1/holders/{id}/death, estates,
survives_death, through the HTTP API on the real database."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service.consents import rules
from tests.conftest import HolderAccount, Org, bearer, login, record_death
from tests.licences.test_licences import b64json, verify
from tests.vault import media
from tests.verification.conftest import VerifierAccount, approve, audit_events, stored_names

DIED = "2026-01-15"

# -- helpers -----------------------------------------------------------------------------------


def _counts(app: Any) -> dict[str, int]:
    tables = (
        "holder",
        "verification_case",
        "verification_evidence",
        "consent_grant",
        "consent_receipt",
        "audit_event",
        "login",
        "representative",
    )
    with app.state.services.engine.connect() as conn:
        return {t: conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def _executor(client: TestClient, holder: HolderAccount, admin_headers, **extra: Any):
    """An executor recorded by the admin for a living holder, logged in."""
    email = f"executor-{secrets.token_hex(4)}@example.org"
    body = {
        "kind": "executor",
        "name": "Eve Executor",
        "email": email,
        "password": "executor passphrase",
        "authority_evidence": {
            "type": "letters_testamentary",
            "reference": "LT-1",
            "issued_by": "Probate Court",
            "issued_on": "2026-01-20",
        },
        **extra,
    }
    r = client.post(f"/v1/holders/{holder.id}/representatives", json=body, headers=admin_headers)
    assert r.status_code == 201, r.text
    token = login(client, email, "executor passphrase")
    return r.json()["id"], bearer(token)


def _letters(client: TestClient, holder_id: str, rep_id: str, headers) -> dict[str, Any]:
    r = client.post(
        f"/v1/holders/{holder_id}/representatives/{rep_id}/evidence",
        files={"file": ("letters.png", media.png_with_text(), "image/png")},
        data={"document_type": "letters_testamentary"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _approved_executor(client, holder, admin_headers, verifier: VerifierAccount, **extra):
    rep_id, headers = _executor(client, holder, admin_headers, **extra)
    case = _letters(client, holder.id, rep_id, headers)
    assert approve(client, verifier, case["id"]).status_code == 200
    return rep_id, headers


def _consent(client: TestClient, grant_id: str, headers) -> dict[str, Any]:
    r = client.get(f"/v1/consents/{grant_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


# -- recording a death -------------------------------------------------------------------------


def test_a_verifier_records_a_death_grants_end_and_licences_are_revoked(
    client: TestClient, app, holder, verifier, make_grant, issue, admin_headers
):
    first, second = make_grant(), make_grant(project="Second Film")
    licence = issue(first)
    assert verify(client, licence["token"])["valid"] is True
    _rep_id, executor = _executor(client, holder, admin_headers)

    r = record_death(client, holder.id, DIED, verifier.headers)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "deceased" and out["recorded_by"] == "verifier"
    assert out["death_case"]["status"] == "approved"
    assert sorted(out["ended_consents"]) == sorted([first.id, second.id])
    assert out["cut_consents"] == []

    # The grants ended by death, their licences REVOKED online, one receipt each.
    for g in (first, second):
        consent = _consent(client, g.id, executor)
        assert consent["status"] == "ended_by_death"
        assert _consent(client, g.id, g.studio.headers)["status"] == "ended_by_death"
    verdict = verify(client, licence["token"])
    assert verdict["valid"] is False and verdict["code"] == "REVOKED"
    r = client.get(f"/v1/consents/{first.id}/receipt", headers=executor)
    assert r.status_code == 200
    assert b64json(r.json()["receipt"].split(".")[1])["consent_state"] == "ended_by_death"

    # The holder now reads as deceased; the date is stored encrypted, never in clear.
    record = client.get(f"/v1/holders/{holder.id}", headers=admin_headers).json()
    assert record["status"] == "deceased" and record["date_of_death"] == DIED
    with app.state.services.engine.connect() as conn:
        blob = conn.execute(
            sa.text("SELECT date_of_death_enc FROM holder WHERE id = :i"), {"i": holder.id}
        ).scalar_one()
    assert blob and DIED.encode() not in bytes(blob)

    # The audit log: ids only, no date of death anywhere.
    events = audit_events(client, admin_headers)
    died = [e for e in events if e["action"] == "holder.death_recorded"]
    assert len(died) == 1 and died[0]["payload"]["recorded_by"] == "verifier"
    assert sorted(died[0]["payload"]["ended_consents"]) == sorted([first.id, second.id])
    assert [e["action"] for e in events].count("consent.ended_by_death") == 2
    assert "licence.revoked" in [e["action"] for e in events]
    assert DIED not in str(events) and DIED.replace("-", "") not in str(events)
    # Consent status filters know the new state.
    r = client.get("/v1/consents", params={"status": "ended_by_death"}, headers=executor)
    assert r.status_code == 200 and len(r.json()["items"]) == 2


def test_an_approved_executor_records_the_death_and_the_estate_fetches_the_receipts(
    client: TestClient, holder, verifier, make_grant, admin_headers
):
    g = make_grant()
    rep_id, executor = _approved_executor(client, holder, admin_headers, verifier)
    r = record_death(client, holder.id, DIED, executor)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["recorded_by"] == "executor" and out["ended_consents"] == [g.id]
    # The death case waits for a verifier's after-review, in the queue.
    assert out["death_case"]["status"] == "pending"
    queue = client.get(
        "/v1/verifications", params={"status": "pending", "kind": "death"}, headers=verifier.headers
    ).json()["items"]
    assert [c["id"] for c in queue] == [out["death_case"]["id"]]
    detail = client.get(f"/v1/verifications/{queue[0]['id']}", headers=verifier.headers).json()
    assert detail["subject"]["date_of_death"] == DIED
    assert detail["evidence"][0]["download"]
    # The receipt goes to the estate: the executor fetches it with the existing route.
    r = client.get(f"/v1/consents/{g.id}/receipt", headers=executor)
    assert r.status_code == 200 and r.json()["consent_state"] == "ended_by_death"


def test_refused_recorders_and_nothing_is_stored(
    client: TestClient, app, holder, verifier, make_grant, admin_headers, studio: Org
):
    g = make_grant()
    _rep_id, unapproved = _executor(client, holder, admin_headers)
    _agent_id = client.post(
        f"/v1/holders/{holder.id}/representatives",
        json={
            "kind": "attorney",
            "name": "Al Attorney",
            "email": "attorney@example.org",
            "password": "attorney passphrase",
            "authority_evidence": {
                "type": "power_of_attorney",
                "reference": "POA-1",
                "issued_by": "Notary",
                "issued_on": "2026-01-01",
            },
        },
        headers=holder.headers,
    )
    attorney = bearer(login(client, "attorney@example.org", "attorney passphrase"))
    before, objects = _counts(app), stored_names(app)
    r = record_death(client, holder.id, DIED, unapproved)
    assert r.status_code == 403 and r.json()["code"] == "executor_not_approved"
    for who in (holder.headers, studio.headers, admin_headers, attorney):
        r = record_death(client, holder.id, DIED, who)
        assert r.status_code == 404, r.text
        assert r.headers["content-type"] == "application/problem+json"
    r = client.post(
        f"/v1/holders/{holder.id}/death", data={"date_of_death": DIED}, headers=holder.headers
    )
    assert r.status_code in (401, 404)
    assert _counts(app) == before and stored_names(app) == objects
    assert _consent(client, g.id, holder.headers)["status"] == "active"


def test_bad_dates_and_a_second_recording_are_refused_with_nothing_stored(
    client: TestClient, app, register_holder, verifier, make_grant
):
    holder = register_holder(date_of_birth="1990-05-17")
    g = make_grant(holder_account=holder)
    before, objects = _counts(app), stored_names(app)
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    for died, status, code in (
        (tomorrow, 422, "death_date_in_future"),
        ("1990-05-16", 422, "death_before_birth"),
        ("15/01/2026", 422, "invalid_death_date"),
        ("", 422, "invalid_death_date"),
    ):
        r = record_death(client, holder.id, died, verifier.headers)
        assert r.status_code == status and r.json()["code"] == code, (died, r.text)
    assert _counts(app) == before and stored_names(app) == objects
    assert _consent(client, g.id, holder.headers)["status"] == "active"

    assert record_death(client, holder.id, DIED, verifier.headers).status_code == 201
    before, objects = _counts(app), stored_names(app)
    r = record_death(client, holder.id, "2026-01-10", verifier.headers)
    assert r.status_code == 409 and r.json()["code"] == "death_already_recorded"
    assert _counts(app) == before and stored_names(app) == objects


def test_a_verifier_cannot_record_the_death_of_someone_they_represent(
    client: TestClient, register_holder, make_verifier
):
    email = f"same-{secrets.token_hex(3)}@example.org"
    holder = register_holder(email=email)
    conflicted = make_verifier(email=email)
    r = record_death(client, holder.id, DIED, conflicted.headers)
    assert r.status_code == 403 and r.json()["code"] == "verifier_conflict_of_interest"
    r = record_death(client, "hld_" + "a" * 24, DIED, conflicted.headers)
    assert r.status_code == 404


# -- survives_death ----------------------------------------------------------------------------


def test_grants_that_survive_death_are_kept_and_cut_to_the_post_mortem_end(
    client: TestClient, register_holder, verifier, make_grant, issue, admin_headers
):
    # (CA Civ. Code §3344.1: 70 years) an executor's recorded end shortens it (IDENTITY).
    holder = register_holder(jurisdiction="US-CA")
    far = (date.today() + timedelta(days=9 * 365)).isoformat() + "T00:00:00Z"
    keeps = make_grant(holder_account=holder, survives_death=True, valid_until=far)
    ends = make_grant(holder_account=holder, project="Ends")
    licence = issue(keeps)
    short = (date.today() + timedelta(days=400)).isoformat()
    _rep, executor = _approved_executor(
        client,
        holder,
        admin_headers,
        verifier,
        post_mortem_rights={"until": short, "registry": "CA SoS", "reference": "PMR-1"},
    )
    r = record_death(client, holder.id, DIED, executor)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["ended_consents"] == [ends.id] and out["cut_consents"] == [keeps.id]
    assert out["post_mortem_rights_until"] == short
    kept = _consent(client, keeps.id, executor)
    assert kept["status"] == "active" and kept["valid_until"].startswith(short)
    assert kept["terms"]["survives_death"] is True
    assert verify(client, licence["token"])["valid"] is True
    r = client.get(f"/v1/consents/{keeps.id}/receipt", headers=executor)
    claims = b64json(r.json()["receipt"].split(".")[1])
    assert claims["consent_state"] == "active"
    assert claims["valid_until"].startswith(short)
    assert claims["services"][0]["purposes"][0]["termination"].startswith(f"ends {short}")
    # The cut is an event of its own on the receipt, the consent still given.
    cut = claims["iso27560"]["events"][-1]
    assert (cut["action"], cut["event_state"]) == (
        "consent.cut_to_post_mortem_end",
        "dpv:ConsentGiven",
    )
    assert cut["validity_duration"]["until"].startswith(short)


def test_the_executor_may_shorten_never_lengthen_the_law(
    client: TestClient, register_holder, verifier, make_grant, admin_headers
):
    # (TN ELVIS Act: 10 computable years) an executor's later date does not lengthen it.
    holder = register_holder(jurisdiction="US-TN")
    far = (date.today() + timedelta(days=9 * 365)).isoformat() + "T00:00:00Z"
    g = make_grant(holder_account=holder, survives_death=True, valid_until=far)
    _rep, executor = _approved_executor(
        client,
        holder,
        admin_headers,
        verifier,
        post_mortem_rights={"until": "2090-01-01", "registry": "TN", "reference": "PMR-2"},
    )
    died = (date.today() - timedelta(days=365 * 8)).isoformat()
    r = record_death(client, holder.id, died, executor)
    assert r.status_code == 201, r.text
    law = rules.post_mortem_rights_until("US-TN", date.fromisoformat(died))
    assert law is not None and r.json()["post_mortem_rights_until"] == law.isoformat()
    assert r.json()["cut_consents"] == [g.id]
    assert _consent(client, g.id, executor)["valid_until"].startswith(law.isoformat())


def test_a_surviving_grant_ends_where_the_law_gives_no_post_mortem_rights(
    client: TestClient, holder, verifier, make_grant, issue
):
    # GB is not in the table (IDENTITY "Death"): no post-mortem grant, so it ends too.
    g = make_grant(survives_death=True)
    licence = issue(g)
    r = record_death(client, holder.id, DIED, verifier.headers)
    assert r.status_code == 201 and r.json()["ended_consents"] == [g.id]
    assert r.json()["post_mortem_rights_until"] is None
    assert verify(client, licence["token"])["code"] == "REVOKED"


def test_the_notice_says_whether_the_consent_survives_death(
    client: TestClient, register_holder, studio: Org
):
    from tests.licences.conftest import grant_terms

    def notice_of(holder_id: str, **terms: Any) -> dict[str, Any]:
        r = client.post(
            "/v1/consent-requests",
            json={"holder_id": holder_id, "terms": grant_terms(**terms)},
            headers=studio.headers,
        )
        assert r.status_code == 201, r.text
        return dict(r.json()["notice"])

    ca = register_holder(jurisdiction="US-CA")
    gb = register_holder(jurisdiction="GB")
    ends = notice_of(ca.id)
    survives = notice_of(ca.id, survives_death=True)
    no_rights = notice_of(gb.id, survives_death=True)
    assert ends["template_version"] == "2026-11-v3"
    assert "If you die: this consent does not survive your death." in ends["text"]
    text = " ".join(survives["text"].split())
    assert "this consent survives your death" in text
    assert "70 years after your death under the law of US-CA (Cal. Civ. Code §3344.1)" in text
    assert "gives no post-mortem right" in " ".join(no_rights["text"].split())
    # The hash binds it: the same terms but survives_death differ in their notice hash.
    assert len({ends["sha256"], survives["sha256"]}) == 2


# -- registration ------------------------------------------------------------------------------


def _estate_body(**executor: Any) -> dict[str, Any]:
    return {
        "deceased": {
            "legal_name": "Marlon Oldstar",
            "date_of_birth": "1931-02-08",
            "jurisdiction": "US-CA",
        },
        "executor": {
            "name": "Eve Executor",
            "email": f"estate-{secrets.token_hex(4)}@example.org",
            "password": "executor passphrase",
            "authority_evidence": {
                "type": "letters_testamentary",
                "reference": "LT-2026-7",
                "issued_by": "Superior Court of California",
                "issued_on": "2026-02-01",
            },
            **executor,
        },
    }


def test_an_executor_registers_the_estate_and_acts_only_once_approved(
    client: TestClient, app, verifier, studio: Org, admin_headers
):
    body = _estate_body()
    r = client.post("/v1/estates", json=body)
    assert r.status_code == 201, r.text
    holder_id, rep_id = r.json()["holder_id"], r.json()["executor_id"]
    assert r.json()["death_recorded"] is False
    executor = bearer(login(client, body["executor"]["email"], "executor passphrase"))
    # Before approval: can sign in, cannot record the death.
    r = record_death(client, holder_id, "2026-01-03", executor)
    assert r.status_code == 403 and r.json()["code"] == "executor_not_approved"
    case = _letters(client, holder_id, rep_id, executor)
    assert approve(client, verifier, case["id"]).status_code == 200
    r = record_death(client, holder_id, "2026-01-03", executor)
    assert r.status_code == 201, r.text
    assert r.json()["post_mortem_rights_until"] == "2096-01-03"  # (CA: 70 years)
    record = client.get(f"/v1/holders/{holder_id}", headers=admin_headers).json()
    assert record["status"] == "deceased" and record["email"] == ""
    actions = [e["action"] for e in audit_events(client, admin_headers)]
    assert "holder.estate_registered" in actions and "holder.registered" not in actions


def test_a_bad_estate_registration_stores_nothing(client: TestClient, app, register_holder):
    taken = register_holder()
    before = _counts(app)
    bad = [
        {**_estate_body(), "deceased": {**_estate_body()["deceased"], "jurisdiction": "XX"}},
        {
            **_estate_body(),
            "deceased": {**_estate_body()["deceased"], "date_of_birth": "2999-01-01"},
        },
        _estate_body(password="short"),
        {"deceased": _estate_body()["deceased"]},
    ]
    for b in bad:
        r = client.post("/v1/estates", json=b)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", r.text
    r = client.post("/v1/estates", json=_estate_body(email=taken.email))
    assert r.status_code == 409 and r.json()["code"] == "email_already_registered"
    assert _counts(app) == before


def test_once_dead_the_holders_own_login_and_tokens_are_refused_and_the_executor_acts(
    client: TestClient, app, holder, verifier, make_grant, admin_headers
):
    from tests.portal.conftest import Portal

    g = make_grant()
    _rep_id, executor = _executor(client, holder, admin_headers)
    browser = Portal(app)
    try:
        assert browser.login(holder.email, holder.password).status_code == 303
        assert browser.get("/portal").status_code == 200
        assert client.get("/v1/holders/me", headers=holder.headers).status_code == 200

        assert record_death(client, holder.id, DIED, verifier.headers).status_code == 201

        # The token issued before the death stops working, with its own problem.
        r = client.get("/v1/holders/me", headers=holder.headers)
        assert r.status_code == 403 and r.json()["code"] == "holder_deceased"
        assert r.headers["content-type"].startswith("application/problem+json")
        r = client.get(f"/v1/consents/{g.id}", headers=holder.headers)
        assert r.status_code == 403 and r.json()["code"] == "holder_deceased"
        # Signing in again with the right password: refused the same way (and a wrong
        # password still says only that the credentials are wrong).
        r = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": holder.email, "password": holder.password},
        )
        # An OAuth client reads it as invalid_grant; the problem code says why.
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        assert r.json()["code"] == "holder_deceased"
        assert "access_token" not in r.text
        r = client.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": holder.email, "password": "wrong!"},
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
        # The portal: the open session ends (to the login page), and signing in says why.
        assert browser.get("/portal").status_code == 303
        r = browser.login(holder.email, holder.password)
        assert r.status_code == 403 and "records the death" in r.text
        assert "consent_portal=" not in r.headers.get("set-cookie", "")
    finally:
        browser.close()
    # The executor acts for the estate.
    assert _consent(client, g.id, executor)["status"] == "ended_by_death"
