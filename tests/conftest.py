"""Test fixtures: a real database built by `alembic upgrade head`, the app, an HTTP client.

`CONSENT_TEST_BACKEND=sqlite` (default) or `postgresql` (needs `CONSENT_TEST_DATABASE_URL`,
which `.ci/run` sets; the suite creates its own database there and drops it at the end).
Every test starts from an empty, migrated database.
"""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlmodel import Session

from consent_service import migrations
from consent_service.accounts import service as accounts
from consent_service.config import Settings
from consent_service.crypto.keystore import keystore_url_for
from consent_service.main import create_app

BACKEND = os.environ.get("CONSENT_TEST_BACKEND", "sqlite")
# Tables whose rows survive between tests (none: every test starts empty).
KEEP_TABLES = {"alembic_version"}

# The controller that consent receipts name: required in production (config.py), so every
# test that builds a complete production configuration adds these.
PRODUCTION_CONTROLLER = {
    "controller_name": "Northlight Registry Ltd",
    "controller_contact": "Data Protection Officer",
    "controller_address": "1 Example Street, London EC1A 1AA",
    "controller_country": "GB",
    "controller_email": "dpo@registry.example",
    "controller_phone": "+44 20 7946 0000",
    "policy_url": "https://registry.example/privacy",
    "storage_location": "GB (London data centre)",
}


def pytest_report_header(config: pytest.Config) -> str:
    return f"consent_service test backend: {BACKEND}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs CONSENT_TEST_BACKEND=postgresql")
    for item in items:
        if "postgresql" in item.keywords and BACKEND != "postgresql":
            item.add_marker(skip_pg)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs only on the PostgreSQL backend")


@pytest.fixture(scope="session")
def master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass
class TestDatabase:
    backend: str
    template_url: str
    template_path: Path | None = None
    engine: sa.Engine | None = None
    keystore_engine: sa.Engine | None = None
    tables: list[str] = field(default_factory=list)

    def fresh_url(self, tmp_path: Path) -> str:
        """A URL to an empty migrated database (and key store beside it) for one test."""
        if self.backend == "sqlite":
            assert self.template_path is not None
            target = tmp_path / "consent.db"
            shutil.copyfile(self.template_path, target)
            url = f"sqlite:///{target.as_posix()}"
            template_keys = make_url(keystore_url_for(self.template_url)).database
            assert template_keys is not None
            keys = make_url(keystore_url_for(url)).database
            assert keys is not None
            shutil.copyfile(template_keys, keys)
            return url
        assert self.engine is not None and self.keystore_engine is not None
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
            conn.execute(sa.text("INSERT INTO audit_head (id, next_seq) VALUES (1, 0)"))
        with self.keystore_engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE holder_key"))
        return self.template_url


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDatabase]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path.as_posix()}"
        migrations.upgrade(url)
        yield TestDatabase(backend="sqlite", template_url=url, template_path=path)
        return
    if BACKEND != "postgresql":
        raise pytest.UsageError(f"unknown CONSENT_TEST_BACKEND {BACKEND!r}")
    base = os.environ.get("CONSENT_TEST_DATABASE_URL")
    if not base:
        raise pytest.UsageError("CONSENT_TEST_BACKEND=postgresql needs CONSENT_TEST_DATABASE_URL")
    base_url = make_url(base)
    if base_url.drivername == "postgresql":
        base_url = base_url.set(drivername="postgresql+psycopg")
    name = f"consent_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = base_url.set(database=name).render_as_string(hide_password=False)
    try:
        # The key store, <name>_keystore, is created by the migrations (keystore.py).
        migrations.upgrade(url)
        engine = sa.create_engine(url)
        keystore_engine = sa.create_engine(keystore_url_for(url))
        tables = [t for t in sa.inspect(engine).get_table_names() if t not in KEEP_TABLES]
        yield TestDatabase(
            backend="postgresql",
            template_url=url,
            engine=engine,
            keystore_engine=keystore_engine,
            tables=tables,
        )
        engine.dispose()
        keystore_engine.dispose()
    finally:
        with admin.connect() as conn:
            for db in (name, f"{name}_keystore"):
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": db},
                )
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}"'))
        admin.dispose()


