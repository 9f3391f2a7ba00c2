"""Vault fixtures: a real S3 (and KMS) HTTP endpoint on loopback, and the backend switch.

moto runs in server mode in this process (`ThreadedMotoServer`, a werkzeug server on a free
loopback port); boto3 talks to it over HTTP exactly as it talks to AWS or MinIO. Every test in
this folder that uses `vault_backend` runs once on the local directory and once on S3.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.conftest import HolderAccount, _free_port
from tests.licences.conftest import issue, make_grant  # noqa: F401 - fixtures used here

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def s3_client(moto_endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture(params=["local", "s3"])
def vault_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(settings: Settings, vault_backend: str, request: pytest.FixtureRequest) -> Settings:
    if vault_backend == "s3":
        endpoint = request.getfixturevalue("moto_endpoint")
        client = request.getfixturevalue("s3_client")
        bucket = f"vault-{secrets.token_hex(6)}"
        client.create_bucket(Bucket=bucket)
        return settings.model_copy(
            update={"vault_backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": endpoint}
        )
    return settings


def upload(
    client: TestClient,
    holder: HolderAccount,
    data: bytes,
    *,
    attribute: str = "face",
    filename: str = "upload.bin",
    content_type: str = "application/octet-stream",
) -> Any:
    return client.post(
        f"/v1/holders/{holder.id}/references",
        files={"file": (filename, data, content_type)},
        data={"attribute": attribute},
        headers=holder.headers,
    )
