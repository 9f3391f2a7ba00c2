"""Mail that really leaves: through a real SMTP server on loopback (aiosmtpd), or the Maildir.

Every test goes through the HTTP API like a client, lets the outbox worker deliver, and reads
what the SMTP server received.
"""

from __future__ import annotations

import datetime as dt
import email
import mailbox
import os
import socket
import ssl
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from babel.dates import format_date
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlmodel import Session, select

from consent_service.config import Settings
from consent_service.consents.models import ConsentGrant
from consent_service.consents.sweep import sweep_ending
from consent_service.main import create_app
from consent_service.outbox.models import OutboxAttempt, OutboxMessage
from consent_service.wiring import Services
from tests.conftest import PRODUCTION_CONTROLLER, HolderAccount, Org
from tests.consents.conftest import accept, ask
from tests.licences.conftest import licence_scope


@dataclass
class Inbox:
    """What a real SMTP server on loopback received."""

    messages: list[Message] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(email.message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def to(self, address: str, *, account_mail: bool = False) -> list[Message]:
        """Mail to `address`; without the sign-up's confirmation link unless asked for."""
        with self.lock:
            return [
                m
                for m in self.messages
                if address in str(m["To"])
                and (account_mail or m["Subject"] != "Confirm your email address")
            ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def smtp_server(inbox: Inbox) -> Iterator[int]:
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture
def settings(settings: Settings, smtp_server: int) -> Settings:
    """The suite's settings, with mail going to the SMTP server on loopback."""
    return settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{smtp_server}?starttls=false")}
    )


def deliver(app: FastAPI) -> int:
    services: Services = app.state.services
    return services.outbox_worker().run_once()


def subject_of(message: Message) -> str:
    """The subject as the reader sees it (a non-ASCII one arrives RFC 2047-encoded, a long
    one folded)."""
    return " ".join(str(make_header(decode_header(message["Subject"]))).split())


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def test_a_request_grant_licence_and_withdrawal_each_mail_the_holder(
    app: FastAPI,
    client: TestClient,
    make_org: Callable[..., Org],
    register_holder: Callable[..., HolderAccount],
    inbox: Inbox,
) -> None:
    studio = make_org(name="Northlight Films")
    holder = register_holder(stage_name="Imogen Stage")

    req = ask(client, studio, holder.id)
    assert req.status_code == 201, req.text
    req_body = req.json()
    deliver(app)
    (first,) = inbox.to(holder.email)
    assert first["Subject"] == "Northlight Films asks for your consent"
    assert first["To"] == f"Imogen Stage <{holder.email}>"
    text = body_of(first)
    assert f"http://testserver/portal/requests/{req_body['id']}" in text
    # Nothing about the person beyond the name: no legal name, birth date, terms.
    assert "Testperson" not in text and "1990" not in text
    assert "The Long Night" not in text
    assert first["Message-ID"].startswith("<msg_")
    assert first["Message-ID"].endswith("@localhost>")

    granted = accept(client, holder.headers, req_body)
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["consent"]["id"]
    lic = client.post(
        "/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope()},
        headers=studio.headers,
    )
    assert lic.status_code == 201, lic.text
    w = client.post(f"/v1/consents/{consent_id}/withdraw", json={}, headers=holder.headers)
    assert w.status_code == 200, w.text
    deliver(app)

    received = inbox.to(holder.email)
    assert [m["Subject"] for m in received] == [
        "Northlight Films asks for your consent",
        "Your consent to Northlight Films: your receipt",
        "Northlight Films received a licence under your consent",
        "You withdrew your consent to Northlight Films",
    ]
    for message in received[1:]:
        assert f"/portal/consents/{consent_id}" in body_of(message)


def test_a_mail_server_that_is_down_delays_mail_never_the_request(
    app: FastAPI,
    client: TestClient,
    studio: Org,
    holder: HolderAccount,
    smtp_server: int,
    inbox: Inbox,
) -> None:
    services: Services = app.state.services
    deliver(app)  # the sign-up's confirmation link leaves while the server is up
    down = services.settings.model_copy(
        update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{_free_port()}?starttls=false")}
    )
    # The same database, with mail pointed at a port where nothing listens.
    from consent_service.wiring import mail_transport

    channels = dict(services.outbox_channels)
    channels["mail"].transport = mail_transport(down)  # type: ignore[attr-defined]
    req = ask(client, studio, holder.id)
    assert req.status_code == 201, req.text  # the request never waits for mail
    assert deliver(app) == 1
    with Session(services.engine) as session:
        (message,) = session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == "consent_request.new")
        ).all()
        (attempt,) = session.exec(
            select(OutboxAttempt).where(OutboxAttempt.message_id == message.id)
        ).all()
    assert message.state == "pending" and message.attempts == 1
    assert message.due_at > message.created_at  # retried later, with backoff
    assert not attempt.ok and attempt.error is not None
    assert attempt.error.startswith("SMTP unreachable")
    assert inbox.to(holder.email) == []

    # The server is back; once the retry is due, the same message (same id) is delivered.
    channels["mail"].transport = mail_transport(services.settings)  # type: ignore[attr-defined]
    with Session(services.engine) as session:
        row = session.get(OutboxMessage, message.seq)
        assert row is not None
        row.due_at = row.created_at
        session.add(row)
        session.commit()
    assert deliver(app) == 1
    (received,) = inbox.to(holder.email)
    assert received["Message-ID"] == f"<{message.id}@localhost>"


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "smtp.crt", tmp_path / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_starttls_and_credentials_reach_a_server_that_requires_both(
    tmp_path: Path, inbox: Inbox
) -> None:
    from consent_service.mail.transport import SmtpTransport

    cert, key = _self_signed(tmp_path)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"registry",
            b"s3cret pass",
        )
        if ok:
            inbox.logins.append(data.login.decode())
        return AuthResult(success=ok)

    port = _free_port()
    controller = Controller(
        inbox,
        hostname="localhost",
        port=port,
        tls_context=tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        transport = SmtpTransport.from_url(
            f"smtp://registry:s3cret%20pass@localhost:{port}", cafile=str(cert)
        )
        assert transport.starttls and transport.describe().endswith("(STARTTLS)")
        message = email.message.EmailMessage()
        message["From"] = "registry@localhost"
        message["To"] = "someone@example.org"
        message["Subject"] = "hello"
        message.set_content("body")
        outcome = transport.send(message)
        assert outcome.ok, outcome
        wrong = SmtpTransport.from_url(
            f"smtp://registry:wrong@localhost:{port}", cafile=str(cert), timeout=3
        ).send(message)
        assert not wrong.ok  # refused (535, or the server hangs up after the failures)
    finally:
        controller.stop()
    assert inbox.logins == ["registry"]
    assert [m["Subject"] for m in inbox.messages] == ["hello"]


def test_without_smtp_mail_lands_in_a_private_maildir(
    settings: Settings, make_org: Callable[..., Org], register_holder: Callable[..., HolderAccount]
) -> None:
    plain = settings.model_copy(update={"smtp_url": None})
    application = create_app(plain)
    try:
        with TestClient(application) as client:
            studio = make_org()
            holder = register_holder()
            assert ask(client, studio, holder.id).status_code == 201
        deliver(application)
    finally:
        application.state.services.close()
    box = mailbox.Maildir(plain.mail_dir, create=False)
    (message,) = [m for m in box if "asks for your consent" in str(m["Subject"])]
    assert str(message["To"]).endswith(f"<{holder.email}>")
    assert "asks for your consent" in str(message["Subject"])
    assert stat.S_IMODE(os.stat(plain.mail_dir).st_mode) == 0o700
    for name in os.listdir(plain.mail_dir / "new"):
        assert stat.S_IMODE(os.stat(plain.mail_dir / "new" / name).st_mode) == 0o600


def test_mail_queued_before_an_erasure_is_never_sent(
    app: FastAPI, client: TestClient, studio: Org, holder: HolderAccount, inbox: Inbox
) -> None:
    assert ask(client, studio, holder.id).status_code == 201
    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code < 300, r.text
    deliver(app)
    assert inbox.messages == []
    services: Services = app.state.services
    with Session(services.engine) as session:
        states = {m.state for m in session.exec(select(OutboxMessage))}
    assert states == {"cancelled"}


def test_a_consent_ending_within_30_days_is_announced_once(
    app: FastAPI,
    client: TestClient,
    make_org: Callable[..., Org],
    holder: HolderAccount,
    inbox: Inbox,
) -> None:
    studio = make_org(name="Northlight Films")
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    req = ask(
        client,
        studio,
        holder.id,
        valid_from=(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        valid_until=ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    assert req.status_code == 201, req.text
    granted = accept(client, holder.headers, req.json())
    assert granted.status_code == 201, granted.text
    consent_id = granted.json()["consent"]["id"]
    far = ask(client, studio, holder.id)  # ends in two years: not announced
    assert accept(client, holder.headers, far.json()).status_code == 201

    services: Services = app.state.services
    assert sweep_ending(services.session) == [consent_id]
    assert sweep_ending(services.session) == []  # once per grant
    with Session(services.engine) as session:
        grant = session.get(ConsentGrant, consent_id)
        assert grant is not None and grant.ending_notice_at is not None
    deliver(app)
    subjects = [m["Subject"] for m in inbox.to(holder.email)]
    assert f"Your consent to Northlight Films ends on {ends:%-d %B %Y}" in subjects


def test_production_needs_encrypted_smtp_and_email_confirmation(tmp_path: Path) -> None:
    from consent_service.config import ConfigurationError

    base = {
        "env": "production",
        "data_dir": tmp_path,
        "master_key": "q6dbbwIYqmSYYsP7yHh8sIGcHTG1yrUGsmxE3uKyrxw=",
        "database_url": "postgresql+psycopg://x@127.0.0.1/x",
        "keystore_url": "postgresql+psycopg://keys@127.0.0.2/keys",
        "issuer": "https://consent.example",
        **PRODUCTION_CONTROLLER,
    }
    cases = {
        None: "CONSENT_SMTP_URL is required",
        "smtp://relay.example:25?starttls=false": "STARTTLS or smtps",
        "http://relay.example": "must look like smtp://",
    }
    for url, problem in cases.items():
        settings = Settings(**base, smtp_url=url)
        with pytest.raises(ConfigurationError, match=problem):
            settings.check_production()
    with pytest.raises(ConfigurationError, match="REQUIRE_EMAIL_CONFIRMATION"):
        Settings(
            **base, smtp_url="smtp://u:p@relay.example:587", require_email_confirmation=False
        ).check_production()
    for url in ("smtp://u:p@relay.example:587", "smtps://relay.example", "smtp://127.0.0.1:25"):
        Settings(**base, smtp_url=url).check_production()


def test_mail_is_written_in_the_language_the_holder_chose(
    app: FastAPI,
    client: TestClient,
    make_org: Callable[..., Org],
    register_holder: Callable[..., HolderAccount],
    inbox: Inbox,
) -> None:
    """A Spanish-speaking holder's mail is Spanish, a French-speaking one's French (the day in
    words in their language); the same events still mail an English one in English."""
    studio = make_org(name="Northlight Films")
    lucia = register_holder(stage_name="Lucía Ejemplo", language="es")
    claire = register_holder(stage_name="Claire Exemple", language="fr")
    ends = dt.datetime.now(dt.UTC) + dt.timedelta(days=20)
    window = {
        "valid_from": (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "valid_until": ends.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for holder in (lucia, claire):
        req = ask(client, studio, holder.id, **window)
        assert req.status_code == 201, req.text
        assert accept(client, holder.headers, req.json()).status_code == 201
    services: Services = app.state.services
    assert len(sweep_ending(services.session)) == 2
    deliver(app)

    # From the sign-up's confirmation link on, every mail is in Spanish.
    spanish = inbox.to(lucia.email, account_mail=True)
    assert [subject_of(m) for m in spanish] == [
        "Confirme su dirección de correo electrónico",
        "Northlight Films le pide su consentimiento",
        "Su consentimiento a Northlight Films: su recibo",
        "Su consentimiento a Northlight Films termina el "
        + format_date(ends.date(), "long", locale="es"),
    ]
    first = body_of(spanish[1])
    assert first.startswith("Hola, Lucía Ejemplo:")
    assert "No se permite nada hasta que usted lo acepte" in first
    assert "Recibe este mensaje porque su imagen está registrada" in first
    assert "Nothing is allowed" not in first and "You get this message" not in first

    french = inbox.to(claire.email, account_mail=True)
    assert subject_of(french[0]) == "Confirmez votre adresse e-mail"
    assert subject_of(french[1]) == "Northlight Films vous demande votre consentement"
    assert body_of(french[1]).startswith("Bonjour Claire Exemple,")
    assert subject_of(french[-1]) == (
        "Votre consentement à Northlight Films prend fin le "
        + format_date(ends.date(), "long", locale="fr")
    )
