"""Signatures worth something (issue 10, items 2-4): a request's `min_assurance` and the
deployment's floor gate acceptance, representatives sign on reviewed authority, licences and
receipts carry `holder_assurance`, and a level that drops suspends what relied on it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jose import jwt

from consent_service import migrations
from consent_service.config import Settings
from tests.authority import approve_case, new_verifier
from tests.conftest import HolderAccount, Org
from tests.consents.conftest import accept, make_terms
from tests.licences.conftest import licence_scope
from tests.licences.test_offline import run_cli
from tests.verification.conftest import audit_events, capture, challenge, identity_document


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _document_verified(client: TestClient, admin_headers, holder: HolderAccount) -> None:
    r = identity_document(client, holder)
    assert r.status_code == 201, r.text
    approve_case(client, new_verifier(client, admin_headers), r.json()["id"])


def _liveness_verified(client: TestClient, admin_headers, holder: HolderAccount) -> str:
    """Approve a live capture (the holder must already be document_verified to reach the
    level); returns the case id."""
    chl = challenge(client, holder)
    r = capture(client, holder, chl["id"])
    assert r.status_code == 201, r.text
    approve_case(
        client, new_verifier(client, admin_headers), r.json()["id"], heard_phrase=chl["phrase"]
    )
    return str(r.json()["id"])


def _level(client: TestClient, holder: HolderAccount) -> str:
    r = client.get(f"/v1/holders/{holder.id}/assurance", headers=holder.headers)
    return str(r.json()["assurance"])


def _grants(client: TestClient, holder: HolderAccount) -> list[dict[str, Any]]:
    return list(client.get("/v1/consents", headers=holder.headers).json()["items"])


def _ask(client: TestClient, studio: Org, holder_id: str, min_assurance: Any = None) -> Any:
    # In force from now, so that licences under it verify at once.
    body: dict[str, Any] = {"holder_id": holder_id, "terms": make_terms(valid_from=now())}
    if min_assurance is not None:
        body["min_assurance"] = min_assurance
    return client.post("/v1/consent-requests", json=body, headers=studio.headers)


def _use_floor(app: Any, level: str) -> None:
    """Run the app with CONSENT_MIN_ASSURANCE=level (the dependencies read services.settings)."""
    services = app.state.services
    settings = services.settings.model_copy(update={"min_assurance": level})
    app.state.services = replace(services, settings=settings)


def test_a_request_states_min_assurance_and_acceptance_below_it_says_how_to_get_verified(
    client: TestClient, holder: HolderAccount, studio: Org, admin_headers
):
    r = _ask(client, studio, holder.id, min_assurance="very_sure")
    assert r.status_code == 422
    assert client.get("/v1/consent-requests", headers=studio.headers).json()["items"] == []

    plain = _ask(client, studio, holder.id).json()
    assert plain["min_assurance"] is None and plain["required_assurance"] == "self_asserted"
    r = _ask(client, studio, holder.id, min_assurance="document_verified")
    assert r.status_code == 201, r.text
    req = r.json()
    assert req["min_assurance"] == "document_verified"
    shown = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert shown["required_assurance"] == "document_verified"

    r = accept(client, holder.headers, req)
    assert r.status_code == 409, r.text
    problem = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "holder_not_verified"
    assert problem["required_assurance"] == "document_verified"
    assert problem["holder_assurance"] == "self_asserted"
    assert f"POST /v1/holders/{holder.id}/identity-documents" in problem["detail"]
    assert [s["step"] for s in problem["how_to_verify"]] == ["identity_document"]
    # Nothing written: the request is pending, no grant exists.
    shown = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert shown["status"] == "pending" and _grants(client, holder) == []

    _document_verified(client, admin_headers, holder)
    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
    signature = r.json()["consent"]["signature"]
    assert signature["required_assurance"] == "document_verified"
    assert signature["holder_assurance"] == "document_verified"
    claims = jwt.get_unverified_claims(r.json()["receipt"])
    assert claims["holder_assurance"] == "document_verified"
    # A request that asks nothing still records the level the holder had.
    r = accept(client, holder.headers, plain)
    assert r.status_code == 201
    assert r.json()["consent"]["signature"]["required_assurance"] == "self_asserted"


def test_the_deployment_floor_applies_when_higher_than_the_request(
    app, client: TestClient, holder: HolderAccount, studio: Org, admin_headers
):
    _use_floor(app, "liveness_verified")
    req = _ask(client, studio, holder.id, min_assurance="document_verified").json()
    assert req["required_assurance"] == "liveness_verified"
    _document_verified(client, admin_headers, holder)
    r = accept(client, holder.headers, req)
    assert r.status_code == 409 and r.json()["code"] == "holder_not_verified"
    assert r.json()["holder_assurance"] == "document_verified"
    steps = {s["step"]: s["route"] for s in r.json()["how_to_verify"]}
    assert steps["challenge"] == f"POST /v1/holders/{holder.id}/challenges"
    assert steps["capture"] == f"POST /v1/holders/{holder.id}/captures"
    _liveness_verified(client, admin_headers, holder)
    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
    assert r.json()["consent"]["signature"]["required_assurance"] == "liveness_verified"


def test_the_floor_defaults_to_the_environment(tmp_path: Path):
    development = Settings(env="development", data_dir=tmp_path)
    production = Settings(env="production", data_dir=tmp_path)
    assert development.min_assurance == "self_asserted"
    assert production.min_assurance == "liveness_verified"
    chosen = Settings(env="production", data_dir=tmp_path, min_assurance="document_verified")
    assert chosen.min_assurance == "document_verified"
    with pytest.raises(ValueError):
        Settings(env="development", data_dir=tmp_path, min_assurance="sure")


def test_a_representative_signs_on_reviewed_authority_not_on_the_holders_level(
    app, client: TestClient, holder: HolderAccount, studio: Org, add_representative
):
    # An attorney for a living adult: the verifier reviewed the power of attorney; the
    # holder's own level is checked only when the holder signs (docs/verification.md).
    _use_floor(app, "liveness_verified")
    unreviewed = add_representative(holder.id, "attorney", holder.headers)
    attorney = add_representative(holder.id, "attorney", holder.headers, approved=True)
    req = _ask(client, studio, holder.id, min_assurance="liveness_verified").json()
    r = accept(client, holder.headers, req)
    assert r.status_code == 409 and r.json()["code"] == "holder_not_verified"
    r = accept(client, unreviewed.headers, req)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    assert _grants(client, holder) == []
    r = accept(client, attorney.headers, req)
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["signature"]["role"] == "representative"
    assert consent["signature"]["required_assurance"] is None
    assert consent["signature"]["holder_assurance"] == "self_asserted"
    # Only reviewed representatives change a grant: the unreviewed attorney cannot withdraw,
    # suspend or decline; nothing moves.
    for action in ("withdraw", "suspend"):
        r = client.post(f"/v1/consents/{consent['id']}/{action}", headers=unreviewed.headers)
        assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    other = _ask(client, studio, holder.id).json()
    r = client.post(f"/v1/consent-requests/{other['id']}/decline", headers=unreviewed.headers)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    assert (
        client.get(f"/v1/consents/{consent['id']}", headers=holder.headers).json()["status"]
        == "active"
    )
    r = client.post(f"/v1/consents/{consent['id']}/withdraw", headers=attorney.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_licences_carry_holder_assurance_and_pipelines_can_demand_a_level(
    client: TestClient, holder: HolderAccount, studio: Org, admin_headers, tmp_path: Path
):
    _document_verified(client, admin_headers, holder)
    req = _ask(client, studio, holder.id).json()
    consent = accept(client, holder.headers, req).json()["consent"]
    r = client.post(
        "/v1/licences",
        json={"consent_id": consent["id"], "scope": licence_scope(attributes=["face"])},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    issued = r.json()
    token = issued["token"]
    assert jwt.get_unverified_claims(token)["holder_assurance"] == "document_verified"

    def online(**body: Any) -> dict[str, Any]:
        r = client.post("/v1/licences/verify", json={"token": token, **body})
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert online()["holder_assurance"] == "document_verified" and online()["valid"]
    assert online(min_assurance="document_verified")["code"] == "VALID"
    verdict = online(min_assurance="liveness_verified")
    assert (verdict["valid"], verdict["code"]) == (False, "INSUFFICIENT_ASSURANCE")
    r = client.post("/v1/licences/verify", json={"token": token, "min_assurance": "sure"})
    assert r.status_code == 422

    jwks_file, status_file = tmp_path / "jwks.json", tmp_path / "status.jwt"
    jwks_file.write_text(client.get("/.well-known/jwks.json").text)
    uri = issued["status_list"]["uri"].removeprefix("http://testserver")
    status_file.write_text(client.get(uri).text)
    files = ("--any-use", "--jwks", str(jwks_file), "--status-list", str(status_file))
    code, verdict = run_cli(token, "--min-assurance", "document_verified", *files)
    assert (code, verdict["code"], verdict["holder_assurance"]) == (0, "VALID", "document_verified")
    code, verdict = run_cli(token, "--min-assurance", "liveness_verified", *files)
    assert (code, verdict["code"]) == (1, "INSUFFICIENT_ASSURANCE")
    code, verdict = run_cli(token, "--min-assurance", "sure", *files)
    assert (code, verdict["error"]) == (2, "cannot_check")


def test_withdrawn_evidence_suspends_the_grants_that_relied_on_it(
    client: TestClient, holder: HolderAccount, studio: Org, admin_headers
):
    _document_verified(client, admin_headers, holder)
    live_case = _liveness_verified(client, admin_headers, holder)
    assert _level(client, holder) == "liveness_verified"
    strict = _ask(client, studio, holder.id, min_assurance="liveness_verified").json()
    relaxed = _ask(client, studio, holder.id, min_assurance="document_verified").json()
    strict_id = accept(client, holder.headers, strict).json()["consent"]["id"]
    relaxed_id = accept(client, holder.headers, relaxed).json()["consent"]["id"]
    r = client.post(
        "/v1/licences",
        json={"consent_id": strict_id, "scope": licence_scope(attributes=["face"])},
        headers=studio.headers,
    )
    licence = r.json()["token"]

    r = client.post(
        f"/v1/holders/{holder.id}/verifications/{live_case}/withdraw",
        json={},
        headers=holder.headers,
    )
    assert r.status_code == 200, r.text
    assert _level(client, holder) == "document_verified"
    strict_now = client.get(f"/v1/consents/{strict_id}", headers=studio.headers).json()
    assert strict_now["status"] == "suspended"
    assert strict_now["status_reason"] == "assurance_lowered"
    assert (
        client.get(f"/v1/consents/{relaxed_id}", headers=studio.headers).json()["status"]
        == "active"
    )
    verdict = client.post("/v1/licences/verify", json={"token": licence}).json()
    assert verdict["code"] == "SUSPENDED"
    events = [
        e
        for e in audit_events(client, admin_headers)
        if e["action"] == "consent.suspended" and e["subjects"]["consent_id"] == strict_id
    ]
    assert len(events) == 1 and events[0]["payload"]["cause"] == "assurance_lowered"
    assert events[0]["actor"] == "system"
    receipt = client.get(f"/v1/consents/{strict_id}/receipt", headers=holder.headers).json()
    assert receipt["claims"]["consent_state"] == "suspended"
    assert receipt["claims"]["holder_assurance"] == "document_verified"

    # It resumes only once the holder has the level again.
    r = client.post(f"/v1/consents/{strict_id}/resume", headers=holder.headers)
    assert r.status_code == 409 and r.json()["code"] == "holder_not_verified"
    _liveness_verified(client, admin_headers, holder)
    r = client.post(f"/v1/consents/{strict_id}/resume", headers=holder.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"


def test_migration_0008_keeps_existing_requests_and_sends_existing_representatives_to_review(
    app, client: TestClient, holder: HolderAccount, studio: Org, add_representative, database_url
):
    # Data made before 0008: a request, a representative recorded with typed authority.
    attorney = add_representative(holder.id, "attorney", holder.headers)
    req = _ask(client, studio, holder.id).json()
    app.state.services.engine.dispose()
    migrations.downgrade(database_url, "0007")
    migrations.upgrade(database_url)
    app.state.services.engine.dispose()

    shown = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert shown["min_assurance"] is None and shown["required_assurance"] == "self_asserted"
    assert _level(client, holder) == "self_asserted"
    # The existing attorney signs in, but needs review before it signs again.
    r = accept(client, attorney.headers, req)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
