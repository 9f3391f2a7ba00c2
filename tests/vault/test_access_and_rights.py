"""Studio access under licences, holder export, and erasure (crypto-shredding), on both stores."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.audit.repository import events_for_holder
from consent_service.crypto.envelope import aad_for, decrypt
from consent_service.crypto.keyring import KeyDestroyed
from consent_service.crypto.stream import decrypt_stream
from consent_service.vault.models import Reference
from consent_service.vault.storage import StorageError
from tests.conftest import bearer, sign_up
from tests.vault import media
from tests.vault.conftest import upload


def _events(app, holder_id: str) -> list[Any]:
    with Session(app.state.services.engine) as session:
        return list(events_for_holder(session, holder_id))


def test_studio_reads_a_reference_only_under_a_licence_covering_its_attribute(
    client: TestClient, app, holder, studio, make_org, make_grant, issue
):
    face = upload(client, holder, media.png_with_text(), attribute="face").json()["id"]
    voice = upload(client, holder, media.wav_with_info(), attribute="voice").json()["id"]
    url = "/v1/references/{}/content"

    # No grant, no licence: nothing.
    assert client.get(url.format(face), headers=studio.headers).status_code == 404

    grant = make_grant()
    licence = issue(grant)  # scope: attributes ["face"]
    r = client.get(url.format(face), headers=studio.headers)
    assert r.status_code == 200
    assert r.content == client.get(url.format(face), headers=holder.headers).content
    # The licence covers the face, not the voice; another studio has no licence at all.
    assert client.get(url.format(voice), headers=studio.headers).status_code == 404
    other = make_org("studio")
    assert client.get(url.format(face), headers=other.headers).status_code == 404

    read = [e for e in _events(app, holder.id) if e.action == "reference.downloaded"]
    studio_reads = [e for e in read if e.subject_ids.get("licence_id")]
    assert len(studio_reads) == 1
    assert studio_reads[0].subject_ids["licence_id"] == licence["id"]
    assert studio_reads[0].subject_ids["reference_id"] == face

    r = client.post(
        f"/v1/licences/{licence['id']}/revoke", json={"reason": "test"}, headers=holder.headers
    )
    assert r.status_code == 200, r.text
    assert client.get(url.format(face), headers=studio.headers).status_code == 404

    # A new licence, then the holder withdraws the consent: access ends with it.
    issue(grant)
    assert client.get(url.format(face), headers=studio.headers).status_code == 200
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=holder.headers)
    assert r.status_code == 200, r.text
    assert client.get(url.format(face), headers=studio.headers).status_code == 404


def test_export_holds_everything_about_the_holder_and_only_for_them(
    client: TestClient, holder, register_holder, studio, admin_headers, make_grant, issue
):
    ref = upload(client, holder, media.jpeg_with_gps()).json()
    grant = make_grant()
    licence = issue(grant)
    r = client.get(f"/v1/holders/{holder.id}/export", headers=holder.headers)
    assert r.status_code == 200
    doc = r.json()
    assert doc["format"] == "consent-service/holder-export/v1"
    assert doc["holder"]["id"] == holder.id
    assert doc["holder"]["email"] == holder.email
    assert doc["holder"]["legal_name"] == holder.body["legal_name"]
    assert [c["id"] for c in doc["consents"]] == [grant.id]
    assert doc["consents"][0]["signed_name"] == "Imogen Testperson"
    assert doc["consents"][0]["receipts"]
    assert [q["consent_id"] for q in doc["consent_requests"]] == [grant.id]
    assert [lic["id"] for lic in doc["licences"]] == [licence["id"]]
    assert [x["id"] for x in doc["references"]] == [ref["id"]]
    assert "exif.gps" in doc["references"][0]["stripped_metadata"]
    actions = [e["action"] for e in doc["audit_events"]]
    assert {"holder.registered", "reference.uploaded", "consent.granted"} <= set(actions)
    assert all(e["subjects"].get("holder_id") == holder.id for e in doc["audit_events"])

    other = register_holder()
    for headers in (other.headers, studio.headers):
        assert client.get(f"/v1/holders/{holder.id}/export", headers=headers).status_code == 404
    assert client.get(f"/v1/holders/{holder.id}/export", headers=admin_headers).status_code == 200


def _copy_of_vault(app, holder_id: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """What a backup holds: the stored objects and the reference rows' wrapped keys."""
    storage = app.state.services.vault_storage
    objects = {name: b"".join(storage.get(name)) for name in storage.names(f"{holder_id}/")}
    with Session(app.state.services.engine) as session:
        rows = session.query(Reference).filter(Reference.holder_id == holder_id).all()
        keys = {row.id: bytes(row.wrapped_key) for row in rows if row.wrapped_key}
    return objects, keys


def _decrypt_copy(holder_key: bytes, holder_id: str, objects, keys) -> list[bytes]:
    out = []
    for name, blob in objects.items():
        ref_id = name.split("/")[1]
        object_key = decrypt(
            holder_key, keys[ref_id], aad=aad_for("reference-key", holder_id, ref_id)
        )
        out.append(
            b"".join(decrypt_stream(object_key, [blob], context=("reference", holder_id, ref_id)))
        )
    return out


