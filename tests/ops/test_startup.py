"""Start-up: a broken deployment says what is wrong in one line (exit 2), never a traceback;
a wrong master key is refused at start, reported by /readyz and never a plain-text 500; in
development the issuer follows the port served."""

from __future__ import annotations

import base64
import secrets
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr

from consent_service.config import Settings
from consent_service.main import create_app
from tests.ops.replicas import free_port, replica_env, serve


def _serve_once(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_malformed_setting_is_one_line_and_exit_2(settings: Settings):
    env = replica_env(settings, CONSENT_MAX_BODY_BYTES="lots", CONSENT_ARGON2_TIME_COST="-1")
    line = _one_line_exit_2(_serve_once(env))
    assert line.startswith("configuration error:")
    assert "CONSENT_MAX_BODY_BYTES" in line and "CONSENT_ARGON2_TIME_COST" in line


def test_an_unreachable_database_is_one_line_and_exit_2(settings: Settings):
    url = f"postgresql+psycopg://consent:s3cret@127.0.0.1:{free_port()}/consent"
    line = _one_line_exit_2(_serve_once(replica_env(settings, CONSENT_DATABASE_URL=url)))
    assert line.startswith("start-up error: database") and "unreachable" in line
    assert "s3cret" not in line  # the password is never shown


def test_a_wrong_master_key_refuses_to_start(settings: Settings, client: TestClient):
    # `client` built the app once on this database: its keys are wrapped by the right key.
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    line = _one_line_exit_2(_serve_once(replica_env(settings, CONSENT_MASTER_KEY=wrong)))
    assert "master key does not open the keys" in line
    # The right key starts (the same command, so the refusal above is about the key).
    with serve(replica_env(settings), Path(settings.data_dir) / "ok.log") as base:
        assert httpx.get(f"{base}/readyz", timeout=30).status_code == 200


def test_with_a_wrong_master_key_readyz_says_why_and_requests_get_a_problem(
    settings: Settings, client: TestClient, holder
):
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    app = create_app(settings.model_copy(update={"master_key": SecretStr(wrong)}))
    try:
        with TestClient(app, raise_server_exceptions=False) as other:
            r = other.get("/readyz")
            assert r.status_code == 503
            assert "master key does not open" in r.json()["checks"]["master_key"]
            # Signing in looks the email up through a keyed index: the key is needed.
            r = other.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": holder.email,
                    "password": holder.password,
                },
            )
            assert r.status_code == 503, r.text
            assert r.headers["content-type"] == "application/problem+json"
            assert r.json()["code"] == "master_key_unusable"
    finally:
        app.state.services.close()
    assert client.get("/readyz").json()["checks"]["master_key"] == "ok"


def test_in_development_the_issuer_follows_the_port(settings: Settings, tmp_path: Path):
    env = replica_env(settings)
    del env["CONSENT_ISSUER"]
    port = free_port()
    env["PORT"] = str(port)
    proc = subprocess.Popen(
        [sys.executable, "-m", "consent_service.cli", "serve", "--no-migrate"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Issuer:" in line:
                break
        assert f"Issuer:          http://127.0.0.1:{port}" in banner, banner
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_set_issuer_wins_over_the_port(settings: Settings, tmp_path: Path):
    env = replica_env(settings, CONSENT_ISSUER="https://consent.example.org")
    with serve(env, tmp_path / "log") as _base:
        pass
    assert "Issuer:          https://consent.example.org" in (tmp_path / "log").read_text()
