"""Registering a collective agreement through the API, for tests in any package."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient


def agreement_body(**overrides: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "name": "2023 TV/Theatrical Agreement",
        "union": "SAG-AFTRA",
        "covers_replicas": True,
        "valid_from": (today - timedelta(days=365)).isoformat(),
        "valid_until": (today + timedelta(days=3 * 365)).isoformat(),
    }
    body.update(overrides)
    return body


def register_agreement(
    client: TestClient, admin_headers: dict[str, str], **overrides: Any
) -> dict[str, Any]:
    r = client.post(
        "/v1/collective-agreements", json=agreement_body(**overrides), headers=admin_headers
    )
    assert r.status_code == 201, r.text
    return dict(r.json())