def test_erasure_shreds_everything_and_every_way_back_is_refused(
    client: TestClient, app, holder, studio, admin_headers, make_grant, issue
):
    upload(client, holder, media.png_with_text())
    upload(client, holder, media.mp3_frames(), attribute="voice")
    grant = make_grant()
    licence = issue(grant)
    objects, keys = _copy_of_vault(app, holder.id)
    assert len(objects) == 2
    keyring = app.state.services.keyring
    with Session(app.state.services.engine) as session:
        holder_key = keyring.data_key(session, holder.id)
    # The backup is readable with the holder's key while it exists.
    assert len(_decrypt_copy(holder_key, holder.id, objects, keys)) == 2
    del holder_key

    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    erased_at = r.json()["erased_at"]
    assert r.json()["id"] == holder.id

    # The key is gone: the backup copy cannot be decrypted by the service any more.
    with Session(app.state.services.engine) as session:
        with pytest.raises(KeyDestroyed):
            keyring.data_key(session, holder.id)
        rows = session.query(Reference).filter(Reference.holder_id == holder.id).all()
        assert rows and all(r.wrapped_key is None and r.deleted_at for r in rows)
    assert app.state.services.vault_storage.names(f"{holder.id}/") == []

    # Grants withdrawn, licences revoked.
    consent = client.get(f"/v1/consents/{grant.id}", headers=studio.headers)
    assert consent.json()["status"] == "withdrawn"
    lic = client.get(f"/v1/licences/{licence['id']}", headers=studio.headers)
    assert lic.json()["status"] == "revoked"

    # Every way back in is refused.
    assert client.get(f"/v1/holders/{holder.id}", headers=holder.headers).status_code == 401
    r = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": holder.password},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder.id, "terms": grant.body["terms"]},
        headers=studio.headers,
    )
    assert r.status_code in (404, 409, 422), r.text
    assert client.get(f"/v1/holders/{holder.id}", headers=admin_headers).status_code == 404
    assert client.get(f"/v1/holders/{holder.id}/export", headers=admin_headers).status_code == 404

    # The pseudonymous audit trail stays; erasure is idempotent.
    actions = [e.action for e in _events(app, holder.id)]
    assert actions.count("holder.erased") == 1 and "reference.uploaded" in actions
    again = client.delete(f"/v1/holders/{holder.id}", headers=admin_headers)
    assert again.status_code == 200 and again.json()["erased_at"] == erased_at
    assert [e.action for e in _events(app, holder.id)].count("holder.erased") == 1

    # The service no longer knows the email: the person may register afresh, as someone new.
    fresh_id, _token = sign_up(client, holder.body)
    assert fresh_id != holder.id


class _CrashesHalfWay:
    """A store that deletes one object of a sweep and then fails, like a process dying there."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def delete_prefix(self, prefix: str) -> int:
        names = self.inner.names(prefix)
        self.inner.delete(names[0])
        raise StorageError("connection lost")

    def get(self, name: str) -> Iterator[bytes]:
        return self.inner.get(name)

    def put(self, name: str, chunks: Iterable[bytes]) -> int:
        return int(self.inner.put(name, chunks))


def test_erasure_cut_short_half_way_is_finished_by_a_retry(
    client: TestClient, app, holder, make_grant
):
    for data in (media.png_with_text(), media.webp_with_exif()):
        assert upload(client, holder, data).status_code == 201
    grant = make_grant()
    real = app.state.services.vault_storage
    wired = app.state.services
    app.state.services = replace(wired, vault_storage=_CrashesHalfWay(real))
    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 503 and r.json()["code"] == "storage_unavailable"
    # Nothing in the database changed: the holder is live, the grant active, one object left.
    assert client.get(f"/v1/holders/{holder.id}", headers=holder.headers).status_code == 200
    assert client.get(f"/v1/consents/{grant.id}", headers=holder.headers).json()["status"] == (
        "active"
    )
    assert len(real.names(f"{holder.id}/")) == 1

    app.state.services = wired
    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    assert real.names(f"{holder.id}/") == []
    token = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": holder.email, "password": holder.password},
    )
    assert token.status_code == 400
    assert client.get(f"/v1/holders/{holder.id}", headers=bearer("csk_nope")).status_code == 401


def test_export_includes_representatives_and_decline_reasons_in_clear(
    client: TestClient, holder, studio
):
    rep = {
        "kind": "agent",
        "name": "Agnes Agent",
        "email": "agnes.agent@example.org",
        "password": "representative passphrase",
        "authority_evidence": {
            "type": "agency_agreement",
            "reference": "AG-7",
            "issued_by": "Talent Agency Ltd",
            "issued_on": "2026-01-01",
        },
    }
    r = client.post(f"/v1/holders/{holder.id}/representatives", json=rep, headers=holder.headers)
    assert r.status_code == 201, r.text
    from tests.consents.conftest import make_terms

    req = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder.id, "terms": make_terms()},
        headers=studio.headers,
    )
    assert req.status_code == 201, req.text
    r = client.post(
        f"/v1/consent-requests/{req.json()['id']}/decline",
        json={"reason": "not this project"},
        headers=holder.headers,
    )
    assert r.status_code == 200, r.text

    doc = client.get(f"/v1/holders/{holder.id}/export", headers=holder.headers).json()
    [exported] = doc["representatives"]
    assert exported["name"] == "Agnes Agent" and exported["email"] == "agnes.agent@example.org"
    assert exported["authority_evidence"]["reference"] == "AG-7"
    assert exported["authority_evidence"]["issued_on"] == "2026-01-01"
    [declined] = doc["consent_requests"]
    assert declined["decline_reason"] == "not this project"
