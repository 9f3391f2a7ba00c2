"""docker-compose.yml is the production shape: TLS proxy in front, pinned images, restart
policies, an app-scoped MinIO user, the worker and expiry sweep as services, the app's port
reachable through the proxy only. `docker compose config` checks it when docker is present."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
ONE_SHOT = {"minio-init"}
ENV = {
    "CONSENT_DOMAIN": "consent.example.com",
    "CONSENT_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "CONSENT_SMTP_URL": "smtp://user:pw@mail.example.com:587",
    "CONSENT_CONTROLLER_NAME": "Northlight Registry Ltd",
    "CONSENT_CONTROLLER_CONTACT": "Data Protection Officer",
    "CONSENT_CONTROLLER_ADDRESS": "1 Example Street, London EC1A 1AA",
    "CONSENT_CONTROLLER_EMAIL": "dpo@registry.example",
    "CONSENT_CONTROLLER_PHONE": "+44 20 7946 0000",
    "CONSENT_POLICY_URL": "https://registry.example/privacy",
    "POSTGRES_PASSWORD": "pg-secret",
    "MINIO_ROOT_USER": "root-user",
    "MINIO_ROOT_PASSWORD": "root-secret",
    "MINIO_APP_PASSWORD": "app-secret",
}


def _services() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def test_every_image_is_pinned_and_every_service_restarts():
    for name, service in _services().items():
        image = service.get("image")
        assert image, name
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", (name, image)
        if name in ONE_SHOT:
            assert service.get("restart") == "no"
        else:
            assert service.get("restart") in {"unless-stopped", "always"}, name


def test_the_app_is_reached_through_the_tls_proxy_only():
    services = _services()
    app, proxy = services["app"], services["proxy"]
    assert "ports" not in app
    assert any(str(p).startswith("443:") for p in proxy["ports"])
    for name, service in services.items():
        if name != "proxy":
            assert "ports" not in service, f"{name} publishes a port"
    caddyfile = (ROOT / "deploy/caddy/Caddyfile").read_text()
    assert "reverse_proxy app:8000" in caddyfile
    # The app believes X-Forwarded-For from the proxy's fixed address, and from nobody else.
    proxy_ip = proxy["networks"]["edge"]["ipv4_address"]
    assert app["environment"]["CONSENT_FORWARDED_ALLOW_IPS"] == proxy_ip
    assert app["environment"]["CONSENT_ISSUER"].startswith("https://")


def test_the_app_uses_its_own_minio_user_limited_to_the_vault_bucket():
    services = _services()
    env = services["app"]["environment"]
    assert env["AWS_ACCESS_KEY_ID"] == "consent-app"
    assert "MINIO_ROOT" not in json.dumps(env)
    for name in ("app", "worker", "expiry-sweep"):
        assert "MINIO_ROOT" not in json.dumps(services[name]["environment"]), name
    policy = json.loads((ROOT / "deploy/minio/consent-vault-policy.json").read_text())
    resources = {r for statement in policy["Statement"] for r in statement["Resource"]}
    assert resources == {"arn:aws:s3:::consent-vault", "arn:aws:s3:::consent-vault/*"}
    script = "\n".join(services["minio-init"]["entrypoint"])
    assert "mc admin user add local consent-app" in script
    assert "mc admin policy attach local consent-vault --user consent-app" in script


def test_the_worker_and_the_expiry_sweep_are_services():
    services = _services()
    assert services["app"]["environment"]["CONSENT_OUTBOX_IN_PROCESS"] == "false"
    assert services["worker"]["command"] == ["consent-service", "worker"]
    assert "consent-service consents expire" in " ".join(services["expiry-sweep"]["command"])


def _docker_compose() -> list[str] | None:
    if shutil.which("docker") is None:
        return None
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
    return ["docker", "compose"] if probe.returncode == 0 else None


def test_docker_compose_config_accepts_the_file():
    command = _docker_compose()
    if command is None:
        pytest.skip("docker compose is not installed here")
    env = {k: v for k, v in os.environ.items() if k not in ENV} | ENV
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    app_env = config["services"]["app"]["environment"]
    assert app_env["CONSENT_ISSUER"] == "https://consent.example.com"
    # A missing secret is refused, not defaulted.
    env.pop("MINIO_APP_PASSWORD")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config"], env=env, capture_output=True, timeout=60
    )
    assert result.returncode != 0
