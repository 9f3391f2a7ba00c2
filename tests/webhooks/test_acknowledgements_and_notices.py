"""Deletion acknowledgements, the erasure event and the time-driven notices (flows/notices.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.flows.notices import sweep_notices
from consent_service.wiring import Services
from tests.conftest import Org
from tests.licences.conftest import Grant
from tests.vault import media
from tests.webhooks.conftest import Endpoint
from tests.webhooks.receiver import Receiver


def download_a_reference(client: TestClient, grant: Grant) -> str:
    r = client.post(
        f"/v1/holders/{grant.holder.id}/references",
        files={"file": ("face.png", media.png_with_text(), "image/png")},
        data={"attribute": "face"},
        headers=grant.holder.headers,
    )
    assert r.status_code == 201, r.text
    reference_id = str(r.json()["id"])
    got = client.get(f"/v1/references/{reference_id}/content", headers=grant.studio.headers)
    assert got.status_code == 200, got.text
    return reference_id


def audit_actions(client: TestClient, admin_headers: dict[str, str]) -> list[str]:
    items = client.get("/v1/audit/events?limit=200", headers=admin_headers).json()["items"]
    return [item["event"]["action"] for item in items]


def test_a_studio_that_downloaded_must_acknowledge_deletion_after_a_withdrawal(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    make_org: Callable[..., Org],
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
    auditor: Org,
    admin_headers: dict[str, str],
) -> None:
    endpoint = make_endpoint(grant.studio, ["deletion.acknowledgement_due"])
    licence = issue(grant)
    unused = issue(grant)  # nothing downloaded under this one: nothing owed for it
    download_a_reference(client, grant)
    # The download went under the first licence issued that covers the attribute.
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200
    assert set(r.json()["revoked_licences"]) == {licence["id"], unused["id"]}

    # The studio is told by webhook, the holder and auditors see it open.
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 1)
    (due,) = receiver.of(endpoint.path)
    assert due.event_type == "deletion.acknowledgement_due"
    assert due.data["licence_id"] == licence["id"]
    assert due.data["cause"] == "consent_withdrawn"
    own = client.get(
        f"/v1/holders/{grant.holder.id}/deletion-acknowledgements", headers=grant.holder.headers
    ).json()["items"]
    assert [(a["licence_id"], a["status"]) for a in own] == [(licence["id"], "open")]
    export = client.get(f"/v1/holders/{grant.holder.id}/export", headers=grant.holder.headers)
    assert [a["licence_id"] for a in export.json()["deletion_acknowledgements"]] == [licence["id"]]
    seen = client.get("/v1/deletion-acknowledgements", headers=auditor.headers).json()["items"]
    assert [a["licence_id"] for a in seen] == [licence["id"]]
    # Another studio's key (and the studio itself for a licence with nothing owed): 404.
    other = make_org("studio")
    before = audit_actions(client, admin_headers)
    url = f"/v1/licences/{licence['id']}/deletion-acknowledgement"
    r = client.post(url, headers=other.headers)
    assert r.status_code == 404 and r.json()["code"] == "deletion_acknowledgement_not_found"
    r = client.post(
        f"/v1/licences/{unused['id']}/deletion-acknowledgement", headers=grant.studio.headers
    )
    assert r.status_code == 404
    assert audit_actions(client, admin_headers) == before
    # A day later it is still open: reminded again.
    services: Services = app.state.services
    sent = sweep_notices(services.session, now=datetime.now(UTC) + timedelta(days=1, minutes=1))
    assert sent.acknowledgement_reminders == 1
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 2)
    # The studio acknowledges: audited, closed, no more reminders.
    r = client.post(url, headers=grant.studio.headers)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "acknowledged"
    assert client.post(url, headers=grant.studio.headers).status_code == 201  # idempotent
    assert audit_actions(client, admin_headers).count("deletion.acknowledged") == 1
    assert (
        client.get("/v1/deletion-acknowledgements", headers=auditor.headers).json()["items"] == []
    )
    later = datetime.now(UTC) + timedelta(days=3)
    assert sweep_notices(services.session, now=later).acknowledgement_reminders == 0


def test_erasure_tells_the_studios_and_opens_acknowledgements(
    client: TestClient,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
) -> None:
    endpoint = make_endpoint(grant.studio, ["holder.erased", "deletion.acknowledgement_due"])
    licence = issue(grant)
    download_a_reference(client, grant)
    r = client.delete(f"/v1/holders/{grant.holder.id}", headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 2)
    kinds = {d.event_type: d.data for d in receiver.of(endpoint.path)}
    assert kinds["holder.erased"]["holder_id"] == grant.holder.id
    assert kinds["deletion.acknowledgement_due"]["licence_id"] == licence["id"]
    r = client.post(
        f"/v1/licences/{licence['id']}/deletion-acknowledgement", headers=grant.studio.headers
    )
    assert r.status_code == 201, r.text


def test_a_licence_ending_within_seven_days_is_announced_once(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
) -> None:
    endpoint = make_endpoint(grant.studio, ["licence.expiring"])
    soon = issue(grant, valid_until=(datetime.now(UTC) + timedelta(days=3)).isoformat())
    issue(grant, valid_until=(datetime.now(UTC) + timedelta(days=30)).isoformat())
    services: Services = app.state.services
    assert sweep_notices(services.session).expiry_warnings == 1
    assert sweep_notices(services.session).expiry_warnings == 0  # once only
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 1)
    (warning,) = receiver.of(endpoint.path)
    assert warning.data["licence_id"] == soon["id"]
    assert warning.data["expires_at"].startswith(soon["expires_at"][:16])


def test_revoking_a_licence_on_its_own_makes_its_downloader_owe_an_acknowledgement(
    client: TestClient, grant: Grant, issue: Callable[..., dict[str, Any]]
) -> None:
    licence = issue(grant)
    download_a_reference(client, grant)
    r = client.post(
        f"/v1/licences/{licence['id']}/revoke", json={"reason": "cut"}, headers=grant.holder.headers
    )
    assert r.status_code == 200, r.text
    owed = client.get(
        f"/v1/holders/{grant.holder.id}/deletion-acknowledgements", headers=grant.holder.headers
    ).json()["items"]
    assert [(a["licence_id"], a["cause"], a["status"]) for a in owed] == [
        (licence["id"], "licence_revoked", "open")
    ]
    # Other holders' and studios' callers see nothing of it.
    r = client.get(
        f"/v1/holders/{grant.holder.id}/deletion-acknowledgements", headers=grant.studio.headers
    )
    assert r.status_code == 404