@pytest.fixture
def database_url(test_database: TestDatabase, tmp_path: Path) -> str:
    return test_database.fresh_url(tmp_path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, master_key: str) -> Settings:
    return Settings(
        env="development",
        data_dir=tmp_path / "data",
        database_url=database_url,
        master_key=master_key,
        issuer="http://testserver",
        # Real argon2id, at a cost that keeps the suite fast.
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        # The suite logs many holders in from one address; throttling has its own tests.
        login_attempts_per_minute=100_000,
        registrations_per_minute=100_000,
        # The serving process's expiry timer stays off: tests sweep when they mean to.
        expiry_sweep_seconds=0,
        # Likewise its outbox worker: tests of mail and webhooks deliver when they mean to
        # (or start it themselves), and no other test sees a worker's writes.
        outbox_in_process=False,
        # Confirming the email address before consenting has its own tests (tests/accounts/
        # test_account_links.py); the rest of the suite's holders consent without it.
        require_email_confirmation=False,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.services.close()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db_session(app: FastAPI) -> Iterator[Session]:
    """A session on the app's database, for fixtures that build state through the services."""
    with app.state.services.session() as session:
        yield session


def bearer(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


@pytest.fixture
def admin_key(db_session: Session) -> str:
    _row, key = accounts.create_admin_key(db_session, name="test admin")
    db_session.commit()
    return key


@pytest.fixture
def admin_headers(admin_key: str) -> dict[str, str]:
    return bearer(admin_key)


@dataclass
class Org:
    id: str
    key: str
    headers: dict[str, str]


@dataclass
class HolderAccount:
    id: str
    email: str
    password: str
    token: str
    headers: dict[str, str]
    body: dict[str, Any]


@pytest.fixture
def make_org(client: TestClient, admin_headers: dict[str, str]) -> Callable[..., Org]:
    def make(kind: str = "studio", name: str | None = None) -> Org:
        name = name or f"{kind.title()} {secrets.token_hex(3)}"
        r = client.post(
            "/v1/organizations", json={"name": name, "kind": kind}, headers=admin_headers
        )
        assert r.status_code == 201, r.text
        org_id = r.json()["id"]
        r = client.post(
            f"/v1/organizations/{org_id}/api-keys", json={"name": "ci"}, headers=admin_headers
        )
        assert r.status_code == 201, r.text
        key = r.json()["key"]
        return Org(id=org_id, key=key, headers=bearer(key))

    return make


@pytest.fixture
def studio(make_org: Callable[..., Org]) -> Org:
    return make_org("studio")


@pytest.fixture
def auditor(make_org: Callable[..., Org]) -> Org:
    return make_org("auditor")


def login(client: TestClient, email: str, password: str) -> str:
    r = client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": password}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def death_certificate() -> bytes:
    """A small PNG standing in for a scanned death certificate."""
    from tests.vault import media

    return media.png_with_text()


def record_death(
    client: TestClient, holder_id: str, date_of_death: str, headers: dict[str, str]
) -> httpx.Response:
    """POST /v1/holders/{id}/death with the certificate, as `headers` (a verifier, an executor)."""
    return client.post(
        f"/v1/holders/{holder_id}/death",
        files={"file": ("certificate.png", death_certificate(), "image/png")},
        data={"date_of_death": date_of_death},
        headers=headers,
    )


@pytest.fixture
def death_recorder(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    """The headers of a verifier who records deaths for the tests' deceased holders."""
    r = client.post(
        "/v1/verifiers",
        json={"name": "Death Recorder", "email": f"dr-{secrets.token_hex(4)}@registry.example"},
        headers=admin_headers,
    )
    assert r.status_code == 201, r.text
    return bearer(r.json()["key"])


def sign_up(client: TestClient, body: dict[str, Any]) -> tuple[str, str]:
    """Self sign-up as a client does it: POST (202, no id), sign in, ask who I am.

    Returns (holder id, access token)."""
    r = client.post("/v1/holders", json=body)
    assert r.status_code == 202, r.text
    token = login(client, body["email"], body["password"])
    me = client.get("/v1/holders/me", headers=bearer(token))
    assert me.status_code == 200, me.text
    return str(me.json()["id"]), token


@pytest.fixture
def register_holder(
    client: TestClient, request: pytest.FixtureRequest
) -> Callable[..., HolderAccount]:
    """Register a holder and log it in. With `date_of_death`, the holder is registered alive
    and a verifier then records the death with a certificate (deceased people are never
    self-registered: flows/death.py)."""

    def register(**overrides: Any) -> HolderAccount:
        died = overrides.pop("date_of_death", None)
        body: dict[str, Any] = {
            "legal_name": "Imogen Testperson",
            "email": f"holder-{secrets.token_hex(4)}@example.org",
            "password": "a long enough passphrase",
            "date_of_birth": "1990-05-17",
            "jurisdiction": "GB",
        }
        body.update(overrides)
        body = {k: v for k, v in body.items() if v is not None}
        # Self sign-up answers 202 without the id (the same for a registered address): the
        # holder signs in and asks who they are, as a client would.
        holder_id, token = sign_up(client, body)
        if died is not None:
            recorder = request.getfixturevalue("death_recorder")
            d = record_death(client, holder_id, died, recorder)
            assert d.status_code == 201, d.text
        return HolderAccount(
            id=holder_id,
            email=body["email"],
            password=body["password"],
            token=token,
            headers=bearer(token),
            body=body,
        )

    return register


@pytest.fixture
def holder(register_holder: Callable[..., HolderAccount]) -> HolderAccount:
    return register_holder()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a loopback port, for tests that need real concurrency."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    else:
        raise RuntimeError("live server did not start")
    yield base
    server.should_exit = True
    thread.join(timeout=10)
