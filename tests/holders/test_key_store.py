"""Holders' data keys live in a key store apart from the data, and erasure destroys them there.

What a backup tool would copy is read as it is: on SQLite every file under the test's
directory (both databases, their write-ahead logs, the vault), on PostgreSQL every row of
every table of both databases. "Decrypts" is tried literally: every 61-byte window that could
be a wrapped key is unwrapped with the master key under the holder's context.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from consent_service import migrations
from consent_service.config import ConfigurationError, Settings
from consent_service.crypto.envelope import BLOB_VERSION, NONCE_BYTES, DecryptionError, MasterKey
from consent_service.crypto.keystore import holder_key, keystore_url_for
from consent_service.db import truncate_wal, utcnow
from consent_service.main import create_app
from tests.conftest import BACKEND, PRODUCTION_CONTROLLER, HolderAccount
from tests.vault import media

WRAPPED_KEY_BYTES = 1 + NONCE_BYTES + 32 + 16  # version, nonce, AES-256 key, GCM tag


def _unwrappable_keys(content: bytes, master: MasterKey, holder_id: str) -> int:
    """How many windows of `content` unwrap to the holder's data key."""
    found = 0
    start = content.find(BLOB_VERSION)
    while start != -1 and start + WRAPPED_KEY_BYTES <= len(content):
        try:
            master.unwrap(content[start : start + WRAPPED_KEY_BYTES], context=f"data:{holder_id}")
        except DecryptionError:
            pass
        else:
            found += 1
        start = content.find(BLOB_VERSION, start + 1)
    return found


def _files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _tables_of(url: str) -> dict[str, bytes]:
    """Every value of every table of a database, as bytes, one blob per table."""
    engine = sa.create_engine(url)
    try:
        dump: dict[str, bytes] = {}
        with engine.connect() as conn:
            for table in sa.inspect(conn).get_table_names():
                parts: list[bytes] = []
                for row in conn.execute(sa.text(f'SELECT * FROM "{table}"')):
                    for value in row:
                        if isinstance(value, bytes | memoryview):
                            parts.append(bytes(value))
                        elif value is not None:
                            parts.append(str(value).encode())
                dump[table] = b"\x00".join(parts)
        return dump
    finally:
        engine.dispose()


def _everything(app, tmp_path: Path, database_url: str) -> dict[str, bytes]:
    """What backups of the data and of the key store would hold, by where it was found."""
    services = app.state.services
    if BACKEND == "sqlite":
        truncate_wal(services.engine)  # the data into the database files, as a backup sees it
        truncate_wal(services.keyring.store.engine)
        return _files_under(tmp_path)
    data = {f"data:{t}": v for t, v in _tables_of(database_url).items()}
    keys = {f"keystore:{t}": v for t, v in _tables_of(keystore_url_for(database_url)).items()}
    return data | keys


def _data_only(app, tmp_path: Path, database_url: str) -> dict[str, bytes]:
    """What a backup of the data alone would hold (no key store)."""
    everything = _everything(app, tmp_path, database_url)
    return {
        where: content
        for where, content in everything.items()
        if "keystore" not in where  # consent.keystore.db*, keystore:<table>
    }


def _upload(client: TestClient, holder: HolderAccount) -> None:
    r = client.post(
        f"/v1/holders/{holder.id}/references",
        files={"file": ("face.png", media.png_with_text(), "image/png")},
        data={"attribute": "face"},
        headers=holder.headers,
    )
    assert r.status_code == 201, r.text


def test_a_backup_of_the_data_alone_holds_no_key_of_a_holder(
    client: TestClient, app, holder: HolderAccount, tmp_path: Path, database_url: str
) -> None:
    _upload(client, holder)
    master = app.state.services.keyring.master
    everything = _everything(app, tmp_path, database_url)
    # The key exists, and the scan finds it: in the key store, and only there.
    where_found = [w for w, c in everything.items() if _unwrappable_keys(c, master, holder.id)]
    assert where_found and all("keystore" in where for where in where_found), where_found
    for where, content in _data_only(app, tmp_path, database_url).items():
        assert _unwrappable_keys(content, master, holder.id) == 0, where


