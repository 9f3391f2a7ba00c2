"""Evidence of authority, reviewed: the HTTP steps a representative or a guardian goes through
before signing (IDENTITY.md "Authority of representatives"), for tests that need a
representative who may sign, decline or withdraw, or a minor's grant with its court approval.

Everything goes through the API: the representative uploads its evidence with its own login,
an admin creates a verifier, the verifier approves the case.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.vault import media

# The evidence each kind of representative uploads (verification/schemas.py).
DOCUMENT_OF_KIND = {
    "guardian": "court_order",
    "executor": "letters_testamentary",
    "attorney": "power_of_attorney",
    "agent": "mandate",
}


def new_verifier(client: TestClient, admin_headers: dict[str, str]) -> dict[str, str]:
    """A fresh verifier's bearer headers (created by an admin through the API)."""
    email = f"verifier-{secrets.token_hex(4)}@registry.example"
    r = client.post(
        "/v1/verifiers", json={"name": "Vera Verifier", "email": email}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    return bearer(r.json()["key"])


def approve_case(
    client: TestClient, verifier: dict[str, str], case_id: str, **body: Any
) -> dict[str, Any]:
    r = client.post(
        f"/v1/verifications/{case_id}/approve",
        json={"reason": "the evidence matches", **body},
        headers=verifier,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def upload_authority(
    client: TestClient, holder_id: str, rep_id: str, kind: str, headers: dict[str, str]
) -> Any:
    return client.post(
        f"/v1/holders/{holder_id}/representatives/{rep_id}/evidence",
        files={"file": ("authority.png", media.png_with_text(), "image/png")},
        data={"document_type": DOCUMENT_OF_KIND[kind]},
        headers=headers,
    )


def approve_authority(
    client: TestClient, admin_headers: dict[str, str], holder_id: str, rep: Any
) -> dict[str, Any]:
    """`rep` (a HolderAccount of a representative, `body["kind"]` set) uploads the evidence of
    its authority and a verifier approves it; returns the approved case."""
    r = upload_authority(client, holder_id, rep.id, rep.body["kind"], rep.headers)
    assert r.status_code == 201, r.text
    return approve_case(client, new_verifier(client, admin_headers), r.json()["id"])


def approve_court_approval(
    client: TestClient, admin_headers: dict[str, str], request_id: str, guardian: Any
) -> dict[str, Any]:
    """The guardian uploads a court's approval naming `request_id`, dated today; a verifier
    approves it; returns the approved case."""
    r = client.post(
        f"/v1/consent-requests/{request_id}/court-approval",
        files={"file": ("order.png", media.png_with_text(), "image/png")},
        data={
            "document_date": date.today().isoformat(),
            "names_request_id": request_id,
            "court": "Family Court at Leeds",
        },
        headers=guardian.headers,
    )
    assert r.status_code == 201, r.text
    return approve_case(client, new_verifier(client, admin_headers), r.json()["id"])
