"""The registry of collective agreements: admin writes, studios and holders read."""

from __future__ import annotations

import json

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.agreements.support import agreement_body, register_agreement

BASE = "/v1/collective-agreements"


def _events(app, action: str) -> list[dict]:
    with app.state.services.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT event_json FROM audit_event WHERE action = :a ORDER BY seq"),
            {"a": action},
        ).scalars()
        return [json.loads(r) for r in rows]


def _count(app) -> int:
    with app.state.services.engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM collective_agreement")).scalar_one())


def test_admin_registers_reads_lists_and_updates_an_agreement(
    client: TestClient, app, admin_headers
):
    created = register_agreement(client, admin_headers)
    assert created["id"].startswith("cag_")
    assert created["name"] == "2023 TV/Theatrical Agreement" and created["covers_replicas"]
    r = client.get(f"{BASE}/{created['id']}", headers=admin_headers)
    assert r.status_code == 200 and r.json() == created

    r = client.patch(
        f"{BASE}/{created['id']}",
        json={"covers_replicas": False, "name": "2023 TV/Theatrical Agreement (amended)"},
        headers=admin_headers,
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["covers_replicas"] is False and updated["name"].endswith("(amended)")
    assert updated["valid_from"] == created["valid_from"]
    assert client.get(f"{BASE}/{created['id']}", headers=admin_headers).json() == updated

    # Audit: one event per change, the agreement's id and facts, never its name or union.
    (made,) = _events(app, "collective_agreement.created")
    (changed,) = _events(app, "collective_agreement.updated")
    assert made["subjects"] == {"agreement_id": created["id"]}
    assert changed["payload"]["changed"] == ["covers_replicas", "name"]
    assert changed["payload"]["covers_replicas"] is False
    for event in (made, changed):
        assert "TV/Theatrical" not in json.dumps(event) and "SAG" not in json.dumps(event)

    # A PATCH that changes nothing writes nothing.
    r = client.patch(
        f"{BASE}/{created['id']}", json={"covers_replicas": False}, headers=admin_headers
    )
    assert r.status_code == 200 and len(_events(app, "collective_agreement.updated")) == 1


def test_studios_and_holders_read_but_do_not_write(
    client: TestClient, admin_headers, studio, holder, auditor
):
    agreement = register_agreement(client, admin_headers)
    for who in (studio.headers, holder.headers):
        assert client.get(f"{BASE}/{agreement['id']}", headers=who).json() == agreement
        assert [a["id"] for a in client.get(BASE, headers=who).json()["items"]] == [agreement["id"]]
        r = client.post(BASE, json=agreement_body(), headers=who)
        assert r.status_code == 404 and r.json()["code"] == "not_found"
        r = client.patch(f"{BASE}/{agreement['id']}", json={"covers_replicas": False}, headers=who)
        assert r.status_code == 404
    # Auditors see agreements inside the terms of grants; the registry itself is not theirs.
    assert client.get(BASE, headers=auditor.headers).status_code == 404
    assert client.get(BASE).status_code == 401
    assert client.get(f"{BASE}/{agreement['id']}", headers=admin_headers).json() == agreement


def test_unknown_agreement_is_404_with_its_code(client: TestClient, admin_headers, studio):
    for headers in (admin_headers, studio.headers):
        r = client.get(f"{BASE}/cag_aaaaaaaaaaaaaaaaaaaaaaaa", headers=headers)
        assert r.status_code == 404 and r.json()["code"] == "collective_agreement_not_found"
    r = client.patch(
        f"{BASE}/cag_aaaaaaaaaaaaaaaaaaaaaaaa", json={"name": "x"}, headers=admin_headers
    )
    assert r.status_code == 404 and r.json()["code"] == "collective_agreement_not_found"


def test_bad_agreements_are_refused_and_nothing_is_written(client: TestClient, app, admin_headers):
    r = client.post(
        BASE,
        json=agreement_body(valid_from="2027-01-01", valid_until="2026-12-31"),
        headers=admin_headers,
    )
    assert r.status_code == 422 and r.json()["code"] == "agreement_dates_out_of_order"
    assert r.headers["content-type"] == "application/problem+json"
    for bad in (
        {"name": ""},
        {"union": "x" * 201},
        {"covers_replicas": "maybe"},
        {"valid_from": "someday"},
        {"extra": 1},
    ):
        r = client.post(BASE, json=agreement_body(**bad), headers=admin_headers)
        assert r.status_code == 422 and r.json()["code"] == "validation_error", bad
    assert _count(app) == 0 and _events(app, "collective_agreement.created") == []

    agreement = register_agreement(client, admin_headers)
    r = client.patch(
        f"{BASE}/{agreement['id']}", json={"valid_until": "2000-01-01"}, headers=admin_headers
    )
    assert r.status_code == 422 and r.json()["code"] == "agreement_dates_out_of_order"
    assert client.get(f"{BASE}/{agreement['id']}", headers=admin_headers).json() == agreement
    assert _events(app, "collective_agreement.updated") == []


def test_the_list_is_paged_with_a_cursor(client: TestClient, admin_headers, studio):
    ids = [register_agreement(client, admin_headers, name=f"Agreement {i}")["id"] for i in range(3)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(BASE, params=params, headers=studio.headers).json()
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 3
    r = client.get(BASE, params={"cursor": "not-a-cursor"}, headers=studio.headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"
