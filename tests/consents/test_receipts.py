"""Consent receipts verify with an independent JOSE library from the JWKS alone."""

from __future__ import annotations

import json
from datetime import datetime

import jwt
import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service.consents.receipts import KANTARA_VERSION, RECEIPT_TYP

# Kantara CR v1.1's required members, the ISO/IEC TS 27560 member and the registry's own.
KANTARA_FIELDS = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}
REGISTRY_FIELDS = {
    "iso27560",
    "purposes",
    "attributes",
    "notice",
    "consent_state",
    "state_changed_at",
    "audit_seq",
}


def verify_with_pyjwt(client: TestClient, token: str) -> dict:
    """Verify as an outsider would: PyJWT, only the published JWKS, only ES256."""
    jwks = jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["ES256"], options={"verify_aud": False})


def _seq_of(app, action: str, consent_id: str) -> int:
    with app.state.services.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT seq, subject_ids FROM audit_event WHERE action = :a ORDER BY seq"),
            {"a": action},
        ).all()
    for seq, subjects in rows:
        subjects = json.loads(subjects) if isinstance(subjects, str) else subjects
        if subjects.get("consent_id") == consent_id:
            return int(seq)
    raise AssertionError(f"no {action} event for {consent_id}")


def test_grant_and_withdrawal_receipts_verify_from_the_jwks_with_pyjwt(
    client: TestClient, app, holder, studio, grant
):
    consent = grant["consent"]
    header = jwt.get_unverified_header(grant["receipt"])
    assert header["alg"] == "ES256" and header["typ"] == RECEIPT_TYP
    claims = verify_with_pyjwt(client, grant["receipt"])
    assert KANTARA_FIELDS | REGISTRY_FIELDS <= claims.keys()
    iso = claims["iso27560"]
    assert claims["version"] == KANTARA_VERSION
    assert iso["record_id"] == consent["id"] and claims["consent_state"] == "active"
    assert claims["sub"] == claims["piiPrincipalId"] == holder.id
    assert claims["consentReceiptID"] == claims["jti"]
    assert claims["consentTimestamp"] == int(
        datetime.fromisoformat(consent["signature"]["signed_at"]).timestamp()
    )
    assert iso["recipient_third_parties"][0]["id"] == studio.id
    assert claims["notice"]["sha256"] == consent["notice_sha256"]
    assert claims["purposes"] == ["film_tv"] and claims["attributes"] == ["face", "voice"]
    assert claims["jurisdiction"] == "GB"
    assert iso["withdrawal_method"]["api"].endswith(f"/v1/consents/{consent['id']}/withdraw")
    assert claims["audit_seq"] == _seq_of(app, "consent.granted", consent["id"])
    assert iso["consent_status"] == "dpv:ConsentGiven"
    assert [e["event_state"] for e in iso["events"]] == ["dpv:ConsentGiven"]

    r = client.post(f"/v1/consents/{consent['id']}/withdraw", headers=holder.headers)
    withdrawn = verify_with_pyjwt(client, r.json()["receipt"])
    assert withdrawn["consent_state"] == "withdrawn"
    assert withdrawn["iso27560"]["record_id"] == consent["id"]
    assert withdrawn["iso27560"]["consent_status"] == "dpv:ConsentWithdrawn"
    assert withdrawn["audit_seq"] == _seq_of(app, "consent.withdrawn", consent["id"])
    assert withdrawn["consentReceiptID"] != claims["consentReceiptID"]
    # The consent's timestamp stays the time it was given; the withdrawal is an event.
    assert withdrawn["consentTimestamp"] == claims["consentTimestamp"]

    latest = client.get(f"/v1/consents/{consent['id']}/receipt", headers=holder.headers).json()
    assert latest["receipt"] == r.json()["receipt"] and latest["claims"] == withdrawn


def test_a_tampered_receipt_does_not_verify(client: TestClient, grant):
    head, payload, sig = grant["receipt"].split(".")
    forged = f"{head}.{payload[:-4]}AAAA.{sig}"
    try:
        verify_with_pyjwt(client, forged)
    except jwt.PyJWTError:
        pass
    else:
        raise AssertionError("a tampered receipt verified")


def test_key_rotation_keeps_old_receipts_verifiable(
    client: TestClient, app, db_session, holder, grant
):
    old = grant["receipt"]
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_key = app.state.services.keyring.rotate_signing_key(db_session)
    db_session.commit()
    assert new_key.kid != old_kid

    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert old_kid in kids and new_key.kid in kids
    r = client.post(f"/v1/consents/{grant['consent']['id']}/withdraw", headers=holder.headers)
    fresh = r.json()["receipt"]
    assert jwt.get_unverified_header(fresh)["kid"] == new_key.kid
    assert verify_with_pyjwt(client, old)["consent_state"] == "active"
    assert verify_with_pyjwt(client, fresh)["consent_state"] == "withdrawn"


def test_only_the_holder_side_reads_receipts(client: TestClient, studio, admin_headers, grant):
    cid = grant["consent"]["id"]
    for headers in (studio.headers, admin_headers):
        assert client.get(f"/v1/consents/{cid}/receipt", headers=headers).status_code == 404
