"""The master key in KMS (moto's KMS on loopback) and the vault's readiness check."""

from __future__ import annotations

import boto3
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from consent_service.config import Environment, Settings
from consent_service.crypto.envelope import DecryptionError
from consent_service.crypto.kms import KmsMasterKey
from consent_service.main import create_app
from tests.conftest import PRODUCTION_CONTROLLER, bearer, sign_up
from tests.vault import media


@pytest.fixture
def kms_key_id(moto_endpoint: str) -> str:
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    return str(kms.create_key(Description="consent-service test")["KeyMetadata"]["KeyId"])


def test_kms_master_key_binds_wrapped_keys_to_their_context(moto_endpoint, kms_key_id):
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    master = KmsMasterKey(kms_key_id, kms)
    wrapped = master.wrap(b"k" * 32, context="data:hld_a")
    assert b"k" * 32 not in wrapped
    assert master.unwrap(wrapped, context="data:hld_a") == b"k" * 32
    with pytest.raises(DecryptionError):
        master.unwrap(wrapped, context="data:hld_b")


@pytest.mark.parametrize("vault_backend", ["local"])
def test_service_runs_with_its_master_key_in_kms(
    settings: Settings, moto_endpoint: str, kms_key_id: str
):
    kms_settings = settings.model_copy(
        update={"master_key": None, "kms_key_id": kms_key_id, "kms_endpoint_url": moto_endpoint}
    )
    app = create_app(kms_settings)
    assert isinstance(app.state.services.keyring.master, KmsMasterKey)
    try:
        with TestClient(app) as client:
            body = {
                "legal_name": "Kay Emess",
                "email": "kms@example.org",
                "password": "a long enough passphrase",
                "date_of_birth": "1990-01-01",
                "jurisdiction": "GB",
            }
            holder_id, token = sign_up(client, body)
            headers = bearer(token)
            assert client.get(f"/v1/holders/{holder_id}", headers=headers).json()["legal_name"] == (
                "Kay Emess"
            )
            r = client.post(
                f"/v1/holders/{holder_id}/references",
                files={"file": ("a.png", media.png_with_text(), "image/png")},
                data={"attribute": "face"},
                headers=headers,
            )
            assert r.status_code == 201, r.text
            got = client.get(f"/v1/references/{r.json()['id']}/content", headers=headers)
            assert got.status_code == 200
            ready = client.get("/readyz").json()
            assert ready["checks"]["kms"] == "ok"
        # The holder's data key is stored as a KMS ciphertext bound to the holder.
        # (in the key store, apart from the data).
        wrapped = app.state.services.keyring.store.get(holder_id)
        assert wrapped is not None
        master = app.state.services.keyring.master
        assert len(master.unwrap(wrapped, context=f"data:{holder_id}")) == 32
        with pytest.raises(DecryptionError):
            master.unwrap(wrapped, context="data:hld_someoneelse")
    finally:
        app.state.services.close()


@pytest.mark.parametrize("vault_backend", ["s3"])
def test_readyz_reports_a_missing_bucket(client: TestClient, settings: Settings, s3_client):
    assert client.get("/readyz").json()["checks"]["vault"] == "ok"
    s3_client.delete_bucket(Bucket=settings.s3_bucket)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "not_ready" and r.json()["type"].endswith("/problems/not_ready")
    assert "does not exist" in r.json()["checks"]["vault"]


@pytest.mark.parametrize("vault_backend", ["local"])
def test_production_accepts_kms_instead_of_a_master_key(settings: Settings):
    prod = settings.model_copy(
        update={
            "env": Environment.production,
            "master_key": None,
            "kms_key_id": "alias/consent",
            "database_url": "postgresql+psycopg://db/consent",
            "keystore_url": "postgresql+psycopg://keys/consent_keys",
            "issuer": "https://consent.example",
            "smtp_url": SecretStr("smtp://relay:secret@mail.example:587"),
            "require_email_confirmation": True,
            **PRODUCTION_CONTROLLER,
        }
    )
    prod.check_production()
    with pytest.raises(Exception, match="S3_BUCKET"):
        prod.model_copy(update={"vault_backend": "s3"}).check_production()
