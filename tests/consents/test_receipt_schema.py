"""Consent receipts in the standards' own shape: Kantara CR v1.1 members, ISO/IEC TS 27560
fields with W3C DPV terms, checked against the published JSON Schema (draft 2020-12) with the
`jsonschema` library, for a receipt of every state; the schema refuses what the standards do."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.config import ConfigurationError, Settings
from consent_service.consents import lifecycle
from consent_service.operator import DEV_EMAIL, DEV_NAME, DEV_POLICY_URL
from tests.conftest import PRODUCTION_CONTROLLER, HolderAccount, Org
from tests.consents.conftest import accept
from tests.consents.test_receipts import verify_with_pyjwt


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with a configured controller, as production requires."""
    return settings.model_copy(update=PRODUCTION_CONTROLLER)


@pytest.fixture
def validator(client: TestClient) -> jsonschema.Draft202012Validator:
    """The schema as published (anonymously), checked as a draft 2020-12 schema."""
    r = client.get("/v1/schemas/consent-receipt")
    assert r.status_code == 200 and r.headers["content-type"] == "application/schema+json"
    schema = r.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _claims_of(client: TestClient, token: str) -> dict[str, Any]:
    return verify_with_pyjwt(client, token)


def _valid(validator: jsonschema.Draft202012Validator, claims: dict[str, Any]) -> dict[str, Any]:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(claims)]
    assert errors == [], errors
    return claims


