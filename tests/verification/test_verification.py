"""Verified signers (issue 10): the verifier role, live capture, identity documents, authority
evidence, court approvals, the review queue and the computed assurance level."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.db import utcnow
from consent_service.verification import service as verification
from consent_service.verification.models import Challenge
from consent_service.verification.words import WORDS
from tests.conftest import bearer
from tests.consents.conftest import ask, make_terms
from tests.vault import media
from tests.verification.conftest import (
    approve,
    audit_events,
    capture,
    challenge,
    identity_document,
    stored_names,
)


def _counts(app: Any) -> dict[str, int]:
    with app.state.services.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
            for t in ("verification_case", "verification_evidence")
        }


# -- the verifier role ------------------------------------------------------------------------


def test_admin_creates_a_verifier_whose_key_opens_the_queue_and_nothing_else(
    client: TestClient, admin_headers, holder, studio, make_verifier
):
    verifier = make_verifier()
    r = client.get("/v1/verifications", params={"status": "pending"}, headers=verifier.headers)
    assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
    listed = client.get("/v1/verifiers", headers=admin_headers).json()["items"]
    assert [v["id"] for v in listed] == [verifier.id]
    # No holder listing, no holder record, no export, no audit log.
    for path in (
        f"/v1/holders/{holder.id}",
        f"/v1/holders/{holder.id}/export",
        f"/v1/holders/{holder.id}/references",
        "/v1/audit/export",
        "/v1/audit/events",
        "/v1/organizations",
    ):
        r = client.get(path, headers=verifier.headers)
        assert r.status_code == 404, (path, r.status_code)
    # Only an admin creates verifiers; the body is validated.
    for headers in (holder.headers, studio.headers, verifier.headers):
        r = client.post(
            "/v1/verifiers", json={"name": "x", "email": "x@example.org"}, headers=headers
        )
        assert r.status_code == 404
    r = client.post("/v1/verifiers", json={"name": "x", "email": "nope"}, headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == "validation_error"
    # A revoked verifier key stops working.
    assert client.delete(f"/v1/verifiers/{verifier.id}", headers=admin_headers).status_code == 204
    r = client.get("/v1/verifications", headers=verifier.headers)
    assert r.status_code == 401


def test_cli_creates_a_verifier_key(settings, client: TestClient, monkeypatch):
    from typer.testing import CliRunner

    from consent_service.cli import app as cli
    from consent_service.config import get_settings

    monkeypatch.setenv("CONSENT_ENV", "development")
    monkeypatch.setenv("CONSENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSENT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("CONSENT_MASTER_KEY", settings.master_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            cli, ["accounts", "create-verifier", "--name", "Vic", "--email", "vic@registry.example"]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("csk_")
    assert client.get("/v1/verifications", headers=bearer(key)).status_code == 200


def test_queue_routes_answer_404_to_everyone_but_verifiers(
    client: TestClient, admin_headers, holder, studio, auditor
):
    for headers in (admin_headers, holder.headers, studio.headers, auditor.headers):
        if headers is not auditor.headers:  # auditors read cases (tests/auditors)
            assert client.get("/v1/verifications", headers=headers).status_code == 404
        assert client.get("/v1/verifications/vfc_x", headers=headers).status_code == 404
        r = client.post("/v1/verifications/vfc_x/approve", json={"reason": "x"}, headers=headers)
        assert r.status_code == 404
    assert client.get("/v1/verifications", headers=auditor.headers).status_code == 200
    assert client.get("/v1/verifications").status_code == 401


# -- live capture -----------------------------------------------------------------------------


def test_challenge_is_six_listed_words_valid_ten_minutes_and_stored_only_as_a_hash(
    client: TestClient, app, holder, register_holder, studio
):
    before = utcnow()
    body = challenge(client, holder)
    words = body["phrase"].split(" ")
    assert len(words) == 6 and all(w in WORDS for w in words)
    assert body["purpose"] == "liveness" and body["id"].startswith("chl_")
    expires = body["expires_at"]
    from datetime import datetime

    delta = datetime.fromisoformat(expires.replace("Z", "+00:00")) - before
    assert timedelta(minutes=9) < delta <= timedelta(minutes=10, seconds=5)
    with app.state.services.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM verification_challenge")).mappings().one()
    assert body["phrase"] not in str(dict(row))
    assert row["phrase_sha256"] == verification.phrase_sha256(body["phrase"])
    # The API.md name answers too.
    r = client.post(f"/v1/holders/{holder.id}/verification-challenges", headers=holder.headers)
    assert r.status_code == 201 and r.json()["purpose"] == "liveness"
    # Someone else's holder, a studio, a bad purpose, an unknown request.
    other = register_holder()
    assert (
        client.post(f"/v1/holders/{holder.id}/challenges", headers=other.headers).status_code == 404
    )
    assert (
        client.post(f"/v1/holders/{holder.id}/challenges", headers=studio.headers).status_code
        == 404
    )
    r = client.post(
        f"/v1/holders/{holder.id}/challenges", json={"purpose": "anything"}, headers=holder.headers
    )
    assert r.status_code == 422
    r = client.post(
        f"/v1/holders/{holder.id}/challenges",
        json={"purpose": "grant:req_aaaaaaaaaaaaaaaaaaaaaaaa"},
        headers=holder.headers,
    )
    assert r.status_code == 404 and r.json()["code"] == "consent_request_not_found"


def test_challenge_for_a_grant_names_the_request(client: TestClient, holder, studio):
    req = ask(client, studio, holder.id).json()
    body = challenge(client, holder, purpose=f"grant:{req['id']}")
    r = capture(client, holder, body["id"])
    assert r.status_code == 201, r.text
    assert r.json()["request_id"] == req["id"]
    assert r.json()["details"]["purpose"] == f"grant:{req['id']}"


def test_capture_opens_a_liveness_case_with_the_cleaned_media_encrypted_in_the_vault(
    client: TestClient, app, holder, verifier
):
    chl = challenge(client, holder)
    r = capture(client, holder, chl["id"])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["kind"] == "liveness" and case["status"] == "pending"
    assert case["details"]["challenge_id"] == chl["id"]
    assert "phrase_sha256" not in case["details"]
    assert case["evidence"][0]["content_type"] == "audio/wav"
    assert "riff_list" in case["evidence"][0]["stripped_metadata"]
    names = stored_names(app)
    assert names == [f"{holder.id}/{case['evidence'][0]['id']}"]
    raw = b"".join(app.state.services.vault_storage.get(names[0]))
    assert media.OWNER.encode() not in raw and b"RIFF" not in raw, "stored encrypted"
    # The holder's references are not polluted by evidence.
    refs = client.get(f"/v1/holders/{holder.id}/references", headers=holder.headers).json()
    assert refs["items"] == []
    # The verifier downloads the cleaned content through the case's link.
    detail = client.get(f"/v1/verifications/{case['id']}", headers=verifier.headers).json()
    link = detail["evidence"][0]["download"]
    assert link == f"/v1/verifications/{case['id']}/evidence/{case['evidence'][0]['id']}"
    assert detail["subject"] is None, "a capture's review needs no registration data"
    content = client.get(link, headers=verifier.headers)
    assert content.status_code == 200 and content.content.startswith(b"RIFF")
    assert media.OWNER.encode() not in content.content


def test_reused_challenge_is_refused_and_stores_nothing(client: TestClient, app, holder):
    chl = challenge(client, holder)
    assert capture(client, holder, chl["id"]).status_code == 201
    before, names = _counts(app), stored_names(app)
    r = capture(client, holder, chl["id"])
    assert r.status_code == 409 and r.json()["code"] == "challenge_already_used"
    assert r.headers["content-type"] == "application/problem+json"
    assert _counts(app) == before and stored_names(app) == names


def test_expired_challenge_is_refused_and_stores_nothing(client: TestClient, app, holder):
    chl = challenge(client, holder)
    with Session(app.state.services.engine) as session:
        row = session.get(Challenge, chl["id"])
        assert row is not None
        row.expires_at = utcnow() - timedelta(seconds=1)
        session.add(row)
        session.commit()
    r = capture(client, holder, chl["id"])
    assert r.status_code == 409 and r.json()["code"] == "challenge_expired"
    assert _counts(app) == {"verification_case": 0, "verification_evidence": 0}
    assert stored_names(app) == []


def test_capture_of_an_image_or_a_non_media_file_is_refused_and_the_challenge_stays_usable(
    client: TestClient, app, holder
):
    chl = challenge(client, holder)
    r = capture(client, holder, chl["id"], media.png_with_text())
    assert r.status_code == 415 and r.json()["code"] == "wrong_media_type"
    r = capture(client, holder, chl["id"], b"%PDF-1.7 not a capture at all")
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type"
    assert _counts(app) == {"verification_case": 0, "verification_evidence": 0}
    assert stored_names(app) == []
    assert capture(client, holder, chl["id"]).status_code == 201


def test_capture_for_an_unknown_or_someone_elses_challenge_is_404(
    client: TestClient, app, holder, register_holder
):
    other = register_holder()
    theirs = challenge(client, other)
    r = capture(client, holder, theirs["id"])
    assert r.status_code == 404 and r.json()["code"] == "challenge_not_found"
    r = capture(client, holder, theirs["id"], headers=other.headers)
    assert r.status_code == 404, "uploading to someone else's holder"
    r = client.post(
        f"/v1/holders/{holder.id}/captures",
        files={"file": ("c.wav", media.wav_with_info(), "audio/wav")},
        headers=holder.headers,
    )
    assert r.status_code == 422 and "challenge_id" in r.json()["detail"]
    assert stored_names(app) == []


def test_capture_too_large_is_refused_while_arriving(client: TestClient, app, holder, settings):
    app.state.services = replace(
        app.state.services,
        settings=settings.model_copy(update={"vault_max_audio_bytes": 2048}),
    )
    chl = challenge(client, holder)
    r = capture(client, holder, chl["id"], media.wav_with_info(seconds=1.0))
    assert r.status_code == 413 and r.json()["code"] == "evidence_too_large"
    assert stored_names(app) == [] and _counts(app)["verification_case"] == 0


# -- review -----------------------------------------------------------------------------------


def test_liveness_approval_needs_the_heard_phrase_and_happens_once(
    client: TestClient, admin_headers, holder, verifier
):
    chl = challenge(client, holder)
    case_id = capture(client, holder, chl["id"]).json()["id"]
    r = approve(client, verifier, case_id)
    assert r.status_code == 422 and r.json()["code"] == "heard_phrase_required"
    r = approve(client, verifier, case_id, heard_phrase="apple apple apple apple apple apple")
    assert r.status_code == 409 and r.json()["code"] == "phrase_mismatch"
    # Case and spacing of what the verifier typed do not matter.
    r = approve(client, verifier, case_id, heard_phrase="  " + chl["phrase"].upper() + " ")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["reviewed_by"] == verifier.id
    r = approve(client, verifier, case_id, heard_phrase=chl["phrase"])
    assert r.status_code == 409 and r.json()["code"] == "case_already_decided"
    r = client.post(
        f"/v1/verifications/{case_id}/reject", json={"reason": "x"}, headers=verifier.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "case_already_decided"
    r = client.post(f"/v1/verifications/{case_id}/reject", json={}, headers=verifier.headers)
    assert r.status_code == 422
    assert approve(client, verifier, "vfc_unknown").status_code == 404


def test_queue_filters_by_status_and_pages_with_a_cursor(
    client: TestClient, holder, register_holder, verifier
):
    ids = []
    for who in (holder, register_holder(), register_holder()):
        ids.append(capture(client, who, challenge(client, who)["id"]).json()["id"])
    r = client.post(
        f"/v1/verifications/{ids[0]}/reject", json={"reason": "blurred"}, headers=verifier.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"status": "pending", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/verifications", params=params, headers=verifier.headers).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids[1:]
    rejected = client.get(
        "/v1/verifications", params={"status": "rejected"}, headers=verifier.headers
    ).json()["items"]
    assert [c["id"] for c in rejected] == ids[:1] and rejected[0]["reason"] == "blurred"
    r = client.get("/v1/verifications", params={"status": "nope"}, headers=verifier.headers)
    assert r.status_code == 422
    r = client.get("/v1/verifications", params={"cursor": "!!"}, headers=verifier.headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"


def test_verifier_cannot_review_a_case_about_themselves_or_a_holder_they_represent(
    client: TestClient, register_holder, make_verifier, admin_headers
):
    holder = register_holder()
    myself = make_verifier(email=holder.email.upper())  # the same person, whatever the case
    case_id = identity_document(client, holder).json()["id"]
    for r in (
        client.get(f"/v1/verifications/{case_id}", headers=myself.headers),
        approve(client, myself, case_id),
        client.post(
            f"/v1/verifications/{case_id}/reject", json={"reason": "x"}, headers=myself.headers
        ),
    ):
        assert r.status_code == 403 and r.json()["code"] == "verifier_conflict_of_interest"
    # A verifier who is the holder's agent.
    agent_email = "agent-of-holder@example.org"
    r = client.post(
        f"/v1/holders/{holder.id}/representatives",
        json={
            "kind": "agent",
            "name": "Ann Agent",
            "email": agent_email,
            "password": "representative passphrase",
            "authority_evidence": {
                "type": "agency_agreement",
                "reference": "AG-1",
                "issued_by": "Agency",
                "issued_on": "2026-01-01",
            },
        },
        headers=holder.headers,
    )
    assert r.status_code == 201, r.text
    agent_verifier = make_verifier(email=agent_email)
    r = approve(client, agent_verifier, case_id)
    assert r.status_code == 403 and r.json()["code"] == "verifier_conflict_of_interest"
    # Nothing changed; an unrelated verifier may decide it.
    assert approve(client, make_verifier(), case_id).json()["status"] == "approved"


# -- identity documents and the assurance level -----------------------------------------------


def test_identity_document_is_deleted_from_the_vault_once_reviewed(
    client: TestClient, app, holder, verifier
):
    r = identity_document(client, holder, number_last4="ab12", issuing_country="fr")
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["details"] == {
        "document_type": "passport",
        "issuing_country": "FR",
        "number_last4": "AB12",
    }
    evidence_id = case["evidence"][0]["id"]
    assert stored_names(app) == [f"{holder.id}/{evidence_id}"]
    detail = client.get(f"/v1/verifications/{case['id']}", headers=verifier.headers).json()
    assert detail["subject"] == {
        "legal_name": holder.body["legal_name"],
        "date_of_birth": holder.body["date_of_birth"],
        "jurisdiction": holder.body["jurisdiction"],
        "date_of_death": None,
    }
    assert detail["assurance"] == "self_asserted"
    link = detail["evidence"][0]["download"]
    assert client.get(link, headers=verifier.headers).content.startswith(b"\x89PNG")

    r = approve(client, verifier, case["id"])
    assert r.status_code == 200
    assert stored_names(app) == [], "the document image is gone from the store"
    with app.state.services.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM verification_evidence")).mappings().one()
    assert row["wrapped_key"] is None and row["deleted_at"] is not None
    assert len(row["content_hmac"]) == 64, "its hash stays"
    detail = client.get(f"/v1/verifications/{case['id']}", headers=verifier.headers).json()
    assert detail["evidence"][0]["deleted"] is True and detail["evidence"][0]["download"] is None
    assert detail["details"]["number_last4"] == "AB12" and detail["status"] == "approved"
    assert detail["subject"] is None, "no registration data once decided"
    r = client.get(link, headers=verifier.headers)
    assert r.status_code == 410 and r.json()["code"] == "evidence_deleted"


def test_rejected_identity_document_is_deleted_too(client: TestClient, app, holder, verifier):
    case_id = identity_document(client, holder).json()["id"]
    r = client.post(
        f"/v1/verifications/{case_id}/reject",
        json={"reason": "name does not match"},
        headers=verifier.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert stored_names(app) == []
    me = client.get(f"/v1/holders/{holder.id}", headers=holder.headers).json()
    assert me["assurance"] == "self_asserted"
    mine = client.get(f"/v1/holders/{holder.id}/verifications", headers=holder.headers).json()
    assert mine["items"][0]["reason"] == "name does not match", "the holder is told why"


def test_identity_document_bad_fields_and_types_store_nothing(client: TestClient, app, holder):
    cases = [
        ({"issuing_country": "XX"}, None, 422, "invalid_document_field"),
        ({"issuing_country": "GBR"}, None, 422, "invalid_document_field"),
        ({"document_type": "library_card"}, None, 422, "invalid_document_field"),
        ({"number_last4": "12"}, None, 422, "invalid_document_field"),
        ({}, media.wav_with_info(), 415, "wrong_media_type"),
    ]
    for fields, data, status, code in cases:
        r = identity_document(client, holder, data, **fields)
        assert (r.status_code, r.json()["code"]) == (status, code), (fields, r.text)
    r = client.post(
        f"/v1/holders/{holder.id}/identity-documents",
        files={"file": ("p.png", media.png_with_text(), "image/png")},
        data={"document_type": "passport"},
        headers=holder.headers,
    )
    assert r.status_code == 422
    r = client.post(f"/v1/holders/{holder.id}/identity-documents", json={}, headers=holder.headers)
    assert r.status_code == 415
    assert stored_names(app) == [] and _counts(app)["verification_case"] == 0


def test_assurance_rises_with_approvals_and_falls_when_evidence_is_withdrawn(
    client: TestClient, admin_headers, holder, studio, auditor, register_holder, verifier
):
    def level(headers: dict[str, str]) -> str:
        r = client.get(f"/v1/holders/{holder.id}/assurance", headers=headers)
        assert r.status_code == 200, r.text
        return str(r.json()["assurance"])

    assert level(holder.headers) == "self_asserted"
    chl = challenge(client, holder)
    live_id = capture(client, holder, chl["id"]).json()["id"]
    approve(client, verifier, live_id, heard_phrase=chl["phrase"])
    assert level(holder.headers) == "self_asserted", "a capture alone proves no identity"
    doc_id = identity_document(client, holder).json()["id"]
    approve(client, verifier, doc_id)
    assert level(auditor.headers) == "liveness_verified"
    assert level(admin_headers) == "liveness_verified"
    me = client.get(f"/v1/holders/{holder.id}", headers=holder.headers).json()
    assert me["assurance"] == "liveness_verified"
    # A studio sees it only once it has asked the holder.
    assert (
        client.get(f"/v1/holders/{holder.id}/assurance", headers=studio.headers).status_code == 404
    )
    ask(client, studio, holder.id)
    public = client.get(f"/v1/holders/{holder.id}", headers=studio.headers).json()
    assert public == {
        "id": holder.id,
        "status": "living_adult",
        "verification": "liveness_verified",
        "assurance": "liveness_verified",
    }
    assert level(studio.headers) == "liveness_verified"
    other = register_holder()
    assert (
        client.get(f"/v1/holders/{holder.id}/assurance", headers=other.headers).status_code == 404
    )
    # Withdrawing the approved capture lowers the level; withdrawing twice is refused.
    r = client.post(
        f"/v1/holders/{holder.id}/verifications/{live_id}/withdraw", json={}, headers=holder.headers
    )
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    assert level(holder.headers) == "document_verified"
    r = client.post(
        f"/v1/holders/{holder.id}/verifications/{live_id}/withdraw", headers=holder.headers
    )
    assert r.status_code == 409 and r.json()["code"] == "case_not_withdrawable"
    r = client.post(
        f"/v1/holders/{other.id}/verifications/{doc_id}/withdraw", headers=other.headers
    )
    assert r.status_code == 404


def test_every_state_change_is_audited_with_case_kind_and_level_never_personal_data(
    client: TestClient, admin_headers, holder, verifier
):
    chl = challenge(client, holder)
    live_id = capture(client, holder, chl["id"]).json()["id"]
    doc_id = identity_document(client, holder).json()["id"]
    approve(client, verifier, doc_id)
    client.post(
        f"/v1/verifications/{live_id}/reject", json={"reason": "too dark"}, headers=verifier.headers
    )
    client.post(f"/v1/holders/{holder.id}/verifications/{doc_id}/withdraw", headers=holder.headers)
    events = [e for e in audit_events(client, admin_headers) if e["action"].startswith("verif")]
    summary = [
        (e["action"], e["subjects"]["verification_case_id"], e["payload"]["kind"]) for e in events
    ]
    assert summary == [
        ("verification.requested", live_id, "liveness"),
        ("verification.requested", doc_id, "identity_document"),
        ("verification.approved", doc_id, "identity_document"),
        ("verification.rejected", live_id, "liveness"),
        ("verification.withdrawn", doc_id, "identity_document"),
    ]
    levels = {e["action"]: e["payload"].get("assurance") for e in events}
    assert levels["verification.approved"] == "document_verified"
    assert levels["verification.withdrawn"] == "self_asserted"
    text = str(events)
    for secret in (holder.body["legal_name"], holder.email, chl["phrase"], "4821", "too dark"):
        assert secret not in text


# -- authority and court approval -------------------------------------------------------------


def _add_rep(
    client: TestClient, holder_id: str, kind: str, headers: dict[str, str]
) -> dict[str, Any]:
    import secrets

    email = f"{kind}-{secrets.token_hex(4)}@example.org"
    r = client.post(
        f"/v1/holders/{holder_id}/representatives",
        json={
            "kind": kind,
            "name": f"A {kind}",
            "email": email,
            "password": "representative passphrase",
            "authority_evidence": {
                "type": {
                    "guardian": "court_order",
                    "attorney": "power_of_attorney",
                    "agent": "agency_agreement",
                }[kind],
                "reference": "DOC-1",
                "issued_by": "A Court",
                "issued_on": "2026-01-01",
            },
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    token = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": "representative passphrase"},
    ).json()["access_token"]
    return {"id": r.json()["id"], "headers": bearer(token)}


def _upload_authority(client: TestClient, holder_id: str, rep_id: str, headers, **form: str):
    return client.post(
        f"/v1/holders/{holder_id}/representatives/{rep_id}/evidence",
        files={"file": ("poa.jpg", media.jpeg_with_gps(), "image/jpeg")},
        data={"document_type": "power_of_attorney", **form},
        headers=headers,
    )


def test_authority_evidence_approval_marks_the_representative_approved(
    client: TestClient, app, holder, register_holder, verifier
):
    attorney = _add_rep(client, holder.id, "attorney", holder.headers)
    agent = _add_rep(client, holder.id, "agent", holder.headers)
    with Session(app.state.services.engine) as session:
        assert not verification.representative_authority_approved(session, attorney["id"])
    # Someone else's representative, another representative's case, a bad document type.
    other = register_holder()
    r = _upload_authority(client, holder.id, attorney["id"], other.headers)
    assert r.status_code == 404
    r = _upload_authority(client, other.id, attorney["id"], other.headers)
    assert r.status_code == 404 and r.json()["code"] == "representative_not_found"
    r = _upload_authority(client, holder.id, attorney["id"], agent["headers"])
    assert r.status_code == 404 and r.json()["code"] == "representative_not_found"
    r = _upload_authority(client, holder.id, attorney["id"], holder.headers, document_type="x")
    assert r.status_code == 422 and r.json()["code"] == "invalid_document_field"
    assert stored_names(app) == []
    # The attorney uploads their own power of attorney; EXIF (GPS, serial) is stripped.
    r = _upload_authority(client, holder.id, attorney["id"], attorney["headers"])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["kind"] == "representative_authority"
    assert case["representative_id"] == attorney["id"]
    assert {"exif.gps", "exif.serial_numbers"} <= set(case["evidence"][0]["stripped_metadata"])
    r = approve(client, verifier, case["id"])
    assert r.status_code == 200
    assert len(stored_names(app)) == 1, "authority evidence is kept (it may be challenged)"
    with Session(app.state.services.engine) as session:
        assert verification.representative_authority_approved(session, attorney["id"])
        assert not verification.representative_authority_approved(session, agent["id"])
    # Revoking the representative ends it.
    r = client.delete(
        f"/v1/holders/{holder.id}/representatives/{attorney['id']}", headers=holder.headers
    )
    assert r.status_code == 204
    with Session(app.state.services.engine) as session:
        assert not verification.representative_authority_approved(session, attorney["id"])


def _minor_with_guardian(client: TestClient, register_holder, admin_headers):
    today = date.today()
    minor = register_holder(date_of_birth=today.replace(year=today.year - 15).isoformat())
    guardian = _add_rep(client, minor.id, "guardian", admin_headers)
    return minor, guardian


def _court_approval(client: TestClient, request_id: str, headers, **form: str):
    body = {
        "document_date": date.today().isoformat(),
        "names_request_id": request_id,
        "court": "Family Court at Leeds",
    }
    body.update(form)
    return client.post(
        f"/v1/consent-requests/{request_id}/court-approval",
        files={"file": ("order.png", media.png_with_text(), "image/png")},
        data=body,
        headers=headers,
    )


def test_court_approval_is_evidence_dated_no_later_than_today_naming_the_request(
    client: TestClient, app, register_holder, admin_headers, studio, verifier
):
    minor, guardian = _minor_with_guardian(client, register_holder, admin_headers)
    req = ask(client, studio, minor.id, **{"valid_until": make_terms()["valid_until"]}).json()
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    r = _court_approval(client, req["id"], guardian["headers"], document_date=tomorrow)
    assert r.status_code == 422 and r.json()["code"] == "document_date_in_future"
    r = _court_approval(client, req["id"], guardian["headers"], names_request_id="req_other")
    assert r.status_code == 422 and r.json()["code"] == "invalid_document_field"
    r = _court_approval(client, req["id"], guardian["headers"], document_date="soon")
    assert r.status_code == 422 and r.json()["code"] == "invalid_document_field"
    # Only the minor's guardian: not the minor, not the studio, not someone else's guardian.
    for headers in (minor.headers, studio.headers):
        assert _court_approval(client, req["id"], headers).status_code == 404
    _other_minor, other_guardian = _minor_with_guardian(client, register_holder, admin_headers)
    r = _court_approval(client, req["id"], other_guardian["headers"])
    assert r.status_code == 404 and r.json()["code"] == "consent_request_not_found"
    assert stored_names(app) == [] and _counts(app)["verification_case"] == 0

    r = _court_approval(client, req["id"], guardian["headers"])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["kind"] == "court_approval" and case["request_id"] == req["id"]
    assert case["representative_id"] == guardian["id"]
    with Session(app.state.services.engine) as session:
        assert not verification.court_approval_approved(session, req["id"])
    assert approve(client, verifier, case["id"]).status_code == 200
    with Session(app.state.services.engine) as session:
        assert verification.court_approval_approved(session, req["id"])


def test_minor_login_cannot_add_or_remove_its_guardian_but_an_adult_may_appoint_an_agent(
    client: TestClient, register_holder, admin_headers, holder
):
    today = date.today()
    minor = register_holder(date_of_birth=today.replace(year=today.year - 16).isoformat())
    r = client.post(
        f"/v1/holders/{minor.id}/representatives",
        json={
            "kind": "guardian",
            "name": "Self Appointed",
            "email": "self-appointed@example.org",
            "password": "representative passphrase",
            "authority_evidence": {
                "type": "parental_responsibility",
                "reference": "X",
                "issued_by": "X",
                "issued_on": "2026-01-01",
            },
        },
        headers=minor.headers,
    )
    assert r.status_code == 403 and r.json()["code"] == "minor_cannot_manage_guardian"
    guardian = _add_rep(client, minor.id, "guardian", admin_headers)
    r = client.delete(
        f"/v1/holders/{minor.id}/representatives/{guardian['id']}", headers=minor.headers
    )
    assert r.status_code == 403 and r.json()["code"] == "minor_cannot_manage_guardian"
    reps = client.get(f"/v1/holders/{minor.id}/representatives", headers=admin_headers).json()
    assert [rep["id"] for rep in reps["items"]] == [guardian["id"]], "nothing changed"
    # An adult appoints an agent and an attorney for themselves.
    _add_rep(client, holder.id, "agent", holder.headers)
    _add_rep(client, holder.id, "attorney", holder.headers)


def test_export_lists_the_holders_cases_and_erasure_forgets_their_evidence_and_details(
    client: TestClient, app, holder, verifier
):
    chl = challenge(client, holder)
    live_id = capture(client, holder, chl["id"]).json()["id"]
    doc_id = identity_document(client, holder).json()["id"]
    approve(client, verifier, doc_id)
    export = client.get(f"/v1/holders/{holder.id}/export", headers=holder.headers).json()
    cases = {c["id"]: c for c in export["verification_cases"]}
    assert cases[doc_id]["details"]["number_last4"] == "4821" and cases[doc_id]["status"] == (
        "approved"
    )
    assert cases[live_id]["evidence"][0]["deleted"] is False
    assert len(stored_names(app)) == 1
    assert client.delete(f"/v1/holders/{holder.id}", headers=holder.headers).status_code == 200
    assert stored_names(app) == []
    with app.state.services.engine.connect() as conn:
        details = conn.execute(sa.text("SELECT details, reason FROM verification_case")).all()
        keys = conn.execute(sa.text("SELECT wrapped_key FROM verification_evidence")).all()
    assert "4821" not in str(details) and "matches" not in str(details)
    assert all(k[0] is None for k in keys)
    r = client.get(f"/v1/verifications/{live_id}", headers=verifier.headers)
    assert r.status_code == 200 and r.json()["evidence"][0]["download"] is None
