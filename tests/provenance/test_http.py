"""POST /v1/provenance/verify: the file check online, through the API like a client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent_service.config import Settings
from consent_service.main import create_app
from consent_service.provenance.schemas import ProvenanceVerdictOut
from tests.conftest import Org
from tests.licences.conftest import Grant
from tests.provenance import media
from tests.provenance.conftest import Registry
from tests.vault import media as vault_media

Sign = Callable[..., tuple[int, dict[str, Any]]]
VERIFY = "/v1/provenance/verify"


@pytest.fixture
def signed_png(tmp_path: Path, sign: Sign, licensed: dict[str, Any], registry: Registry) -> bytes:
    source = tmp_path / "render.png"
    source.write_bytes(media.png())
    output = tmp_path / "signed.png"
    code, answer = sign(
        source, output, licensed["token"], "--use", "attribute=face", *registry.options()
    )
    assert code == 0, answer
    return output.read_bytes()


def post_file(client: TestClient, data: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        VERIFY, files={"file": ("upload.bin", data, "application/octet-stream")}, headers=headers
    )


def test_a_signed_file_gets_the_verdict(
    client: TestClient, signed_png: bytes, licensed: dict[str, Any], settings: Settings
):
    r = post_file(client, signed_png)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["valid"], body["code"]) == (True, "VALID")
    ProvenanceVerdictOut.model_validate(body)  # the documented shape
    # CONSENT_C2PA_TRUST_ANCHORS names the development root (conftest): the signer is trusted.
    assert body["manifest"]["validation_state"] == "Trusted"
    assert body["licence"]["licence_id"] == licensed["id"]
    assert body["recorded"]["use"] == {"attribute": "face"}
    assert list((settings.data_dir / "tmp" / "provenance").iterdir()) == []  # upload removed


def test_a_file_edited_after_signing_or_with_a_broken_signature_is_refused(
    client: TestClient, signed_png: bytes
):
    r = post_file(client, media.tamper_content("png", signed_png))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "manifest_invalid"
    assert "assertion.dataHash.mismatch" in r.json()["verdict"]["manifest"]["failures"]
    r = post_file(client, media.break_claim_signature(signed_png))
    assert (r.status_code, r.json()["code"]) == (422, "manifest_invalid")
    assert "claimSignature.mismatch" in r.json()["verdict"]["manifest"]["failures"]


def test_files_without_a_manifest_or_of_another_type_are_refused(client: TestClient):
    r = post_file(client, media.jpeg())
    assert (r.status_code, r.json()["code"]) == (422, "no_manifest")
    r = post_file(client, b"just some text, not media at all")
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_format")
    # Ogg is media the service takes elsewhere, but not a type C2PA covers.
    r = post_file(client, vault_media.ogg_opus_with_comments())
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_format")
    r = client.post(VERIFY, content=media.jpeg(), headers={"content-type": "image/jpeg"})
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_media_type")
    r = client.post(VERIFY, files={"other": ("a.png", media.png(), "image/png")})
    assert (r.status_code, r.json()["code"]) == (422, "validation_error")


def test_consent_withdrawn_after_signing_answers_revoked(
    client: TestClient, signed_png: bytes, grant: Grant
):
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    r = post_file(client, signed_png)
    assert r.status_code == 200, r.text
    assert (r.json()["valid"], r.json()["code"]) == (False, "REVOKED")


def test_a_studio_checking_a_file_learns_when_the_licence_is_not_its_own(
    client: TestClient, signed_png: bytes, grant: Grant, make_org: Callable[..., Org]
):
    r = post_file(client, signed_png, headers=grant.studio.headers)
    assert (r.status_code, r.json()["code"]) == (200, "VALID")
    other = make_org("studio")
    r = post_file(client, signed_png, headers=other.headers)
    assert (r.status_code, r.json()["code"]) == (422, "licence_of_another_studio")
    r = post_file(client, signed_png, headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"provenance_max_upload_bytes": 4096}))
    with TestClient(app) as client:
        yield client
    app.state.services.close()


def test_a_file_over_the_size_limit_is_refused_while_it_arrives(
    small_client: TestClient, tmp_path: Path, settings: Settings
):
    big = media.wav() * 4
    assert len(big) > 4096
    r = post_file(small_client, big)
    assert (r.status_code, r.json()["code"]) == (413, "file_too_large")
    leftovers = settings.data_dir / "tmp" / "provenance"
    assert not leftovers.exists() or list(leftovers.iterdir()) == []
