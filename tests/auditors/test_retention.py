"""The retention schedule through the real CLI: `consent-service retention apply` deletes
verification evidence (objects, keys, reasons, identifying details) and usage rows past their
period, while every audit event stays and the exported log still verifies offline."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from consent_service.cli import app as cli
from consent_service.config import Settings, get_settings
from tests.auditors.test_auditor_accounts import events, verifies
from tests.conftest import HolderAccount, Org, bearer
from tests.licences.conftest import Grant
from tests.usages.conftest import usage
from tests.vault import media

Issue = Callable[..., dict[str, Any]]


@pytest.fixture
def run_cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("CONSENT_ENV", "development")
    monkeypatch.setenv("CONSENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSENT_DATABASE_URL", settings.resolved_database_url)
    assert settings.master_key is not None
    monkeypatch.setenv("CONSENT_MASTER_KEY", settings.master_key.get_secret_value())

    def run(*args: str, **env: str) -> Any:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        return CliRunner().invoke(cli, list(args))

    yield run
    get_settings.cache_clear()


def _document(client: TestClient, holder: HolderAccount) -> dict[str, Any]:
    r = client.post(
        f"/v1/holders/{holder.id}/identity-documents",
        files={"file": ("passport.png", media.png_with_text(), "image/png")},
        data={"document_type": "passport", "issuing_country": "GB", "number_last4": "4821"},
        headers=holder.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _stored(app: FastAPI) -> list[str]:
    return list(app.state.services.vault_storage.names())


def test_retention_apply_deletes_evidence_and_usages_and_the_log_still_verifies(
    client: TestClient,
    app: FastAPI,
    admin_headers: dict[str, str],
    holder: HolderAccount,
    grant: Grant,
    issue: Issue,
    auditor: Org,
    run_cli: Any,
    tmp_path: Path,
):
    verifier = client.post(
        "/v1/verifiers",
        json={"name": "Vera", "email": "vera@registry.example"},
        headers=admin_headers,
    ).json()
    vh = bearer(verifier["key"])
    decided = _document(client, holder)
    r = client.post(
        f"/v1/verifications/{decided['id']}/reject",
        json={"reason": "The photo of Imogen is blurred"},
        headers=vh,
    )
    assert r.status_code == 200, r.text
    pending = _document(client, holder)
    licence = issue(grant)
    r = client.post(
        f"/v1/licences/{licence['id']}/usages",
        json={"usages": [usage(), usage()]},
        headers=grant.studio.headers,
    )
    assert r.status_code == 201, r.text
    stored_before = _stored(app)
    assert len(stored_before) >= 1
    before = events(client, admin_headers)

    # With the default schedule nothing is due yet; a dry run with a zero schedule changes
    # nothing either, but says what would go.
    assert run_cli("retention", "apply").exit_code == 0
    zero = {
        "CONSENT_EVIDENCE_RETENTION_DAYS": "0",
        "CONSENT_PENDING_EVIDENCE_RETENTION_DAYS": "0",
        "CONSENT_USAGE_RETENTION_DAYS": "0",
    }
    dry = run_cli("retention", "apply", "--dry-run", **zero)
    assert dry.exit_code == 0, dry.output
    assert "2 usage row(s) would be deleted" in dry.output
    assert {decided["id"], pending["id"]} <= set(dry.output.split())
    assert len(events(client, admin_headers)) == len(before)
    listed = client.get(f"/v1/licences/{licence['id']}/usages", headers=grant.studio.headers)
    assert len(listed.json()["items"]) == 2

    done = run_cli("retention", "apply", **zero)
    assert done.exit_code == 0, done.output
    assert "2 usage row(s) were deleted" in done.output

    # The data went: usage rows, the pending case's evidence object and key, the reason.
    listed = client.get(f"/v1/licences/{licence['id']}/usages", headers=grant.studio.headers)
    assert listed.status_code == 200 and listed.json()["items"] == []
    evidence_id = pending["evidence"][0]["id"]
    download = client.get(f"/v1/verifications/{pending['id']}/evidence/{evidence_id}", headers=vh)
    assert download.status_code == 410, download.text
    shown = client.get(f"/v1/verifications/{pending['id']}", headers=vh).json()
    assert [e["deleted"] for e in shown["evidence"]] == [True]
    assert "number_last4" not in shown["details"]
    assert shown["details"]["document_type"] == "passport"
    rejected = client.get(f"/v1/verifications/{decided['id']}", headers=vh).json()
    assert rejected["reason"] is None and rejected["status"] == "rejected"
    assert set(_stored(app)) < set(stored_before)

    # The events stay, one more says what went, and the whole log verifies offline.
    after = events(client, admin_headers)
    assert [e["event"] for e in after[: len(before)]] == [e["event"] for e in before]
    [applied] = [e for e in after[len(before) :] if e["event"]["action"] == "retention.applied"]
    payload = applied["event"]["payload"]
    assert payload["usages"] == 2
    assert set(payload["verification_case_ids"]) == {decided["id"], pending["id"]}
    assert "Imogen" not in json.dumps(applied) and "4821" not in json.dumps(applied)
    assert len([e for e in after if e["event"]["action"] == "usage.recorded"]) == 2
    assert verifies(client, auditor, tmp_path)

    # Applying again finds nothing more and logs nothing.
    again = run_cli("retention", "apply", **zero)
    assert again.exit_code == 0 and "0 verification case(s)" in again.output
    # The only event since is the auditor's read of the log (the export verified above).
    [read] = [e["event"] for e in events(client, admin_headers)[len(after) :]]
    assert read["action"] == "auditor.read"
    assert [r["kind"] for r in read["payload"]["reads"]] == ["audit_export"]