def test_the_published_schema_is_the_one_shipped_in_the_package(client: TestClient):
    r = client.get("/v1/schemas/consent-receipt")
    shipped = json.loads(
        files("consent_service.consents").joinpath("receipt.schema.json").read_text("utf-8")
    )
    published = r.json()
    assert published.pop("$id") == "http://testserver/v1/schemas/consent-receipt"
    assert published == shipped
    assert shipped["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_receipts_of_every_state_validate_and_name_the_controller_and_the_actor(
    client: TestClient,
    app,
    db_session: Session,
    holder: HolderAccount,
    studio: Org,
    admin_headers: dict[str, str],
    request_consent: Callable[..., dict[str, Any]],
    validator: jsonschema.Draft202012Validator,
):
    def given() -> dict[str, Any]:
        r = accept(client, holder.headers, request_consent(holder.id))
        assert r.status_code == 201, r.text
        return r.json()

    # Given through the API, then suspended, resumed and withdrawn by the holder.
    first = given()
    cid = first["consent"]["id"]
    granted = _valid(validator, _claims_of(client, first["receipt"]))
    assert granted["collectionMethod"] == "api:typed_name"
    # The audit event the receipt cites records the channel too (for auditors).
    proof = client.get(
        f"/v1/holders/{holder.id}/audit-proofs",
        params={"seq": granted["audit_seq"]},
        headers=holder.headers,
    ).json()
    assert proof["event"]["action"] == "consent.granted"
    assert proof["event"]["payload"]["collection_method"] == "api:typed_name"
    assert isinstance(granted["consentTimestamp"], int)
    controller = granted["piiControllers"][0]
    assert controller == {
        "piiController": "Northlight Registry Ltd",
        "onBehalf": False,
        "contact": "Data Protection Officer",
        "address": {"streetAddress": "1 Example Street, London EC1A 1AA", "addressCountry": "GB"},
        "email": "dpo@registry.example",
        "phone": "+44 20 7946 0000",
        "piiControllerUrl": "http://testserver",
    }
    assert granted["policyUrl"] == "https://registry.example/privacy"
    iso = granted["iso27560"]
    assert iso["lawful_basis"]["legal_basis"] == "eu-gdpr:A9-2-a"
    assert {s["location"] for s in iso["storage_locations"]} == {"GB (London data centre)"}
    assert [p["period"] for p in iso["retention_period"]] == ["P30D", "P365D", "P2190D"]
    assert iso["events"] == [
        {
            "event_time": first["consent"]["signature"]["signed_at"].replace("+00:00", "Z"),
            "event_type": "dpv:ExplicitlyExpressedConsent",
            "event_state": "dpv:ConsentGiven",
            "event_by": {"role": "holder", "id": holder.id, "dpv": "dpv:DataSubject"},
            "validity_duration": {
                "dpv": "dpv:UntilTimeDuration",
                "until": granted["valid_until"],
            },
            "expression_method": "api:typed_name",
            "action": "consent.granted",
            "audit_seq": granted["audit_seq"],
        }
    ]

    states = []
    for move, action in (
        ("suspend", "consent.suspended"),
        ("resume", "consent.resumed"),
        ("withdraw", "consent.withdrawn"),
    ):
        r = client.post(f"/v1/consents/{cid}/{move}", headers=holder.headers)
        assert r.status_code == 200, r.text
        claims = _valid(validator, _claims_of(client, r.json()["receipt"]))
        last = claims["iso27560"]["events"][-1]
        assert last["event_by"]["role"] == "holder" and last["action"] == action
        assert claims["consentTimestamp"] == granted["consentTimestamp"]
        states.append((claims["consent_state"], claims["iso27560"]["consent_status"]))
    assert states == [
        ("suspended", "dpv:ConsentStatusInvalidForProcessing"),
        ("active", "dpv:ConsentGiven"),
        ("withdrawn", "dpv:ConsentWithdrawn"),
    ]

    # Revoked by an admin: the operator acted.
    second = given()
    r = client.post(
        f"/v1/consents/{second['consent']['id']}/revoke",
        json={"reason": "court order 77"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    revoked = _valid(validator, _claims_of(client, r.json()["receipt"]))["iso27560"]
    assert revoked["consent_status"] == "dpv:ConsentRevoked"
    assert revoked["events"][-1]["event_by"]["dpv"] == "dpv:DataController"
    assert revoked["events"][-1]["event_by"]["role"] == "admin"

    # Expired by the sweep: the system acted.
    third = given()
    end = datetime.fromisoformat(third["consent"]["valid_until"])
    signer = app.state.services.signer
    assert lifecycle.expire_due_grants(
        db_session, signer=signer, now=end + timedelta(seconds=1)
    ) == [third["consent"]["id"]]
    db_session.commit()
    r = client.get(f"/v1/consents/{third['consent']['id']}/receipt", headers=holder.headers)
    expired = _valid(validator, r.json()["claims"])["iso27560"]
    assert expired["consent_status"] == "dpv:ConsentExpired"
    assert expired["events"][-1]["event_by"] == {
        "role": "system",
        "id": "system",
        "dpv": "dpv:DataController",
    }

    # Every receipt the holder holds (their export) verifies and validates.
    export = client.get(f"/v1/holders/{holder.id}/export", headers=holder.headers).json()
    tokens = [r["token"] for g in export["consents"] for r in g["receipts"]]
    assert len(tokens) == 8  # 1 + suspend, resume, withdraw; 1 + revoke; 1 + expiry
    for token in tokens:
        _valid(validator, _claims_of(client, token))


def test_the_schema_refuses_what_the_standards_refuse(
    client: TestClient, grant: dict[str, Any], validator: jsonschema.Draft202012Validator
):
    claims = _valid(validator, _claims_of(client, grant["receipt"]))

    def errors_of(change: Callable[[dict[str, Any]], None]) -> list[str]:
        broken = copy.deepcopy(claims)
        change(broken)
        return [f"{list(e.absolute_path)} {e.message}" for e in validator.iter_errors(broken)]

    no_id = errors_of(lambda c: c.pop("consentReceiptID"))
    assert no_id and "'consentReceiptID' is a required property" in no_id[0]
    text_time = errors_of(lambda c: c.update(consentTimestamp=str(c["consentTimestamp"])))
    assert text_time and text_time[0].startswith("['consentTimestamp']")
    assert errors_of(lambda c: c.update(version="KI-CR-v1.0.0"))
    assert errors_of(lambda c: c["piiControllers"][0].pop("email"))
    assert errors_of(lambda c: c["piiControllers"][0].update(pii_controller="x"))
    assert errors_of(lambda c: c["services"][0]["purposes"][0].pop("thirdPartyName"))
    assert errors_of(lambda c: c.update(sensitive="yes"))
    assert errors_of(lambda c: c["iso27560"]["retention_period"][0].update(period="30 days"))
    assert errors_of(lambda c: c["iso27560"]["events"][0].update(event_state="granted"))
    assert errors_of(lambda c: c["iso27560"].pop("lawful_basis"))


def test_production_requires_the_controller_and_development_says_it_is_a_placeholder(
    tmp_path: Path,
):
    base = {
        "env": "production",
        "data_dir": tmp_path,
        "master_key": "q6dbbwIYqmSYYsP7yHh8sIGcHTG1yrUGsmxE3uKyrxw=",
        "database_url": "postgresql+psycopg://x@127.0.0.1/x",
        "keystore_url": "postgresql+psycopg://keys@127.0.0.2/keys",
        "issuer": "https://consent.example",
        "smtp_url": "smtps://relay.example",
    }
    with pytest.raises(ConfigurationError) as refused:
        Settings(**base).check_production()
    for name in ("NAME", "CONTACT", "ADDRESS", "EMAIL", "PHONE"):
        assert f"CONSENT_CONTROLLER_{name}" in str(refused.value)
    assert "CONSENT_POLICY_URL" in str(refused.value)
    with pytest.raises(ConfigurationError, match="CONSENT_POLICY_URL must be an https://"):
        Settings(
            **base, **{**PRODUCTION_CONTROLLER, "policy_url": "http://x.example/p"}
        ).check_production()
    Settings(**base, **PRODUCTION_CONTROLLER).check_production()

    development = Settings(data_dir=tmp_path).operator
    assert (development.name, development.email, development.policy_url) == (
        DEV_NAME,
        DEV_EMAIL,
        DEV_POLICY_URL,
    )
    assert ".invalid" in development.email and "not a real controller" in development.name
