"""Files on disk are private to the service's user; /metrics needs a credential.

The file modes are checked under umask 000, where anything created without an explicit mode
would come out world-readable (and world-writable).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from consent_service.config import ConfigurationError, Settings
from consent_service.main import create_app
from tests.conftest import BACKEND, bearer, sign_up
from tests.vault import media

METRICS_TOKEN = "m" * 16 + "e7c1a2b9f0d84c3e5a6b7c8d9e0f1a2b"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite files are the ones on this disk")
def test_data_dir_database_files_and_vault_objects_are_private(
    tmp_path: Path, master_key: str, open_umask: None
) -> None:
    data_dir = tmp_path / "fresh" / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update({"CONSENT_DATA_DIR": str(data_dir), "CONSENT_MASTER_KEY": master_key})
    # A real database creation: the operator's first command, under an open umask.
    created = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0,
    )
    assert created.returncode == 0, created.stderr
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "consent.db") == 0o600

    settings = Settings(
        data_dir=data_dir,
        master_key=master_key,
        issuer="http://testserver",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        expiry_sweep_seconds=0,
    )
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            body = {
                "legal_name": "Private Files",
                "email": "private.files@example.org",
                "password": "a long enough passphrase",
                "date_of_birth": "1990-01-01",
                "jurisdiction": "GB",
            }
            holder_id, token = sign_up(client, body)
            r = client.post(
                f"/v1/holders/{holder_id}/references",
                files={"file": ("face.png", media.png_with_text(), "image/png")},
                data={"attribute": "face"},
                headers=bearer(token),
            )
            assert r.status_code == 201, r.text

            # While the service runs: the database and its WAL and shared-memory files.
            for name in ("consent.db", "consent.db-wal", "consent.db-shm"):
                assert _mode(data_dir / name) == 0o600, name
            assert _mode(data_dir) == 0o700
            vault = data_dir / "vault"
            objects = [p for p in vault.rglob("*") if p.is_file()]
            assert objects, "the upload stored no object"
            for path in objects:
                assert _mode(path) == 0o600, path
            directories = [vault, *(p for p in vault.rglob("*") if p.is_dir())]
            assert len(directories) >= 2
            for path in directories:
                assert _mode(path) == 0o700, path
    finally:
        app.state.services.close()


@pytest.mark.skipif(BACKEND != "sqlite", reason="the SQLite files are the ones on this disk")
def test_a_database_file_found_readable_by_others_is_made_private(
    settings: Settings, database_url: str
) -> None:
    path = Path(database_url.removeprefix("sqlite:///"))
    os.chmod(path, 0o644)
    app = create_app(settings)
    try:
        with TestClient(app) as client:
            assert client.get("/readyz").status_code == 200
        assert _mode(path) == 0o600
    finally:
        app.state.services.close()


def test_metrics_refuse_anonymous_and_other_roles(client: TestClient, studio, holder) -> None:
    r = client.get("/metrics")
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "unauthenticated"
    r = client.get("/metrics", headers=bearer("not-the-metrics-token"))
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    for who in (studio, holder):
        r = client.get("/metrics", headers=who.headers)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        assert "consent_http_requests_total" not in r.text


def test_metrics_are_served_to_an_admin(client: TestClient, admin_headers) -> None:
    r = client.get("/metrics", headers=admin_headers)
    assert r.status_code == 200
    assert "consent_http_requests_total" in r.text


def test_metrics_are_served_to_the_bearer_of_the_metrics_token(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)}))
    try:
        with TestClient(app) as client:
            assert client.get("/metrics").status_code == 401
            wrong = client.get("/metrics", headers=bearer(METRICS_TOKEN[:-1] + "x"))
            assert wrong.status_code == 401
            r = client.get("/metrics", headers=bearer(METRICS_TOKEN))
            assert r.status_code == 200
            assert "consent_http_requests_total" in r.text
    finally:
        app.state.services.close()


def test_production_refuses_a_weak_metrics_token(tmp_path: Path) -> None:
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        master_key="k" * 44,
        database_url="postgresql+psycopg://x@127.0.0.1/x",
        issuer="https://consent.example",
        metrics_token="change-me",
    )
    with pytest.raises(ConfigurationError, match="CONSENT_METRICS_TOKEN"):
        settings.check_production()
