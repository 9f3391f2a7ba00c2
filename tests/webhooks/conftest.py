"""Fixtures for webhooks: a verifying receiver on loopback, endpoints made through the API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.conftest import Org
from tests.licences.conftest import grant, grant_terms, issue, licence_scope, make_grant  # noqa: F401
from tests.webhooks.receiver import Receiver

ALL_EVENTS = [
    "consent_request.accepted",
    "consent_request.declined",
    "consent.withdrawn",
    "consent.revoked",
    "consent.suspended",
    "consent.resumed",
    "consent.expired",
    "consent.ended_by_death",
    "licence.issued",
    "licence.revoked",
    "licence.suspended",
    "licence.resumed",
    "licence.expiring",
    "holder.erased",
    "invitation.accepted",
    "deletion.acknowledgement_due",
    "webhook.endpoint_disabled",
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Quick retries and polls, so failure paths finish within a test; the in-process worker
    # (started by the app's lifespan) delivers.
    return settings.model_copy(
        update={
            "outbox_retry_base_seconds": 0.05,
            "outbox_retry_cap_seconds": 0.2,
            "outbox_poll_seconds": 0.1,
            "webhook_timeout_seconds": 5,
            # The suite's default turns the in-process worker off (tests/conftest.py); these
            # tests are about it.
            "outbox_in_process": True,
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@dataclass
class Endpoint:
    id: str
    path: str
    secret: str
    body: dict[str, Any]


@pytest.fixture
def make_endpoint(client: TestClient, receiver: Receiver) -> Callable[..., Endpoint]:
    counter = iter(range(1_000_000))

    def make(org: Org, event_types: list[str] | None = None, path: str | None = None) -> Endpoint:
        path = path or f"/hook/{next(counter)}"
        r = client.post(
            "/v1/webhooks",
            json={"url": receiver.url(path), "event_types": event_types or ALL_EVENTS},
            headers=org.headers,
        )
        assert r.status_code == 201, r.text
        body = r.json()
        receiver.secrets[path] = [body["secret"]]
        return Endpoint(id=body["id"], path=path, secret=body["secret"], body=body)

    return make