def test_after_erasure_nothing_of_the_holder_decrypts_from_any_file_or_table(
    client: TestClient, app, holder: HolderAccount, tmp_path: Path, database_url: str
) -> None:
    _upload(client, holder)
    services = app.state.services
    master = services.keyring.master
    wrapped = services.keyring.store.get(holder.id)
    assert wrapped is not None
    with services.engine.connect() as conn:
        name, email = conn.execute(
            sa.text("SELECT legal_name_enc, email_enc FROM holder WHERE id = :h"),
            {"h": holder.id},
        ).one()
    ciphertexts = {"wrapped key": wrapped, "name": bytes(name), "email": bytes(email)}
    before = _everything(app, tmp_path, database_url)
    assert any(_unwrappable_keys(c, master, holder.id) for c in before.values())
    assert any(ciphertexts["name"] in c for c in before.values())

    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text

    assert services.keyring.store.get(holder.id) is None
    after = _everything(app, tmp_path, database_url)
    for where, content in after.items():
        assert _unwrappable_keys(content, master, holder.id) == 0, where
        for what, value in ciphertexts.items():
            assert value not in content, f"{what} still in {where}"
    # And through the API the person is gone.
    r = client.get(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code in (401, 404, 410), r.text


def test_a_crash_between_the_erasure_commit_and_the_key_destruction_leaves_no_live_key(
    client: TestClient, app, settings: Settings, holder: HolderAccount, admin_headers
) -> None:
    store = app.state.services.keyring.store
    wrapped = store.get(holder.id)
    assert wrapped is not None
    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    assert store.get(holder.id) is None
    # The state a crash right after the data commit leaves: the holder erased, the key alive.
    store.put(holder.id, wrapped)
    assert store.get(holder.id) == wrapped

    # 1. Retrying the erasure destroys it.
    r = client.delete(f"/v1/holders/{holder.id}", headers=admin_headers)
    assert r.status_code == 200, r.text
    assert store.get(holder.id) is None

    # 2. So does the next start of the service, without anyone retrying.
    store.put(holder.id, wrapped)
    restarted = create_app(settings)
    try:
        with TestClient(restarted):
            assert restarted.state.services.keyring.store.get(holder.id) is None
    finally:
        restarted.state.services.close()


def test_orphan_keys_go_only_on_request_and_once_their_registration_cannot_be_in_flight(
    client: TestClient, app, holder: HolderAccount, db_session
) -> None:
    from consent_service.rights.service import ORPHAN_KEY_GRACE, destroy_keys_of_erased

    store = app.state.services.keyring.store
    store.put("hld_young_orphan", b"\x01" + b"y" * 60)
    with store.engine.begin() as conn:
        conn.execute(
            holder_key.insert().values(
                owner_id="hld_old_orphan",
                wrapped=b"\x01" + b"o" * 60,
                created_at=utcnow() - ORPHAN_KEY_GRACE - timedelta(minutes=1),
            )
        )
    keyring = app.state.services.keyring
    # The startup sweep never takes a key without a holder row for an orphan: against the
    # wrong database, every key would look like one.
    assert destroy_keys_of_erased(db_session, keyring) == []
    assert store.get("hld_old_orphan") is not None
    destroyed = destroy_keys_of_erased(db_session, keyring, orphans=True)
    assert destroyed == ["hld_old_orphan"]
    assert store.get("hld_young_orphan") is not None
    assert store.get(holder.id) is not None  # a live holder's key is never touched


def test_production_needs_a_key_store_of_its_own(tmp_path: Path) -> None:
    base = {
        "env": "production",
        "data_dir": tmp_path,
        "master_key": "k" * 44,
        "database_url": "postgresql+psycopg://app@db.internal/consent",
        "issuer": "https://consent.example",
        "smtp_url": "smtp://relay:secret@mail.internal:587",
        **PRODUCTION_CONTROLLER,
    }
    with pytest.raises(ConfigurationError, match="CONSENT_KEYSTORE_URL is required"):
        Settings(**base).check_production()
    same = Settings(**base, keystore_url="postgresql+psycopg://keys@db.internal/consent")
    with pytest.raises(ConfigurationError, match="another database"):
        same.check_production()
    Settings(
        **base, keystore_url="postgresql+psycopg://keys@keys.internal/consent_keys"
    ).check_production()


def test_the_key_store_defaults_beside_the_database(tmp_path: Path) -> None:
    development = Settings(data_dir=tmp_path)
    expected = f"sqlite:///{tmp_path.as_posix()}/consent.keystore.db"
    assert development.resolved_keystore_url == expected
    pg = Settings(data_dir=tmp_path, database_url="postgresql+psycopg://u:p@h:5432/consent")
    assert pg.resolved_keystore_url == "postgresql+psycopg://u:p@h:5432/consent_keystore"


def test_migration_0017_moves_existing_keys_to_the_key_store_and_back(
    client: TestClient, app, holder: HolderAccount, database_url: str
) -> None:
    services = app.state.services
    wrapped = services.keyring.store.get(holder.id)
    assert wrapped is not None
    services.close()

    migrations.downgrade(database_url, "0012")
    data = sa.create_engine(database_url)
    try:
        with data.connect() as conn:
            back = conn.execute(
                sa.text("SELECT wrapped FROM data_key WHERE owner_id = :h"), {"h": holder.id}
            ).scalar_one()
        assert bytes(back) == wrapped
        # A key store emptied (e.g. a fresh file): the upgrade fills it from the data.
        keystore = sa.create_engine(keystore_url_for(database_url))
        with keystore.begin() as conn:
            conn.execute(holder_key.delete())
        keystore.dispose()
        migrations.upgrade(database_url)
        with data.connect() as conn:
            assert "data_key" not in sa.inspect(conn).get_table_names()
    finally:
        data.dispose()
    assert services.keyring.store.get(holder.id) == wrapped
    r = client.get(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    assert r.json()["legal_name"] == holder.body["legal_name"]


def test_keys_sweep_command_destroys_the_key_a_crash_left_alive(
    client: TestClient, app, settings: Settings, holder: HolderAccount, monkeypatch
) -> None:
    from typer.testing import CliRunner

    from consent_service.cli import app as cli
    from consent_service.config import get_settings

    store = app.state.services.keyring.store
    wrapped = store.get(holder.id)
    assert wrapped is not None
    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    store.put(holder.id, wrapped)  # as a crash right after the data commit leaves it

    monkeypatch.setenv("CONSENT_ENV", "development")
    monkeypatch.setenv("CONSENT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CONSENT_DATABASE_URL", settings.resolved_database_url)
    assert settings.master_key is not None
    monkeypatch.setenv("CONSENT_MASTER_KEY", settings.master_key.get_secret_value())
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["keys", "sweep"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 data key(s) destroyed" in result.output
    assert store.get(holder.id) is None
