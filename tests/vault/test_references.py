"""Reference data through the HTTP API, on the local directory and on S3 (moto on loopback).

Every test here runs twice (see `vault_backend` in conftest.py).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from consent_service.crypto.stream import MAGIC, ciphertext_size
from tests.vault import media
from tests.vault.conftest import upload

SECRETS = [media.OWNER.encode(), b"51.5074", media.SERIAL.encode(), b"ExampleCam"]


def _stored(app: FastAPI) -> dict[str, bytes]:
    storage = app.state.services.vault_storage
    return {name: b"".join(storage.get(name)) for name in storage.names()}


def test_jpeg_with_gps_comes_back_without_it_and_upright(client: TestClient, app, holder):
    original = media.jpeg_with_gps(size=(64, 32), orientation=6)
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get_ifd(0x8825)  # the fixture really carries GPS

    r = upload(client, holder, original, filename="me.jpg", content_type="image/jpeg")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["content_type"] == "image/jpeg"
    assert body["attribute"] == "face"
    assert {"exif.gps", "exif.serial_numbers", "exif.owner", "exif.timestamps", "comment"} <= set(
        body["stripped_metadata"]
    )

    got = client.get(f"/v1/references/{body['id']}/content", headers=holder.headers)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    assert len(got.content) == body["size"]
    for secret in SECRETS:
        assert secret not in got.content
    with Image.open(io.BytesIO(got.content)) as im:
        assert len(im.getexif()) == 0
        assert "icc_profile" not in im.info and "comment" not in im.info
        # Orientation 6 (rotate 90° clockwise to view) was applied to the pixels.
        assert im.size == (32, 64)
        assert im.getpixel((28, 3))[2] > 150  # the blue marker moved to the top right


def test_mp3_with_id3_tags_comes_back_without_them(client: TestClient, holder, tmp_path: Path):
    original = media.mp3_with_id3(tmp_path / "voice.mp3")
    r = upload(client, holder, original, attribute="voice", filename="voice.mp3")
    assert r.status_code == 201, r.text
    assert {"id3v1", "id3v2"} <= set(r.json()["stripped_metadata"])
    got = client.get(f"/v1/references/{r.json()['id']}/content", headers=holder.headers).content
    assert got == media.mp3_frames()
    for secret in SECRETS:
        assert secret not in got


@pytest.mark.parametrize(
    ("maker", "attribute", "content_type", "expected"),
    [
        (lambda p: media.png_with_text(), "face", "image/png", {"png_text"}),
        (lambda p: media.webp_with_exif(), "body", "image/webp", {"exif", "exif.owner"}),
        (lambda p: media.wav_with_info(), "voice", "audio/wav", {"riff_list"}),
        (media.flac_with_comments, "voice", "audio/flac", {"vorbis_comment", "flac_picture"}),
        (lambda p: media.ogg_opus_with_comments(), "voice", "audio/ogg", {"vorbis_comment"}),
        (lambda p: media.mp4_with_location(), "face", "video/mp4", {"mp4_udta", "mp4_meta"}),
    ],
    ids=["png", "webp", "wav", "flac", "ogg", "mp4"],
)
def test_each_type_is_stored_without_identifying_metadata(
    client: TestClient, holder, tmp_path: Path, maker, attribute, content_type, expected
):
    original = maker(tmp_path / "in")
    r = upload(client, holder, original, attribute=attribute)
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == content_type
    assert expected <= set(r.json()["stripped_metadata"])
    got = client.get(f"/v1/references/{r.json()['id']}/content", headers=holder.headers).content
    assert got and len(got) == r.json()["size"]
    for secret in SECRETS:
        assert secret not in got


def test_mp4_with_a_timed_metadata_track_is_refused(client: TestClient, app, holder):
    r = upload(client, holder, media.mp4_with_location(extra_track=b"meta"))
    assert r.status_code == 422
    assert r.json()["code"] == "mp4_track_refused"
    assert _stored(app) == {}


def test_type_is_decided_by_the_bytes_not_the_name(client: TestClient, app, holder):
    png = media.png_with_text()
    r = upload(client, holder, png, filename="song.mp3", content_type="audio/mpeg")
    assert r.status_code == 201
    assert r.json()["content_type"] == "image/png"

    text = b"#!/bin/sh\necho this is not a photo\n"
    r = upload(client, holder, text, filename="photo.jpg", content_type="image/jpeg")
    assert r.status_code == 415
    assert r.json()["code"] == "unsupported_media_type"
    # An image cannot be a voice sample.
    r = upload(client, holder, media.jpeg_with_gps(), attribute="voice", filename="a.wav")
    assert r.status_code == 422
    assert r.json()["code"] == "attribute_mismatch"
    assert len(_stored(app)) == 1


@pytest.mark.parametrize(
    "data",
    [media.jpeg_with_gps()[:300], media.wav_with_info(frames=2000)[:1000], b"\x89PNG\r\n\x1a\n"],
    ids=["jpeg", "wav", "png-header-only"],
)
def test_truncated_file_is_refused_and_nothing_is_stored(client: TestClient, app, holder, data):
    attribute = "voice" if data.startswith(b"RIFF") else "face"
    r = upload(client, holder, data, attribute=attribute)
    assert r.status_code in (415, 422), r.text
    assert r.json()["code"] in {"unreadable_media", "unsupported_media_type"}
    assert _stored(app) == {}
    listed = client.get(f"/v1/holders/{holder.id}/references", headers=holder.headers).json()
    assert listed["items"] == []


def test_oversized_file_is_refused_while_it_streams(client: TestClient, app, holder):
    app.state.services.settings.vault_max_image_bytes = 4096
    big = media.jpeg_with_gps() + b"\x00" * 8192
    r = upload(client, holder, big)
    assert r.status_code == 413
    assert r.json()["code"] == "reference_too_large"
    assert _stored(app) == {}
    # Audio has its own, larger limit.
    r = upload(client, holder, media.wav_with_info(frames=4000), attribute="voice")
    assert r.status_code == 201


def test_store_holds_only_ciphertext(client: TestClient, app, holder):
    r = upload(client, holder, media.wav_with_info(frames=300_000), attribute="voice")
    assert r.status_code == 201
    ref = r.json()
    cleaned = client.get(f"/v1/references/{ref['id']}/content", headers=holder.headers).content
    stored = _stored(app)
    assert list(stored) == [f"{holder.id}/{ref['id']}"]
    blob = stored[f"{holder.id}/{ref['id']}"]
    assert blob.startswith(MAGIC)
    assert len(blob) == ciphertext_size(len(cleaned))
    # No run of the plaintext (e.g. the repeated PCM samples, the RIFF header) is in the blob.
    assert cleaned[:12] not in blob and cleaned[5000:5064] not in blob
    assert b"\x01\x02\x01\x02\x01\x02\x01\x02" not in blob


def test_ciphertext_moved_to_another_reference_fails_to_decrypt(client: TestClient, app, holder):
    a = upload(client, holder, media.png_with_text()).json()
    b = upload(client, holder, media.webp_with_exif()).json()
    storage = app.state.services.vault_storage
    storage.put(f"{holder.id}/{b['id']}", list(storage.get(f"{holder.id}/{a['id']}")))
    r = client.get(f"/v1/references/{b['id']}/content", headers=holder.headers)
    assert r.status_code == 500
    assert r.json()["code"] == "reference_unreadable"
    # The original is still fine.
    assert (
        client.get(f"/v1/references/{a['id']}/content", headers=holder.headers).status_code == 200
    )


def test_same_content_uploaded_again_returns_the_existing_reference(
    client: TestClient, app, holder
):
    first = upload(client, holder, media.png_with_text())
    again = upload(client, holder, media.png_with_text(), filename="other-name.png")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    assert len(_stored(app)) == 1


def test_holder_lists_downloads_and_deletes_only_their_own(
    client: TestClient, app, holder, register_holder, studio
):
    other = register_holder()
    ids = [
        upload(client, holder, data).json()["id"]
        for data in (media.png_with_text(), media.webp_with_exif())
    ]
    page = client.get(
        f"/v1/holders/{holder.id}/references", params={"limit": 1}, headers=holder.headers
    ).json()
    assert [item["id"] for item in page["items"]] == ids[:1]
    page2 = client.get(
        f"/v1/holders/{holder.id}/references",
        params={"limit": 1, "cursor": page["next_cursor"]},
        headers=holder.headers,
    ).json()
    assert [item["id"] for item in page2["items"]] == ids[1:]

    for who in (other.headers, studio.headers):
        assert client.get(f"/v1/holders/{holder.id}/references", headers=who).status_code == 404
        assert client.get(f"/v1/references/{ids[0]}/content", headers=who).status_code == 404
        assert client.delete(f"/v1/references/{ids[0]}", headers=who).status_code == 404
    r = upload(client, other, media.png_with_text())
    assert r.status_code == 201
    assert (
        client.post(
            f"/v1/holders/{holder.id}/references",
            files={"file": ("a.png", media.png_with_text(), "image/png")},
            data={"attribute": "face"},
            headers=other.headers,
        ).status_code
        == 404
    )

    assert client.delete(f"/v1/references/{ids[0]}", headers=holder.headers).status_code == 204
    assert f"{holder.id}/{ids[0]}" not in _stored(app)
    assert client.get(f"/v1/references/{ids[0]}/content", headers=holder.headers).status_code == 404
    assert client.delete(f"/v1/references/{ids[0]}", headers=holder.headers).status_code == 404
    listed = client.get(f"/v1/holders/{holder.id}/references", headers=holder.headers).json()
    assert [item["id"] for item in listed["items"]] == ids[1:]


def test_every_read_is_audited(client: TestClient, app, holder, admin_headers):
    ref = upload(client, holder, media.png_with_text()).json()
    client.get(f"/v1/references/{ref['id']}/content", headers=holder.headers)
    from sqlmodel import Session

    from consent_service.audit.repository import events_for_holder

    with Session(app.state.services.engine) as session:
        actions = [e.action for e in events_for_holder(session, holder.id)]
    assert actions[-2:] == ["reference.uploaded", "reference.downloaded"]


def test_malformed_multipart_and_missing_fields_are_client_errors(client: TestClient, holder):
    url = f"/v1/holders/{holder.id}/references"
    r = client.post(url, content=b"not multipart", headers=holder.headers)
    assert r.status_code == 415
    r = client.post(url, files={"file": ("a.png", media.png_with_text())}, headers=holder.headers)
    assert r.status_code == 422
    r = upload(client, holder, media.png_with_text(), attribute="tail")
    assert r.status_code == 422
    r = client.post(
        url,
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nabc',
        headers={**holder.headers, "content-type": "multipart/form-data; boundary=xyz"},
    )
    assert r.status_code in (400, 415, 422)


def test_a_file_larger_than_one_part_streams_through_in_chunks(client: TestClient, app, holder):
    # 9 MB: several 1 MiB cipher chunks and, on S3, a multipart upload of two parts.
    import os
    import struct

    pcm = os.urandom(9 * 1024 * 1024)
    wav = (
        b"RIFF"
        + struct.pack("<I", 36 + len(pcm))
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data"
        + struct.pack("<I", len(pcm))
        + pcm
    )
    r = upload(client, holder, wav, attribute="voice")
    assert r.status_code == 201, r.text
    got = client.get(f"/v1/references/{r.json()['id']}/content", headers=holder.headers)
    assert got.status_code == 200 and got.content == wav
    blob = _stored(app)[f"{holder.id}/{r.json()['id']}"]
    assert len(blob) == ciphertext_size(len(wav)) and pcm[:4096] not in blob


def test_sweep_finds_only_objects_no_live_reference_points_to(client: TestClient, app, holder):
    from datetime import timedelta

    from sqlmodel import Session

    from consent_service.vault.service import sweep_orphans

    live = upload(client, holder, media.png_with_text()).json()["id"]
    storage = app.state.services.vault_storage
    storage.put(f"{holder.id}/ref_left_by_a_failed_commit", [b"CSV1 ciphertext"])
    with Session(app.state.services.engine) as session:
        assert (
            sweep_orphans(session, storage=storage, older_than=timedelta(hours=1), delete=True)
            == []
        )
        found = sweep_orphans(session, storage=storage, older_than=timedelta(0), delete=True)
    assert found == [f"{holder.id}/ref_left_by_a_failed_commit"]
    assert storage.names() == [f"{holder.id}/{live}"]
