"""Operations endpoints, production-mode safety, migrations, logging hygiene."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service import migrations
from consent_service.config import ConfigurationError, Settings
from consent_service.main import create_app


def test_health_readiness_and_metrics(client: TestClient, admin_headers):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
    metrics = client.get("/metrics", headers=admin_headers)
    assert metrics.status_code == 200
    assert "consent_http_requests_total" in metrics.text


def test_unknown_route_and_method_are_problems(client: TestClient):
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.put("/healthz")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_production_mode_refuses_to_start_without_a_master_key(tmp_path):
    settings = Settings(
        env="production",
        data_dir=tmp_path,
        master_key=None,
        database_url="postgresql+psycopg://x@127.0.0.1/x",
        issuer="https://consent.example",
    )
    with pytest.raises(ConfigurationError, match="CONSENT_MASTER_KEY is required"):
        create_app(settings)


def test_production_mode_refuses_default_secrets_and_sqlite(tmp_path):
    settings = Settings(
        env="production", data_dir=tmp_path, master_key="change-me", issuer="http://localhost"
    )
    with pytest.raises(ConfigurationError) as info:
        settings.check_production()
    message = str(info.value)
    assert "known default" in message and "PostgreSQL" in message and "https" in message


def test_cli_serve_in_production_without_key_exits_nonzero(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update({"CONSENT_ENV": "production", "CONSENT_DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "CONSENT_MASTER_KEY is required" in result.stderr


def test_development_key_file_is_created_private(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env["CONSENT_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "accounts", "create-admin", "--name", "op"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith("csk_")
    assert (tmp_path / "master.key").stat().st_mode & 0o777 == 0o600


def test_migrations_go_down_and_up_again(database_url, app):
    app.state.services.engine.dispose()
    migrations.downgrade(database_url, "base")
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    migrations.upgrade(database_url)
    with engine.connect() as conn:
        assert "audit_event" in sa.inspect(conn).get_table_names()
        assert conn.execute(sa.text("SELECT next_seq FROM audit_head")).scalar_one() == 0
    engine.dispose()


def test_audit_log_refuses_updates_and_deletes(client: TestClient, app, holder):
    with app.state.services.engine.connect() as conn:
        for stmt in ("UPDATE audit_event SET action = 'x'", "DELETE FROM audit_event"):
            with pytest.raises(sa.exc.DBAPIError):
                with conn.begin():
                    conn.execute(sa.text(stmt))


def test_request_log_has_no_personal_data_or_credentials(client: TestClient, caplog):
    body = {
        "legal_name": "Loggable Name",
        "email": "log.me@example.org",
        "password": "a long enough passphrase",
        "date_of_birth": "1990-01-01",
        "jurisdiction": "GB",
    }
    logger = logging.getLogger("consent_service")
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="consent_service"):
            client.post("/v1/holders", json=body)
            client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": body["email"],
                    "password": body["password"],
                },
            )
    finally:
        logger.removeHandler(caplog.handler)
    text = "\n".join(f"{r.getMessage()} {getattr(r, 'event', '')}" for r in caplog.records)
    assert "/v1/holders" in text
    for secret in ("Loggable", "log.me@", "passphrase", "1990-01-01"):
        assert secret not in text
