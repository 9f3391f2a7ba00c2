"""After an erasure, SQLite's files on disk hold none of the erased holder's bytes.

The database file, the key store's file and both write-ahead logs are read raw, as a backup
tool would copy them: the holder's wrapped data key and their ciphertexts (a personal field, a
reference's wrapped object key) must be in none of them once the erasure has answered.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service.crypto.keystore import keystore_url_for
from consent_service.db import sqlite_files, truncate_wal
from tests.conftest import BACKEND
from tests.vault import media

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="reads SQLite's files on disk")


def _raw(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""


def test_erasure_leaves_no_key_or_ciphertext_in_the_database_file_or_the_wal(
    client: TestClient, app, holder, database_url: str
) -> None:
    r = client.post(
        f"/v1/holders/{holder.id}/references",
        files={"file": ("face.png", media.png_with_text(), "image/png")},
        data={"attribute": "face"},
        headers=holder.headers,
    )
    assert r.status_code == 201, r.text
    wrapped_key = app.state.services.keyring.store.get(holder.id)
    assert wrapped_key is not None
    with app.state.services.engine.connect() as conn:
        name_ciphertext, email_ciphertext = conn.execute(
            sa.text("SELECT legal_name_enc, email_enc FROM holder WHERE id = :h"),
            {"h": holder.id},
        ).one()
        object_key = conn.execute(
            sa.text("SELECT wrapped_key FROM reference WHERE holder_id = :h"), {"h": holder.id}
        ).scalar_one()
    secrets = {
        "wrapped data key": bytes(wrapped_key),
        "legal name ciphertext": bytes(name_ciphertext),
        "email ciphertext": bytes(email_ciphertext),
        "wrapped object key": bytes(object_key),
    }
    assert all(len(value) >= 16 for value in secrets.values())

    # SQLite copies the WAL into the database file every 1000 pages: do it now, so that the
    # holder's rows are in the database file's pages, where a deletion leaves them as free
    # space unless secure_delete overwrites them.
    truncate_wal(app.state.services.engine)
    truncate_wal(app.state.services.keyring.store.engine)
    database, wal, _shm = sqlite_files(database_url)
    keystore, keystore_wal, _shm = sqlite_files(keystore_url_for(database_url))
    # The test looks where the bytes really are.
    assert secrets["wrapped data key"] in _raw(keystore)
    for what in ("legal name ciphertext", "email ciphertext", "wrapped object key"):
        assert secrets[what] in _raw(database), what

    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text

    files = {
        "database": _raw(database),
        "wal": _raw(wal),
        "key store": _raw(keystore),
        "key store wal": _raw(keystore_wal),
    }
    for file, content in files.items():
        for what, value in secrets.items():
            assert value not in content, f"{what} still in the {file} file"
