"""Webhook endpoints through the API, and deliveries to a real receiver that verifies them.

The app's in-process outbox worker delivers (as under `consent-service serve`); the receiver
(receiver.py) checks every signature with `standardwebhooks.Webhook(secret).verify`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from consent_service.config import Settings
from consent_service.main import create_app
from consent_service.outbox.models import OutboxMessage
from consent_service.wiring import Services
from tests.accounts.test_account_links import mails_to
from tests.conftest import HolderAccount, Org
from tests.consents.conftest import make_terms
from tests.invitations.test_invitations import an_address, invitation_token, invite
from tests.licences.conftest import Grant
from tests.webhooks.conftest import Endpoint
from tests.webhooks.receiver import Receiver, body_json


def outbox_rows(app: FastAPI) -> list[OutboxMessage]:
    services: Services = app.state.services
    with services.session(writes=False) as session:
        return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.seq)))


def log_of(client: TestClient, org: Org, endpoint: Endpoint) -> list[dict[str, Any]]:
    r = client.get(f"/v1/webhooks/{endpoint.id}/deliveries", headers=org.headers)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


# -- endpoints ---------------------------------------------------------------------------------
def test_the_secret_is_shown_once_and_sealed_at_rest(
    client: TestClient, app: FastAPI, studio: Org, make_endpoint: Callable[..., Endpoint]
) -> None:
    endpoint = make_endpoint(studio, ["consent.withdrawn"])
    assert endpoint.secret.startswith("whsec_")
    listed = client.get("/v1/webhooks", headers=studio.headers).json()["items"]
    assert [e["id"] for e in listed] == [endpoint.id]
    assert "secret" not in listed[0]
    one = client.get(f"/v1/webhooks/{endpoint.id}", headers=studio.headers).json()
    assert "secret" not in one and one["event_types"] == ["consent.withdrawn"]
    with app.state.services.engine.connect() as conn:
        stored = conn.execute(
            text("SELECT secret_enc FROM webhook_endpoint WHERE id = :id"), {"id": endpoint.id}
        ).scalar_one()
    secret_bytes = endpoint.secret.removeprefix("whsec_").encode()
    assert secret_bytes not in bytes(stored) and endpoint.secret.encode() not in bytes(stored)


def test_another_studios_endpoint_is_not_found(
    client: TestClient,
    studio: Org,
    make_org: Callable[..., Org],
    make_endpoint: Callable[..., Endpoint],
) -> None:
    endpoint = make_endpoint(studio)
    other = make_org("studio")
    base = f"/v1/webhooks/{endpoint.id}"
    for method, path in [
        ("GET", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("POST", f"{base}/enable"),
        ("GET", f"{base}/deliveries"),
        ("POST", f"{base}/deliveries/msg_x/redeliver"),
    ]:
        r = client.request(method, path, headers=other.headers)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["code"] == "webhook_endpoint_not_found"
    assert client.get("/v1/webhooks", headers=other.headers).json()["items"] == []
    assert client.get(base, headers=studio.headers).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "not a url", "event_types": ["consent.withdrawn"]}, "invalid_webhook_url"),
        (
            {"url": "ftp://example.com/x", "event_types": ["consent.withdrawn"]},
            "invalid_webhook_url",
        ),
        (
            {"url": "http://127.0.0.1:9/h", "event_types": ["consent.withdrawn", "consent.eaten"]},
            "unknown_event_type",
        ),
    ],
)
def test_bad_endpoints_are_refused_with_their_code_and_nothing_written(
    client: TestClient, app: FastAPI, studio: Org, body: dict[str, Any], code: str
) -> None:
    r = client.post("/v1/webhooks", json=body, headers=studio.headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code
    assert client.get("/v1/webhooks", headers=studio.headers).json()["items"] == []
    assert outbox_rows(app) == []


@pytest.fixture
def strict_client(app: FastAPI) -> Iterator[TestClient]:
    """The same database served with the production URL rules (https, public addresses)."""
    services: Services = app.state.services
    strict = create_app(services.settings.model_copy(update={"webhook_allow_private_urls": False}))
    with TestClient(strict) as test_client:
        yield test_client
    strict.state.services.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/consent",  # not https
        "https://127.0.0.1/hook",  # loopback
        "https://localhost/hook",  # a name for loopback
        "https://10.1.2.3/hook",  # private
        "https://192.168.0.10/hook",  # private
        "https://169.254.169.254/latest/meta-data",  # link-local (cloud metadata)
        "https://[::1]/hook",  # IPv6 loopback
        "https://[::ffff:10.0.0.1]/hook",  # IPv4-mapped private
        "https://[fe80::1]/hook",  # IPv6 link-local
    ],
)
def test_private_or_plain_http_urls_are_refused_with_production_rules(
    strict_client: TestClient, app: FastAPI, studio: Org, url: str
) -> None:
    r = strict_client.post(
        "/v1/webhooks",
        json={"url": url, "event_types": ["consent.withdrawn"]},
        headers=studio.headers,
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "webhook_url_not_allowed"
    assert strict_client.get("/v1/webhooks", headers=studio.headers).json()["items"] == []
    assert outbox_rows(app) == []


def test_a_public_https_address_is_accepted_with_production_rules(
    strict_client: TestClient, studio: Org
) -> None:
    r = strict_client.post(
        "/v1/webhooks",
        json={"url": "https://93.184.215.14/consent", "event_types": ["consent.withdrawn"]},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text


# -- deliveries --------------------------------------------------------------------------------
def test_a_withdrawal_reaches_the_receiver_signed_within_seconds_of_its_commit(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
) -> None:
    endpoint = make_endpoint(grant.studio, ["consent.withdrawn", "licence.revoked"])
    licence = issue(grant)
    r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
    assert r.status_code == 200, r.text
    # The in-process worker is woken by the commit; 10 s is a generous bound, not a timing test.
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) >= 2, timeout=10)
    assert receiver.bad_signatures == 0
    withdrawn, revoked = receiver.of(endpoint.path)
    assert withdrawn.event_type == "consent.withdrawn"
    assert withdrawn.data == {
        "consent_id": grant.id,
        "holder_id": grant.holder.id,
        "status": "withdrawn",
        "previous_status": "active",
    }
    assert revoked.event_type == "licence.revoked"
    assert revoked.data["licence_id"] == licence["id"]
    assert revoked.data["cause"] == "consent_withdrawn"
    # webhook-id is the outbox message id; the delivery log shows it delivered.
    ids = {m.id for m in outbox_rows(app)}
    assert {withdrawn.webhook_id, revoked.webhook_id} <= ids
    assert receiver.wait_for(
        lambda: all(d["state"] == "delivered" for d in log_of(client, grant.studio, endpoint))
    )
    # Ids and codes only: nothing of the person in any body.
    for delivery in receiver.of(endpoint.path):
        assert grant.holder.email.encode() not in delivery.body
        assert b"Imogen" not in delivery.body
        assert set(body_json(delivery)) == {"type", "timestamp", "data"}


def test_the_lifecycle_raises_each_event_to_subscribers_only(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    studio: Org,
    holder: HolderAccount,
    make_org: Callable[..., Org],
    make_endpoint: Callable[..., Endpoint],
    make_grant: Callable[..., Grant],
    issue: Callable[..., dict[str, Any]],
) -> None:
    everything = make_endpoint(studio)
    only_issued = make_endpoint(studio, ["licence.issued"])
    bystander = make_endpoint(make_org("studio"))
    # A declined request, then an accepted one, a licence, suspend, resume, revoke.
    from tests.licences.conftest import grant_terms

    r = client.post(
        "/v1/consent-requests",
        json={"holder_id": holder.id, "terms": grant_terms()},
        headers=studio.headers,
    )
    declined_id = r.json()["id"]
    assert (
        client.post(
            f"/v1/consent-requests/{declined_id}/decline", json={}, headers=holder.headers
        ).status_code
        == 200
    )
    grant = make_grant()
    licence = issue(grant)
    for action in ("suspend", "resume"):
        r = client.post(f"/v1/consents/{grant.id}/{action}", json={}, headers=holder.headers)
        assert r.status_code == 200, r.text
    r = client.post(
        f"/v1/licences/{licence['id']}/revoke", json={"reason": "re-cut"}, headers=studio.headers
    )
    assert r.status_code == 200, r.text
    expected = [
        "consent_request.declined",
        "consent_request.accepted",
        "licence.issued",
        "consent.suspended",
        "licence.suspended",
        "consent.resumed",
        "licence.resumed",
        "licence.revoked",
    ]
    assert receiver.wait_for(lambda: len(receiver.of(everything.path)) >= len(expected))
    assert receiver.types(everything.path) == expected  # in order per endpoint
    assert receiver.wait_for(lambda: len(receiver.of(only_issued.path)) >= 1)
    assert receiver.types(only_issued.path) == ["licence.issued"]
    assert receiver.of(bystander.path) == []
    assert receiver.bad_signatures == 0
    accepted = receiver.of(everything.path)[1].data
    assert accepted["consent_id"] == grant.id and accepted["holder_id"] == holder.id
    resumed = receiver.of(everything.path)[6].data
    assert resumed == {
        "licence_id": licence["id"],
        "consent_id": grant.id,
        "holder_id": holder.id,
        "status": "active",
        "cause": "consent_resumed",
    }


def test_an_accepted_invitation_is_announced_to_its_studio_only(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    receiver: Receiver,
    studio: Org,
    holder: HolderAccount,
    make_org: Callable[..., Org],
    make_endpoint: Callable[..., Endpoint],
) -> None:
    endpoint = make_endpoint(studio, ["invitation.accepted"])
    bystander = make_endpoint(make_org("studio"), ["invitation.accepted"])
    email = an_address()
    r = invite(client, studio, email, consent_request={"terms": make_terms()})
    assert r.status_code == 201, r.text
    invitation_id = r.json()["id"]
    mails: list[tuple[str, str]] = []
    assert receiver.wait_for(lambda: bool(mails.extend(mails_to(app, settings, email)) or mails))
    token = invitation_token(mails[0][1])
    # Declining or a bad token announces nothing; accepting announces once, with ids only.
    bad = client.post("/v1/invitations/accept", json={"token": "x" * 43}, headers=holder.headers)
    assert bad.status_code == 400
    accepted = client.post("/v1/invitations/accept", json={"token": token}, headers=holder.headers)
    assert accepted.status_code == 200, accepted.text
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) >= 1)
    (delivery,) = receiver.of(endpoint.path)
    assert delivery.event_type == "invitation.accepted"
    assert delivery.data == {
        "invitation_id": invitation_id,
        "holder_id": holder.id,
        "consent_request_id": accepted.json()["consent_request_id"],
    }
    assert accepted.json()["consent_request_id"]
    assert email not in delivery.body.decode()
    assert receiver.of(bystander.path) == []
    assert receiver.bad_signatures == 0


def test_a_failing_receiver_is_retried_logged_and_can_be_redelivered(
    client: TestClient,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
) -> None:
    endpoint = make_endpoint(grant.studio, ["consent.suspended"])
    receiver.answers[endpoint.path] = [500, 503]
    r = client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    assert r.status_code == 200
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 1)
    assert receiver.wait_for(
        lambda: log_of(client, grant.studio, endpoint)[0]["state"] == "delivered"
    )
    (entry,) = log_of(client, grant.studio, endpoint)
    assert entry["message_id"] == receiver.of(endpoint.path)[0].webhook_id
    assert entry["event_type"] == "consent.suspended"
    assert [(a["ok"], a["status_code"]) for a in entry["attempts"]] == [
        (False, 500),
        (False, 503),
        (True, 204),
    ]
    assert entry["attempts"][0]["error"] == "HTTP 500"
    # Redelivery sends the same message again, with the same webhook-id.
    r = client.post(
        f"/v1/webhooks/{endpoint.id}/deliveries/{entry['message_id']}/redeliver",
        headers=grant.studio.headers,
    )
    assert r.status_code == 202, r.text
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 2)
    first, again = receiver.of(endpoint.path)
    assert again.webhook_id == first.webhook_id and again.data == first.data
    # An unknown message of this endpoint: 404 with its own code.
    r = client.post(
        f"/v1/webhooks/{endpoint.id}/deliveries/msg_nope/redeliver", headers=grant.studio.headers
    )
    assert r.status_code == 404 and r.json()["code"] == "webhook_message_not_found"


def test_giving_up_disables_the_endpoint_and_tells_the_studio(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
    admin_headers: dict[str, str],
) -> None:
    failing = make_endpoint(grant.studio, ["consent.suspended"])
    watcher = make_endpoint(grant.studio, ["webhook.endpoint_disabled"])
    receiver.answers[failing.path] = [500] * 1000
    # Three days compressed: this channel gives up after the first failure.
    channel = app.state.outbox_worker.channels["webhook"]
    channel.max_age = type(channel.max_age)(0)
    r = client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    assert r.status_code == 200
    assert receiver.wait_for(lambda: len(receiver.of(watcher.path)) == 1)
    (notice,) = receiver.of(watcher.path)
    assert notice.event_type == "webhook.endpoint_disabled"
    assert notice.data["webhook_endpoint_id"] == failing.id
    got = client.get(f"/v1/webhooks/{failing.id}", headers=grant.studio.headers).json()
    assert got["status"] == "disabled"
    (entry,) = log_of(client, grant.studio, failing)
    assert entry["state"] == "dead"
    # Redelivery waits for the endpoint to be enabled again.
    url = f"/v1/webhooks/{failing.id}/deliveries/{entry['message_id']}/redeliver"
    r = client.post(url, headers=grant.studio.headers)
    assert r.status_code == 409 and r.json()["code"] == "webhook_endpoint_disabled"
    channel.max_age = type(channel.max_age)(days=3)
    receiver.answers[failing.path] = []
    assert (
        client.post(f"/v1/webhooks/{failing.id}/enable", headers=grant.studio.headers).json()[
            "status"
        ]
        == "enabled"
    )
    assert client.post(url, headers=grant.studio.headers).status_code == 202
    assert receiver.wait_for(lambda: len(receiver.of(failing.path)) == 1)
    events = client.get("/v1/audit/events?limit=200", headers=admin_headers).json()["items"]
    disabled = [e["event"] for e in events if e["event"]["action"] == "webhook_endpoint.disabled"]
    assert len(disabled) == 1
    assert disabled[0]["subjects"]["webhook_endpoint_id"] == failing.id


def test_a_rotated_secret_signs_beside_the_old_one_during_the_overlap(
    client: TestClient,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
) -> None:
    endpoint = make_endpoint(grant.studio, ["consent.suspended", "consent.resumed"])
    r = client.post(f"/v1/webhooks/{endpoint.id}/rotate-secret", headers=grant.studio.headers)
    assert r.status_code == 200, r.text
    new_secret = r.json()["secret"]
    assert new_secret.startswith("whsec_") and new_secret != endpoint.secret
    # A receiver that still knows only the old secret keeps verifying...
    receiver.secrets[endpoint.path] = [endpoint.secret]
    client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 1)
    # ...and one that switched to the new secret verifies too.
    receiver.secrets[endpoint.path] = [new_secret]
    client.post(f"/v1/consents/{grant.id}/resume", json={}, headers=grant.holder.headers)
    assert receiver.wait_for(lambda: len(receiver.of(endpoint.path)) == 2)
    assert receiver.bad_signatures == 0
    assert len(receiver.of(endpoint.path)[1].headers["webhook-signature"].split(" ")) == 2


def test_deleting_an_endpoint_cancels_what_it_was_still_owed(
    client: TestClient,
    app: FastAPI,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
) -> None:
    import threading

    receiver.hold = threading.Event()  # the receiver hangs: messages pile up behind the first
    endpoint = make_endpoint(grant.studio, ["consent.suspended", "consent.resumed"])
    client.post(f"/v1/consents/{grant.id}/suspend", json={}, headers=grant.holder.headers)
    client.post(f"/v1/consents/{grant.id}/resume", json={}, headers=grant.holder.headers)
    assert receiver.received_any.wait(10)
    r = client.delete(f"/v1/webhooks/{endpoint.id}", headers=grant.studio.headers)
    assert r.status_code == 204
    states = {m.kind: m.state for m in outbox_rows(app)}
    assert states["consent.resumed"] == "cancelled"
    receiver.hold.set()
    assert (
        client.get(f"/v1/webhooks/{endpoint.id}", headers=grant.studio.headers).status_code == 404
    )


def test_a_hanging_receiver_does_not_hold_up_the_api(
    client: TestClient,
    receiver: Receiver,
    make_endpoint: Callable[..., Endpoint],
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
) -> None:
    import threading

    receiver.hold = threading.Event()
    make_endpoint(grant.studio)
    try:
        issue(grant)
        assert receiver.received_any.wait(10)  # a delivery is now stuck in the receiver
        # While it hangs, the API answers every request (no timing asserted: it just returns).
        for _ in range(3):
            issue(grant)
        r = client.post(f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers)
        assert r.status_code == 200
        assert receiver.deliveries == []  # the held delivery is still in the receiver
    finally:
        receiver.hold.set()
