"""Fixtures for consents: valid terms, requests, acceptance, representatives."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from consent_service.consents import events
from tests.authority import approve_authority
from tests.conftest import HolderAccount, Org, bearer, login

DESCRIPTION = (
    "A digital double of the performer's face and voice for three pick-up scenes of the feature "
    "film, shown in cinemas and on the studio's streaming service."
)


def years_from_now(years: int, *, days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=365 * years + days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def make_terms(**overrides: Any) -> dict[str, Any]:
    terms: dict[str, Any] = {
        "attributes": ["face", "voice"],
        "purposes": ["film_tv"],
        "intended_use_description": DESCRIPTION,
        "project": "The Long Night",
        "territories": ["GB", "US"],
        "media": ["theatrical", "streaming"],
        "replica_type": "independently_created",
        "replaces_in_person_work": False,
        "representation": {"kind": "lawyer", "terms_initialled": True},
        "compensation": {"amount": "2500", "currency": "USD"},
        "valid_from": years_from_now(0, days=7),
        "valid_until": years_from_now(2),
    }
    terms.update(overrides)
    return {k: v for k, v in terms.items() if v is not None}


def ask(client: TestClient, studio: Org, holder_id: str, **overrides: Any):
    return client.post(
        "/v1/consent-requests",
        json={"holder_id": holder_id, "terms": make_terms(**overrides)},
        headers=studio.headers,
    )


def signature(name: str = "Imogen Testperson") -> dict[str, str]:
    return {"signed_name": name, "method": "typed_name"}


COURT_APPROVAL = {
    "court": "Family Court at Leeds",
    "case_number": "LS-2026-0042",
    "date": "2026-10-01",
}


def binding(notice_sha256: str, accepted: dict[str, list[str]]) -> str:
    """docs/consent.md 'Separate choices': written from the docs, not from the service code."""
    lines = [notice_sha256.lower()]
    for dimension in ("attributes", "media", "purposes"):
        lines += [f"{dimension}:{item}" for item in sorted(accepted.get(dimension, []))]
    return hashlib.sha256("".join(line + "\n" for line in lines).encode()).hexdigest()


@pytest.fixture
def request_consent(client: TestClient, studio: Org) -> Callable[..., dict[str, Any]]:
    """A pending request from `studio` (or another org) to a holder; asserts 201."""

    def make(holder_id: str, org: Org | None = None, **overrides: Any) -> dict[str, Any]:
        r = ask(client, org or studio, holder_id, **overrides)
        assert r.status_code == 201, r.text
        return r.json()

    return make


def accept(client: TestClient, headers: dict[str, str], req: dict[str, Any], **extra: Any):
    body: dict[str, Any] = {"notice_sha256": req["notice"]["sha256"], "signature": signature()}
    body.update(extra)
    return client.post(f"/v1/consent-requests/{req['id']}/accept", json=body, headers=headers)


@pytest.fixture
def grant(
    client: TestClient, holder: HolderAccount, request_consent: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """An active grant of `holder` to `studio`: the accept response ({consent, receipt})."""
    req = request_consent(holder.id)
    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def add_representative(
    client: TestClient, admin_headers: dict[str, str]
) -> Callable[..., HolderAccount]:
    """Record a representative for a holder and log it in; returns its account.

    `approved=True`: it also uploads the evidence of its authority and a verifier approves it
    (tests/authority.py), so it may sign, decline and withdraw for the holder.
    """

    def add(
        holder_id: str,
        kind: str,
        headers: dict[str, str],
        *,
        approved: bool = False,
        **overrides: Any,
    ) -> HolderAccount:
        email = f"{kind}-{secrets.token_hex(4)}@example.org"
        body: dict[str, Any] = {
            "kind": kind,
            "name": f"A {kind.title()}",
            "email": email,
            "password": "representative passphrase",
            "authority_evidence": {
                "type": {
                    "guardian": "parental_responsibility",
                    "executor": "letters_testamentary",
                    "agent": "agency_agreement",
                    "attorney": "power_of_attorney",
                }[kind],
                "reference": "DOC-123",
                "issued_by": "A Registry",
                "issued_on": "2026-01-01",
            },
        }
        body.update(overrides)
        r = client.post(f"/v1/holders/{holder_id}/representatives", json=body, headers=headers)
        assert r.status_code == 201, r.text
        token = login(client, email, body["password"])
        account = HolderAccount(
            id=r.json()["id"],
            email=email,
            password=body["password"],
            token=token,
            headers=bearer(token),
            body=r.json(),
        )
        if approved:
            approve_authority(client, admin_headers, holder_id, account)
        return account

    return add


@pytest.fixture
def listener_calls(app: Any, db_session: Any) -> Iterator[list[events.GrantStatusChange]]:
    """Wires a second listener after licences': records changes, reports one id each."""
    calls: list[events.GrantStatusChange] = []

    def listener(session: Any, change: events.GrantStatusChange) -> list[str]:
        calls.append(change)
        return [f"lic_for_{change.grant_id}_{change.new_status}"]

    wired = app.state.services
    listeners = (*wired.grant_listeners, listener)
    app.state.services = replace(wired, grant_listeners=listeners)
    events.bind_listeners(db_session.info, listeners)  # the session opened before this fixture
    yield calls
    app.state.services = wired


def birthday_years_ago(years: int, *, days: int = 0) -> str:
    today = date.today()
    return (today.replace(year=today.year - years) + timedelta(days=days)).isoformat()
