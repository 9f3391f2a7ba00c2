"""Cleaning uploads takes bounded memory, whatever the file declares (issue 11, item 1).

A PNG of a few hundred kilobytes can declare 7000 x 7000 pixels and decode to 147 MB; three
at once took the server past 1.5 GB. The cleaner reads the header, refuses an image whose
decoded size is past the budget before decoding it, and cleans at most N files at once.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from consent_service.config import Settings
from consent_service.vault import sanitize
from tests.conftest import HolderAccount
from tests.vault import media
from tests.vault.conftest import upload


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # One slot, and a short bounded wait, so that the busy path is quick to reach.
    return settings.model_copy(
        update={"vault_clean_concurrency": 1, "vault_clean_wait_seconds": 0.2}
    )


def _stored(app: FastAPI) -> list[str]:
    return list(app.state.services.vault_storage.names())


def _listed(client: TestClient, holder: HolderAccount) -> list[object]:
    r = client.get(f"/v1/holders/{holder.id}/references", headers=holder.headers)
    assert r.status_code == 200
    return list(r.json()["items"])


def test_a_png_declaring_huge_dimensions_is_refused_before_decoding(
    client: TestClient, app: FastAPI, holder: HolderAccount
):
    bomb = media.png_bomb(7000, 7000)
    assert len(bomb) < 1024 * 1024  # small on the wire ...
    assert 7000 * 7000 * 3 > app.state.services.settings.vault_max_decoded_bytes  # ... not decoded

    r = upload(client, holder, bomb, filename="me.png", content_type="image/png")
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "image_too_large_decoded"
    assert _stored(app) == [] and _listed(client, holder) == []
    # Nothing is left in the upload directory either.
    uploads = app.state.services.settings.data_dir / "tmp" / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_pillows_own_bomb_check_answers_the_same_4xx(
    client: TestClient, app: FastAPI, holder: HolderAccount
):
    # Past Image.MAX_IMAGE_PIXELS (set from the budget): Pillow refuses at open, and that too is
    # the decoded-size refusal, not a 500.
    assert Image.MAX_IMAGE_PIXELS == app.state.services.settings.vault_max_decoded_bytes
    r = upload(client, holder, media.png_bomb(9000, 9000, colour_type=0), content_type="image/png")
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "image_too_large_decoded"
    assert _stored(app) == []


def test_an_image_within_the_budget_is_cleaned_and_stored(
    client: TestClient, app: FastAPI, holder: HolderAccount
):
    r = upload(client, holder, media.png_with_text(), content_type="image/png")
    assert r.status_code == 201, r.text
    r = upload(client, holder, media.jpeg_with_gps(size=(640, 480)), content_type="image/jpeg")
    assert r.status_code == 201, r.text
    assert len(_stored(app)) == 2


def test_past_the_clean_slots_an_upload_answers_503_with_retry_after(
    client: TestClient, app: FastAPI, holder: HolderAccount, tmp_path: Path
):
    cleaner: sanitize.MediaCleaner = app.state.services.media_cleaner
    assert cleaner.slots == 1
    # A clean held in progress: it reads its file from a pipe, and blocks until it is fed.
    pipe = tmp_path / "held.png"
    os.mkfifo(pipe)
    outcome: list[object] = []

    def held_clean() -> None:
        try:
            outcome.append(cleaner.clean(pipe, tmp_path / "held.clean", sanitize.PNG))
        except Exception as exc:  # the outcome is not what this test is about
            outcome.append(exc)

    thread = threading.Thread(target=held_clean)
    thread.start()
    # Opening the pipe for writing returns once the clean has opened it for reading, that is
    # once it holds the slot (it takes the slot first): no sleep, no race.
    with open(pipe, "wb") as feed:
        r = upload(client, holder, media.png_with_text(), content_type="image/png")
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "media_cleaning_busy"
        assert int(r.headers["Retry-After"]) >= 1
        assert _stored(app) == [] and _listed(client, holder) == []
        feed.write(media.png_with_text())
    thread.join(timeout=30)
    assert not thread.is_alive() and outcome
    # The slot is free again: the same upload now goes through.
    r = upload(client, holder, media.png_with_text(), content_type="image/png")
    assert r.status_code == 201, r.text
    assert len(_stored(app)) == 1
