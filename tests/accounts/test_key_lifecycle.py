"""API keys with a lifecycle: expiry (asked for, or by default for admins and auditors), and
admin keys listed and revoked from the CLI — through the HTTP API and the real CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from consent_service.cli import app as cli
from consent_service.config import Settings, get_settings
from tests.conftest import Org, bearer


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _new_org(client: TestClient, admin_headers: dict[str, str], kind: str) -> str:
    r = client.post(
        "/v1/organizations", json={"name": f"A {kind}", "kind": kind}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _create_key(client: TestClient, admin_headers: dict[str, str], org_id: str, **body: Any) -> Any:
    return client.post(
        f"/v1/organizations/{org_id}/api-keys", json={"name": "k", **body}, headers=admin_headers
    )


def test_auditor_keys_expire_by_default_and_studio_keys_do_not(
    client: TestClient, admin_headers: dict[str, str], settings: Settings
):
    before = datetime.now(UTC)
    auditor = _create_key(client, admin_headers, _new_org(client, admin_headers, "auditor"))
    studio_org = _new_org(client, admin_headers, "studio")
    studio = _create_key(client, admin_headers, studio_org)
    assert auditor.status_code == studio.status_code == 201
    expires = _parse(auditor.json()["expires_at"])
    ttl = timedelta(days=settings.auditor_key_ttl_days)
    assert settings.auditor_key_ttl_days == 365
    assert before + ttl <= expires <= datetime.now(UTC) + ttl
    assert studio.json()["expires_at"] is None
    # A studio key may be given an expiry; the listing shows it.
    until = datetime.now(UTC) + timedelta(days=30)
    asked = _create_key(client, admin_headers, studio_org, expires_at=_iso(until))
    assert asked.status_code == 201, asked.text
    listed = client.get(f"/v1/organizations/{studio_org}/api-keys", headers=admin_headers)
    by_id = {k["id"]: k for k in listed.json()["items"]}
    assert by_id[studio.json()["id"]]["expires_at"] is None
    assert _parse(by_id[asked.json()["id"]]["expires_at"]) == until


def test_an_expired_key_is_refused_like_an_unknown_one(
    client: TestClient, admin_headers: dict[str, str]
):
    org_id = _new_org(client, admin_headers, "studio")
    r = _create_key(
        client, admin_headers, org_id, expires_at=_iso(datetime.now(UTC) + timedelta(seconds=1))
    )
    assert r.status_code == 201, r.text
    headers = bearer(r.json()["key"])
    assert client.get("/v1/consents", headers=headers).status_code == 200
    time.sleep(1.2)
    expired = client.get("/v1/consents", headers=headers)
    unknown = client.get("/v1/consents", headers=bearer("csk_" + "x" * 43))
    assert expired.status_code == unknown.status_code == 401
    assert expired.headers["content-type"] == "application/problem+json"
    assert expired.json() == unknown.json()


@pytest.mark.parametrize(
    "expires_at, code",
    [
        ("2020-01-01T00:00:00Z", "expiry_not_in_future"),
        ("2999-01-01T00:00:00", "validation_error"),  # no UTC offset: ambiguous
        ("tomorrow", "validation_error"),
    ],
)
def test_a_bad_expiry_is_refused_and_nothing_is_written(
    client: TestClient, admin_headers: dict[str, str], expires_at: str, code: str
):
    org_id = _new_org(client, admin_headers, "studio")
    r = _create_key(client, admin_headers, org_id, expires_at=expires_at)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == code
    listed = client.get(f"/v1/organizations/{org_id}/api-keys", headers=admin_headers)
    assert listed.json()["items"] == []
    r = client.post(
        "/v1/verifiers",
        json={"name": "v", "email": "v@registry.example", "expires_at": expires_at},
        headers=admin_headers,
    )
    assert r.status_code == 422 and r.json()["code"] == code
    assert client.get("/v1/verifiers", headers=admin_headers).json()["items"] == []


def test_verifier_keys_take_an_expiry_and_have_none_by_default(
    client: TestClient, admin_headers: dict[str, str]
):
    plain = client.post(
        "/v1/verifiers", json={"name": "v", "email": "v@registry.example"}, headers=admin_headers
    )
    until = datetime.now(UTC) + timedelta(days=7)
    dated = client.post(
        "/v1/verifiers",
        json={"name": "w", "email": "w@registry.example", "expires_at": _iso(until)},
        headers=admin_headers,
    )
    assert plain.status_code == dated.status_code == 201
    assert plain.json()["expires_at"] is None
    assert abs(_parse(dated.json()["expires_at"]) - until) < timedelta(seconds=1)


# -- the CLI ------------------------------------------------------------------------------------


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONSENT_ENV", "development")
    monkeypatch.setenv("CONSENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSENT_DATABASE_URL", settings.resolved_database_url)
    assert settings.master_key is not None
    monkeypatch.setenv("CONSENT_MASTER_KEY", settings.master_key.get_secret_value())
    get_settings.cache_clear()

    def run(*args: str) -> Any:
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args))

    yield run
    get_settings.cache_clear()


def _admins(run_cli: Any) -> dict[str, list[str]]:
    result = run_cli("accounts", "list-admins")
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    return {row[0]: row for row in rows}


def test_cli_lists_and_revokes_admin_keys_and_revocation_is_immediate(
    client: TestClient, run_cli: Any, admin_key: str, auditor: Org
):
    before = datetime.now(UTC)
    created = run_cli("accounts", "create-admin", "--name", "Ops on call")
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    headers = bearer(key)
    assert client.get("/v1/organizations", headers=headers).status_code == 200
    admins = _admins(run_cli)
    # Two admin keys: the fixture's (no default in the service call) and the CLI's (90 days).
    assert len(admins) == 2
    (key_id,) = [i for i, row in admins.items() if row[5] == "Ops on call"]
    row = admins[key_id]
    assert row[1] == "active" and row[4] == key[:10]
    expires = _parse(row[3])
    assert before + timedelta(days=90) <= expires <= datetime.now(UTC) + timedelta(days=90)
    assert key not in created.output.splitlines()[0]  # the clear key is only on the last line

    revoked = run_cli("accounts", "revoke-admin", key_id)
    assert revoked.exit_code == 0, revoked.output
    r = client.get("/v1/organizations", headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert _admins(run_cli)[key_id][1] == "revoked"
    # Audited, naming the key and not the person it was for.
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=auditor.headers)
    revocations = [
        e["event"]
        for e in events.json()["items"]
        if e["event"]["action"] == "api_key.revoked"
        and e["event"]["subjects"].get("api_key_id") == key_id
    ]
    assert len(revocations) == 1
    assert "Ops on call" not in str(revocations[0])
    # Revoking again changes nothing and records nothing more.
    assert run_cli("accounts", "revoke-admin", key_id).exit_code == 0
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=auditor.headers)
    assert [e["event"]["action"] for e in events.json()["items"]].count("api_key.revoked") == 1
    # The fixture's admin key still works.
    assert client.get("/v1/organizations", headers=bearer(admin_key)).status_code == 200


def test_cli_revoke_admin_only_knows_admin_keys(
    client: TestClient, run_cli: Any, admin_headers: dict[str, str], studio: Org
):
    keys = client.get(f"/v1/organizations/{studio.id}/api-keys", headers=admin_headers)
    studio_key_id = keys.json()["items"][0]["id"]
    for key_id in (studio_key_id, "key_nonexistent"):
        result = run_cli("accounts", "revoke-admin", key_id)
        assert result.exit_code == 1
        assert "no admin key" in result.output
    assert client.get("/v1/consents", headers=studio.headers).status_code == 200


def test_cli_create_admin_takes_an_expiry_and_refuses_a_bad_one(client: TestClient, run_cli: Any):
    until = datetime.now(UTC) + timedelta(days=3)
    ok = run_cli("accounts", "create-admin", "--name", "short", "--expires-at", _iso(until))
    assert ok.exit_code == 0, ok.output
    (row,) = _admins(run_cli).values()
    assert abs(_parse(row[3]) - until) < timedelta(seconds=1)
    for bad in ("2020-01-01T00:00:00Z", "2999-01-01T00:00:00", "soon"):
        result = run_cli("accounts", "create-admin", "--name", "x", "--expires-at", bad)
        assert result.exit_code == 2, result.output
        assert "--expires-at" in result.output
    assert len(_admins(run_cli)) == 1  # nothing written
    bad = run_cli(
        "accounts", "create-verifier", "--name", "v", "--email", "v@x.example",
        "--expires-at", "2020-01-01T00:00:00Z",
    )  # fmt: skip
    assert bad.exit_code == 2
    good = run_cli(
        "accounts", "create-verifier", "--name", "v", "--email", "v@x.example",
        "--expires-at", _iso(until),
    )  # fmt: skip
    assert good.exit_code == 0, good.output
    verifier = bearer(good.output.split()[-1])
    assert client.get("/v1/verifications", headers=verifier).status_code == 200
