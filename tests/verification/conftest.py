"""Verification fixtures: verifiers, challenges and evidence uploads through the HTTP API."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import HolderAccount, bearer
from tests.vault import media


@dataclass
class VerifierAccount:
    id: str
    key: str
    headers: dict[str, str]


@pytest.fixture
def make_verifier(
    client: TestClient, admin_headers: dict[str, str]
) -> Callable[..., VerifierAccount]:
    def make(email: str | None = None) -> VerifierAccount:
        email = email or f"verifier-{secrets.token_hex(4)}@registry.example"
        r = client.post(
            "/v1/verifiers", json={"name": "Vera Verifier", "email": email}, headers=admin_headers
        )
        assert r.status_code == 201, r.text
        assert r.json()["role"] == "verifier"
        return VerifierAccount(
            id=r.json()["id"], key=r.json()["key"], headers=bearer(r.json()["key"])
        )

    return make


@pytest.fixture
def verifier(make_verifier: Callable[..., VerifierAccount]) -> VerifierAccount:
    return make_verifier()


def challenge(
    client: TestClient, holder: HolderAccount, purpose: str = "liveness"
) -> dict[str, Any]:
    r = client.post(
        f"/v1/holders/{holder.id}/challenges", json={"purpose": purpose}, headers=holder.headers
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def capture(
    client: TestClient,
    holder: HolderAccount,
    challenge_id: str,
    data: bytes | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Any:
    return client.post(
        f"/v1/holders/{holder.id}/captures",
        files={
            "file": (
                "capture.wav",
                data if data is not None else media.wav_with_info(),
                "audio/wav",
            )
        },
        data={"challenge_id": challenge_id},
        headers=headers or holder.headers,
    )


def identity_document(
    client: TestClient,
    holder: HolderAccount,
    data: bytes | None = None,
    *,
    headers: dict[str, str] | None = None,
    **fields: str,
) -> Any:
    form = {"document_type": "passport", "issuing_country": "GB", "number_last4": "4821"}
    form.update(fields)
    return client.post(
        f"/v1/holders/{holder.id}/identity-documents",
        files={
            "file": (
                "passport.png",
                data if data is not None else media.png_with_text(),
                "image/png",
            )
        },
        data=form,
        headers=headers or holder.headers,
    )


def approve(client: TestClient, verifier: VerifierAccount, case_id: str, **body: Any) -> Any:
    return client.post(
        f"/v1/verifications/{case_id}/approve",
        json={"reason": "matches the references", **body},
        headers=verifier.headers,
    )


def stored_names(app: Any) -> list[str]:
    return sorted(app.state.services.vault_storage.names())


def audit_events(client: TestClient, admin_headers: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get("/v1/audit/events", params={"limit": 1000}, headers=admin_headers)
    assert r.status_code == 200, r.text
    return [item["event"] for item in r.json()["items"]]
