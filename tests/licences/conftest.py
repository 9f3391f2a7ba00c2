"""Fixtures for licences: an active grant made through the consent API."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import HolderAccount, Org
from tests.consents.conftest import binding

DESCRIPTION = (
    "Digital replica of the performer's face for re-shoots of three night-time exterior scenes "
    "in the feature film, reviewed by the performer before release."
)


def grant_terms(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    terms: dict[str, Any] = {
        "attributes": ["face", "voice"],
        "purposes": ["film_tv", "advertising"],
        "intended_use_description": DESCRIPTION,
        "project": "Night Train",
        "territories": ["GB", "IE", "FR"],
        "media": ["streaming", "theatrical"],
        "replica_type": "independently_created",
        "replaces_in_person_work": False,
        "representation": {"kind": "none"},
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
    }
    terms.update(overrides)
    return terms


def licence_scope(**overrides: Any) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "attributes": ["face"],
        "purposes": ["film_tv"],
        "territories": ["GB"],
        "media": ["streaming"],
    }
    scope.update(overrides)
    return scope


@dataclass
class Grant:
    id: str
    holder: HolderAccount
    studio: Org
    body: dict[str, Any]


@pytest.fixture
def make_grant(client: TestClient, studio: Org, holder: HolderAccount) -> Callable[..., Grant]:
    def make(
        *, studio_org: Org | None = None, holder_account: HolderAccount | None = None, **terms: Any
    ) -> Grant:
        org = studio_org or studio
        person = holder_account or holder
        r = client.post(
            "/v1/consent-requests",
            json={"holder_id": person.id, "terms": grant_terms(**terms)},
            headers=org.headers,
        )
        assert r.status_code == 201, r.text
        request = r.json()
        body: dict[str, Any] = {
            "notice_sha256": request["notice"]["sha256"],
            "signature": {"signed_name": "Imogen Testperson", "method": "typed_name"},
        }
        if request.get("choices"):
            # Every separate choice offered (ai_training always is one) is ticked, and the
            # answer bound to the notice as docs/consent.md, "Separate choices" says.
            chosen: dict[str, list[str]] = {}
            for choice in request["choices"]:
                chosen.setdefault(choice["dimension"], []).append(choice["item"])
            body["choices"] = chosen
            body["choices_sha256"] = binding(request["notice"]["sha256"], chosen)
        r = client.post(
            f"/v1/consent-requests/{request['id']}/accept", json=body, headers=person.headers
        )
        assert r.status_code == 201, r.text
        consent = r.json()["consent"]
        assert consent["status"] == "active"
        return Grant(id=consent["id"], holder=person, studio=org, body=consent)

    return make


@pytest.fixture
def grant(make_grant: Callable[..., Grant]) -> Grant:
    return make_grant()


@pytest.fixture
def issue(client: TestClient) -> Callable[..., dict[str, Any]]:
    """Issue a licence under `grant` and return the 201 body (asserts success)."""

    def do(grant: Grant, **body: Any) -> dict[str, Any]:
        payload = {"consent_id": grant.id, "scope": licence_scope()}
        payload.update(body)
        r = client.post("/v1/licences", json=payload, headers=grant.studio.headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    return do
