"""`consent-service keys rewrap`: from a local master key to KMS (moto's, on loopback) and back.

The keys themselves never change, so a holder's encrypted data and earlier tokens stay readable;
only the master key that wraps them does, and the old one stops opening them.
"""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys

import boto3
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from consent_service.config import Settings
from consent_service.main import create_app
from tests.conftest import HolderAccount
from tests.ops.replicas import replica_env


@pytest.fixture
def kms_key_id(moto_endpoint: str) -> str:
    kms = boto3.client("kms", endpoint_url=moto_endpoint, region_name="us-east-1")
    return str(kms.create_key(Description="consent-service rewrap")["KeyMetadata"]["KeyId"])


def _rewrap(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "keys", "rewrap", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _works(settings: Settings, holder: HolderAccount) -> None:
    """The service on `settings` is ready and reads the holder's encrypted data."""
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 200, ready.text
            r = client.get(f"/v1/holders/{holder.id}", headers=holder.headers)
            assert r.status_code == 200, r.text
            assert r.json()["legal_name"] == holder.body["legal_name"]
            r = client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": holder.email,
                    "password": holder.password,
                },
            )
            assert r.status_code == 200, r.text
    finally:
        app.state.services.close()


def _refused(settings: Settings) -> str:
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            ready = client.get("/readyz")
            assert ready.status_code == 503
            return str(ready.json()["checks"]["master_key"])
    finally:
        app.state.services.close()


def test_rewrap_from_a_local_key_to_kms_and_back(
    settings: Settings, holder: HolderAccount, moto_endpoint: str, kms_key_id: str
):
    local_env = replica_env(settings)
    result = _rewrap(
        local_env, "--to", "kms", "--kms-key-id", kms_key_id, "--kms-endpoint-url", moto_endpoint
    )
    assert result.returncode == 0, result.stderr
    assert "re-wrapped" in result.stdout and f"CONSENT_KMS_KEY_ID={kms_key_id}" in result.stdout

    on_kms = settings.model_copy(
        update={"master_key": None, "kms_key_id": kms_key_id, "kms_endpoint_url": moto_endpoint}
    )
    _works(on_kms, holder)
    assert "does not open" in _refused(settings)  # the old local key is done with

    new_key = base64.b64encode(secrets.token_bytes(32)).decode()
    kms_env = {k: v for k, v in local_env.items() if k != "CONSENT_MASTER_KEY"}
    kms_env.update(
        {
            "CONSENT_KMS_KEY_ID": kms_key_id,
            "CONSENT_KMS_ENDPOINT_URL": moto_endpoint,
            "CONSENT_NEW_MASTER_KEY": new_key,
        }
    )
    result = _rewrap(kms_env, "--to", "local")
    assert result.returncode == 0, result.stderr
    _works(settings.model_copy(update={"master_key": SecretStr(new_key)}), holder)
    assert "does not open" in _refused(on_kms)


def test_rewrap_refuses_without_the_current_key_and_changes_nothing(
    settings: Settings, holder: HolderAccount
):
    env = replica_env(settings)
    env["CONSENT_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    env["CONSENT_NEW_MASTER_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
    result = _rewrap(env, "--to", "local")
    assert result.returncode == 2
    assert "master key does not open" in result.stderr and "Traceback" not in result.stderr
    env = replica_env(settings)
    result = _rewrap(env, "--to", "local")  # no CONSENT_NEW_MASTER_KEY
    assert result.returncode == 2 and "CONSENT_NEW_MASTER_KEY" in result.stderr
    _works(settings, holder)
