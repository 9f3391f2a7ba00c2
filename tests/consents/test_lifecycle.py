"""The consent lifecycle through the HTTP API: request, notice, accept/decline, grant, withdraw."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.consents.conftest import DESCRIPTION, accept, ask, signature


def _actions(app) -> list[str]:
    with app.state.services.engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT action FROM audit_event ORDER BY seq")).scalars())


def test_adult_requests_reads_notice_accepts_and_withdraws(
    client: TestClient, app, holder, studio, request_consent
):
    req = request_consent(holder.id)
    assert req["id"].startswith("req_") and req["status"] == "pending"
    assert len(req["notice"]["sha256"]) == 64
    assert "The Long Night" in req["notice"]["text"]
    # How to withdraw, in words a person follows (the API route is in the receipt and docs).
    assert "press Withdraw on this consent's page in your account" in req["notice"]["text"]
    assert req["terms"]["prohibited_uses"] == [
        "defamatory_content",
        "political_endorsement",
        "sexual_content",
    ]

    seen = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert seen["notice"] == req["notice"]
    pending = client.get("/v1/consent-requests?status=pending", headers=holder.headers).json()
    assert [r["id"] for r in pending["items"]] == [req["id"]]

    r = accept(client, holder.headers, req)
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["id"].startswith("cns_") and consent["status"] == "active"
    assert consent["terms"] == req["terms"] and consent["notice_sha256"] == req["notice"]["sha256"]
    assert consent["signature"]["role"] == "self"
    assert consent["signature"]["method"] == "typed_name"
    assert r.json()["receipt"].count(".") == 2

    for who in (holder, studio):
        got = client.get(f"/v1/consents/{consent['id']}", headers=who.headers)
        assert got.status_code == 200 and got.json()["status"] == "active"
    listed = client.get("/v1/consents", headers=studio.headers).json()
    assert [c["id"] for c in listed["items"]] == [consent["id"]]
    decided = client.get(f"/v1/consent-requests/{req['id']}", headers=studio.headers).json()
    assert decided["status"] == "accepted" and decided["consent_id"] == consent["id"]

    r = client.post(f"/v1/consents/{consent['id']}/withdraw", json={}, headers=holder.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["revoked_licences"] == []
    receipt = r.json()["receipt"]

    again = client.post(f"/v1/consents/{consent['id']}/withdraw", headers=holder.headers)
    assert again.status_code == 200
    assert again.json()["status"] == "withdrawn" and again.json()["receipt"] == receipt
    assert (
        client.get(f"/v1/consents/{consent['id']}", headers=studio.headers).json()["status"]
        == "withdrawn"
    )
    latest = client.get(f"/v1/consents/{consent['id']}/receipt", headers=holder.headers).json()
    assert latest["receipt"] == receipt and latest["consent_state"] == "withdrawn"

    assert _actions(app)[-3:] == [
        "consent_request.created",
        "consent.granted",
        "consent.withdrawn",
    ]


def test_notice_is_the_same_bytes_for_the_same_terms(client: TestClient, holder, studio):
    a = ask(client, studio, holder.id).json()
    reordered = ask(
        client,
        studio,
        holder.id,
        attributes=["voice", "face"],
        territories=["US", "gb"],
        intended_use_description="  " + DESCRIPTION.replace(" ", "  ") + " ",
        valid_from=a["terms"]["valid_from"],
        valid_until=a["terms"]["valid_until"],
    ).json()
    assert reordered["notice"]["sha256"] == a["notice"]["sha256"]
    assert reordered["notice"]["text"] == a["notice"]["text"]
    other = ask(client, studio, holder.id, project="Another Film").json()
    assert other["notice"]["sha256"] != a["notice"]["sha256"]


def test_wrong_notice_hash_is_refused_and_nothing_is_granted(
    client: TestClient, app, holder, request_consent
):
    req = request_consent(holder.id)
    r = accept(client, holder.headers, req, notice_sha256="0" * 64)
    assert r.status_code == 422 and r.json()["code"] == "notice_hash_mismatch"
    assert client.get("/v1/consents", headers=holder.headers).json()["items"] == []
    assert "consent.granted" not in _actions(app)
    still = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert still["status"] == "pending"


def test_a_request_is_accepted_or_declined_once(client: TestClient, holder, request_consent):
    req = request_consent(holder.id)
    assert accept(client, holder.headers, req).status_code == 201
    r = accept(client, holder.headers, req)
    assert r.status_code == 409 and r.json()["code"] == "request_already_decided"
    r = client.post(f"/v1/consent-requests/{req['id']}/decline", json={}, headers=holder.headers)
    assert r.status_code == 409

    other = request_consent(holder.id)
    r = client.post(
        f"/v1/consent-requests/{other['id']}/decline",
        json={"reason": "Not comfortable with a voice replica"},
        headers=holder.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "declined"
    assert r.json()["decline_reason"] == "Not comfortable with a voice replica"
    assert accept(client, holder.headers, other).status_code == 409
    assert len(client.get("/v1/consents", headers=holder.headers).json()["items"]) == 1


def test_someone_elses_request_and_consent_answer_404(
    client: TestClient, holder, register_holder, studio, make_org, auditor, admin_headers, grant
):
    req = grant["consent"]["request_id"]
    stranger = register_holder()
    other_studio = make_org("studio")
    for headers in (stranger.headers, other_studio.headers, admin_headers):
        assert client.get(f"/v1/consent-requests/{req}", headers=headers).status_code == 404
        assert (
            client.get(f"/v1/consents/{grant['consent']['id']}", headers=headers).status_code == 404
        )
    # Auditors read every consent (read-only, each read logged: tests/auditors).
    assert client.get(f"/v1/consents/{grant['consent']['id']}", headers=auditor.headers).is_success
    r = client.post(
        f"/v1/consents/{grant['consent']['id']}/withdraw", json={}, headers=auditor.headers
    )
    assert r.status_code == 404
    cid = grant["consent"]["id"]
    for headers in (stranger.headers, other_studio.headers, studio.headers):
        r = client.post(f"/v1/consents/{cid}/withdraw", json={}, headers=headers)
        assert r.status_code == 404
        assert client.get(f"/v1/consents/{cid}/receipt", headers=headers).status_code == 404
    fresh = ask(client, studio, holder.id).json()
    r = client.post(
        f"/v1/consent-requests/{fresh['id']}/accept",
        json={"notice_sha256": fresh["notice"]["sha256"], "signature": signature()},
        headers=stranger.headers,
    )
    assert r.status_code == 404
    assert client.get("/v1/consents", headers=other_studio.headers).json()["items"] == []
    assert client.get("/v1/consent-requests", headers=stranger.headers).json()["items"] == []


def test_only_studios_make_requests(client: TestClient, holder, register_holder, admin_headers):
    other = register_holder()
    for headers in (holder.headers, other.headers, admin_headers):
        r = client.post(
            "/v1/consent-requests", json={"holder_id": holder.id, "terms": {}}, headers=headers
        )
        assert r.status_code == 404


def test_request_for_an_unknown_holder_is_404(client: TestClient, studio):
    r = ask(client, studio, "hld_doesnotexist")
    assert r.status_code == 404


def test_suspend_and_resume_by_the_holder_and_not_by_the_studio(
    client: TestClient, holder, studio, grant
):
    cid = grant["consent"]["id"]
    assert client.post(f"/v1/consents/{cid}/suspend", headers=studio.headers).status_code == 404
    r = client.post(f"/v1/consents/{cid}/suspend", json={}, headers=holder.headers)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert client.get(f"/v1/consents/{cid}", headers=studio.headers).json()["status"] == "suspended"
    r = client.post(f"/v1/consents/{cid}/resume", json={}, headers=holder.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    # A suspended consent can still be withdrawn.
    client.post(f"/v1/consents/{cid}/suspend", headers=holder.headers)
    r = client.post(f"/v1/consents/{cid}/withdraw", headers=holder.headers)
    assert r.json()["status"] == "withdrawn"
    r = client.post(f"/v1/consents/{cid}/resume", headers=holder.headers)
    assert r.status_code == 409 and r.json()["code"] == "consent_not_active"


def test_revoke_needs_a_guardian_executor_or_admin_and_a_reason(
    client: TestClient, holder, admin_headers, grant
):
    cid = grant["consent"]["id"]
    r = client.post(f"/v1/consents/{cid}/revoke", json={"reason": "x"}, headers=holder.headers)
    assert r.status_code == 403 and r.json()["code"] == "not_permitted"
    assert (
        client.post(f"/v1/consents/{cid}/revoke", json={}, headers=admin_headers).status_code == 422
    )
    r = client.post(
        f"/v1/consents/{cid}/revoke", json={"reason": "court order 77"}, headers=admin_headers
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    got = client.get(f"/v1/consents/{cid}", headers=holder.headers).json()
    assert got["status"] == "revoked" and got["status_reason"] == "court order 77"
    r = client.post(f"/v1/consents/{cid}/withdraw", headers=holder.headers)
    assert r.status_code == 409 and r.json()["code"] == "consent_not_active"


def test_every_status_change_tells_the_listeners_in_the_same_transaction(
    client: TestClient, holder, admin_headers, grant, listener_calls
):
    cid = grant["consent"]["id"]
    client.post(f"/v1/consents/{cid}/suspend", headers=holder.headers)
    client.post(f"/v1/consents/{cid}/resume", headers=holder.headers)
    r = client.post(f"/v1/consents/{cid}/withdraw", headers=holder.headers)
    assert r.json()["revoked_licences"] == [f"lic_for_{cid}_withdrawn"]
    assert [(c.old_status, c.new_status) for c in listener_calls] == [
        ("active", "suspended"),
        ("suspended", "active"),
        ("active", "withdrawn"),
    ]
    assert all(c.holder_id == holder.id and c.grant_id == cid for c in listener_calls)


def test_studio_sees_only_id_status_and_verification_of_a_holder_it_asked(
    client: TestClient, holder, studio, make_org, request_consent
):
    assert client.get(f"/v1/holders/{holder.id}", headers=studio.headers).status_code == 404
    request_consent(holder.id)
    r = client.get(f"/v1/holders/{holder.id}", headers=studio.headers)
    assert r.status_code == 200
    assert r.json() == {
        "id": holder.id,
        "status": "living_adult",
        "verification": "self_asserted",
        "assurance": "self_asserted",
    }
    other = make_org("studio")
    assert client.get(f"/v1/holders/{holder.id}", headers=other.headers).status_code == 404


def test_client_evidence_is_hashed_and_never_stored_in_clear(
    client: TestClient, app, holder, request_consent
):
    req = request_consent(holder.id)
    agent = "Mozilla/5.0 (UniqueBrowser-7f3a9c)"
    r = client.post(
        f"/v1/consent-requests/{req['id']}/accept",
        json={"notice_sha256": req["notice"]["sha256"], "signature": signature("Signed Name Zq")},
        headers={**holder.headers, "User-Agent": agent},
    )
    assert r.status_code == 201
    evidence = r.json()["consent"]["signature"]["evidence_hash"]
    assert len(evidence) == 64
    with app.state.services.engine.connect() as conn:
        for table in ("consent_grant", "consent_request", "audit_event", "consent_receipt"):
            rows = conn.execute(sa.text(f"SELECT * FROM {table}")).all()
            dump = repr(rows)
            assert "UniqueBrowser" not in dump and "Signed Name Zq" not in dump, table


def test_openapi_lists_the_consent_routes_and_their_problems(client: TestClient):
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/consent-requests",
        "/v1/consent-requests/{request_id}/accept",
        "/v1/consents/{consent_id}/withdraw",
        "/v1/consents/{consent_id}/receipt",
        "/v1/holders/{holder_id}/representatives",
    ):
        assert path in spec["paths"], path
    accept_responses = spec["paths"]["/v1/consent-requests/{request_id}/accept"]["post"]
    assert {"404", "409", "422"} <= accept_responses["responses"].keys()


def test_lists_are_paginated_and_filtered_by_status(
    client: TestClient, holder, studio, request_consent
):
    made = [request_consent(holder.id)["id"] for _ in range(5)]
    accept(
        client,
        holder.headers,
        client.get(f"/v1/consent-requests/{made[0]}", headers=holder.headers).json(),
    )
    seen: list[str] = []
    cursor = None
    while True:
        url = "/v1/consent-requests?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(url, headers=studio.headers).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(made) and len(seen) == 5
    pending = client.get("/v1/consent-requests?status=pending", headers=holder.headers).json()
    assert made[0] not in [r["id"] for r in pending["items"]] and len(pending["items"]) == 4
    active = client.get("/v1/consents?status=active", headers=holder.headers).json()["items"]
    assert len(active) == 1
    assert client.get("/v1/consents?status=withdrawn", headers=holder.headers).json()["items"] == []
    r = client.get("/v1/consents?cursor=not-a-cursor", headers=holder.headers)
    assert r.status_code == 400 and r.json()["code"] == "bad_cursor"
