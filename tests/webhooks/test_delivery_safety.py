"""The webhook channel on its own against a real receiver: SSRF at delivery, no redirects,
a short timeout (webhooks/urls.py, webhooks/channel.py)."""

from __future__ import annotations

import ssl
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import FastAPI

from consent_service.webhooks import urls
from consent_service.webhooks.channel import PreparedDelivery, WebhookChannel, sign_headers
from consent_service.webhooks.service import new_secret
from tests.webhooks.receiver import Receiver

SECRET = new_secret()


def channel(app: FastAPI, *, allow_private: bool, timeout: float = 5.0) -> WebhookChannel:
    return WebhookChannel(
        keyring=app.state.services.keyring, timeout_seconds=timeout, allow_private=allow_private
    )


def delivery(url: str) -> PreparedDelivery:
    return PreparedDelivery(url=url, headers={"content-type": "application/json"}, body=b"{}")


def test_delivery_rechecks_the_address_and_refuses_loopback_in_production(
    app: FastAPI, receiver: Receiver
) -> None:
    # An endpoint stored while allowed (or whose name now resolves to loopback): refused at
    # delivery, before any connection.
    for url in (receiver.url("/x"), receiver.url("/x").replace("127.0.0.1", "localhost")):
        outcome = channel(app, allow_private=False).send(delivery(url))
        assert not outcome.ok and outcome.error is not None
        assert outcome.error.startswith("refused")
    assert receiver.requests == 0


def test_redirects_are_not_followed(app: FastAPI, receiver: Receiver) -> None:
    receiver.answers["/moved"] = [307]
    outcome = channel(app, allow_private=True).send(delivery(receiver.url("/moved")))
    assert not outcome.ok and outcome.status_code == 307
    assert receiver.requests == 1  # the redirect target was never asked


def test_a_receiver_that_hangs_fails_the_attempt_at_the_timeout(
    app: FastAPI, receiver: Receiver
) -> None:
    receiver.hold = threading.Event()
    try:
        outcome = channel(app, allow_private=True, timeout=0.3).send(delivery(receiver.url("/h")))
    finally:
        receiver.hold.set()
    assert not outcome.ok and outcome.error == "timeout"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_not_public(address: str) -> None:
    assert not urls.is_public(address)


@pytest.mark.parametrize("address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address: str) -> None:
    assert urls.is_public(address)


@pytest.mark.parametrize(
    "url",
    ["not a url", "https://", "ftp://example.com/", "https://user:pw@example.com/", "//x.example/"],
)
def test_what_is_not_an_absolute_http_url_is_invalid(url: str) -> None:
    with pytest.raises(urls.InvalidWebhookUrl):
        urls.check(url, allow_private=True)


def _tls_pair(tmp_path: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A throwaway CA and a certificate for `localhost`: (server context, client trust)."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


def test_https_delivery_connects_to_the_checked_address_and_checks_the_name(
    app: FastAPI, tmp_path: Path
) -> None:
    server_tls, client_trust = _tls_pair(tmp_path)
    tls_receiver = Receiver().start(tls=server_tls)
    try:
        tls_receiver.secrets["/tls"] = [SECRET]
        web = WebhookChannel(
            keyring=app.state.services.keyring,
            timeout_seconds=5,
            allow_private=True,
            verify=client_trust,
        )
        body = '{"data":{},"timestamp":"t","type":"consent.withdrawn"}'
        headers = sign_headers(
            [SECRET], message_id="msg_tls", timestamp=datetime.now(UTC), body=body
        )
        prepared = PreparedDelivery(
            url=tls_receiver.url("/tls"), headers=headers, body=body.encode()
        )
        # https://localhost:PORT: resolved (::1 and/or 127.0.0.1), connected by address, the
        # certificate checked for "localhost" through SNI.
        outcome = web.send(prepared)
        assert outcome.ok, outcome
        assert [d.webhook_id for d in tls_receiver.of("/tls")] == ["msg_tls"]
        # The same server under a name its certificate does not carry: the handshake fails.
        wrong = PreparedDelivery(
            url=prepared.url.replace("localhost", "127.0.0.1"), headers=headers, body=b"{}"
        )
        refused = web.send(wrong)
        assert not refused.ok and refused.status_code is None
        assert len(tls_receiver.of("/tls")) == 1
    finally:
        tls_receiver.stop()
