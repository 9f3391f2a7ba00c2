"""The webhook channel on its own against a real receiver: SSRF at delivery, no redirects,
a short timeout (webhooks/urls.py, webhooks/channel.py)."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI

from consent_service.webhooks import urls
from consent_service.webhooks.channel import PreparedDelivery, WebhookChannel
from tests.webhooks.receiver import Receiver


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
