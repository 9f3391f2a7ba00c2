"""Who may consent: minors (guardian + court approval), the deceased (executor), agents."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient

from consent_service.holders.service import eighteenth_birthday
from tests.authority import approve_authority, approve_court_approval
from tests.consents.conftest import (
    COURT_APPROVAL,
    accept,
    ask,
    birthday_years_ago,
    years_from_now,
)


def test_minor_needs_a_guardian_and_a_court_approval_and_is_capped_at_18(
    client: TestClient, register_holder, studio, add_representative, admin_headers
):
    dob = birthday_years_ago(16)
    minor = register_holder(date_of_birth=dob)
    # A minor's own login cannot appoint its guardian (IDENTITY.md): an admin records it.
    guardian = add_representative(minor.id, "guardian", admin_headers)
    req = ask(client, studio, minor.id, valid_until=years_from_now(3)).json()
    assert "capped_at_majority" in {w["code"] for w in req["warnings"]}

    r = accept(client, minor.headers, req, court_approval=COURT_APPROVAL)
    assert r.status_code == 422 and r.json()["code"] == "guardian_required"
    # The guardian signs in, but its authority was not reviewed yet: 403, nothing written.
    r = accept(client, guardian.headers, req, court_approval=COURT_APPROVAL)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    assert f"/representatives/{guardian.id}/evidence" in r.json()["detail"]
    r = client.post(f"/v1/consent-requests/{req['id']}/decline", headers=guardian.headers)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    approve_authority(client, admin_headers, minor.id, guardian)
    # A typed court approval is no longer enough: an approved case naming this request is.
    r = accept(client, guardian.headers, req, court_approval=COURT_APPROVAL)
    assert r.status_code == 409 and r.json()["code"] == "court_approval_not_verified"
    other_req = ask(client, studio, minor.id, valid_until=years_from_now(2)).json()
    approve_court_approval(client, admin_headers, other_req["id"], guardian)
    r = accept(client, guardian.headers, req)
    assert r.status_code == 409 and r.json()["code"] == "court_approval_not_verified"
    assert (
        client.get(f"/v1/consent-requests/{req['id']}", headers=minor.headers).json()["status"]
        == "pending"
    )
    approve_court_approval(client, admin_headers, req["id"], guardian)
    r = accept(
        client,
        guardian.headers,
        req,
        guardian={"representative_id": "rep_someoneelse"},
    )
    assert r.status_code == 422 and r.json()["code"] == "guardian_required"

    r = accept(client, guardian.headers, req, guardian={"representative_id": guardian.id})
    assert r.status_code == 201, r.text
    consent = r.json()["consent"]
    assert consent["signature"]["role"] == "guardian"
    assert consent["signature"]["representative_id"] == guardian.id
    assert consent["holder_status"] == "minor"
    majority = eighteenth_birthday(date.fromisoformat(dob))
    assert consent["valid_until"].startswith(majority.isoformat())
    assert "capped_at_majority" in {w["code"] for w in consent["warnings"]}

    # The guardian may revoke, with a reason; the minor sees it.
    r = client.post(
        f"/v1/consents/{consent['id']}/revoke",
        json={"reason": "the court order was varied"},
        headers=guardian.headers,
    )
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    assert (
        client.get(f"/v1/consents/{consent['id']}", headers=minor.headers).json()["status"]
        == "revoked"
    )


def test_a_term_for_a_minor_longer_than_five_years_is_refused(
    client: TestClient, register_holder, studio
):
    minor = register_holder(date_of_birth=birthday_years_ago(8))
    r = ask(client, studio, minor.id, valid_until=years_from_now(5, days=30))
    assert r.status_code == 422 and r.json()["code"] == "term_too_long"


def test_deceased_holder_consents_only_through_the_executor_within_post_mortem_rights(
    client: TestClient, register_holder, studio, admin_headers, add_representative
):
    estate = register_holder(
        date_of_birth="1931-02-08", date_of_death="2024-03-01", jurisdiction="US-CA"
    )
    r = ask(client, studio, estate.id)
    assert r.status_code == 422 and r.json()["code"] == "post_mortem_rights_unknown"

    rights_until = date.today().replace(year=date.today().year + 5)
    executor = add_representative(
        estate.id,
        "executor",
        admin_headers,
        post_mortem_rights={
            "until": rights_until.isoformat(),
            "registry": "California Secretary of State",
            "reference": "PMR-2024-991",
        },
    )
    agent = add_representative(estate.id, "agent", admin_headers)

    r = ask(client, studio, estate.id, valid_until=years_from_now(6))
    assert r.status_code == 422 and r.json()["code"] == "term_past_post_mortem_rights"
    req = ask(client, studio, estate.id, valid_until=years_from_now(4)).json()

    # The deceased person's own login no longer works; an agent is no executor.
    r = accept(client, estate.headers, req)
    assert r.status_code == 403 and r.json()["code"] == "holder_deceased"
    r = accept(client, agent.headers, req)
    assert r.status_code == 422 and r.json()["code"] == "estate_authority_required"
    # The executor signs in, but signs only once a verifier approved its letters.
    r = accept(client, executor.headers, req)
    assert r.status_code == 403 and r.json()["code"] == "authority_not_verified"
    approve_authority(client, admin_headers, estate.id, executor)
    r = accept(client, executor.headers, req)
    assert r.status_code == 201, r.text
    # A deceased holder can do no liveness: the executor's reviewed authority stands in for
    # the holder's own level, and the signature says so.
    assert consent_required_assurance(r) is None
    consent = r.json()["consent"]
    assert consent["signature"]["role"] == "executor" and consent["holder_status"] == "deceased"

    # The agent may read but not withdraw; the executor withdraws what it granted.
    assert client.get(f"/v1/consents/{consent['id']}", headers=agent.headers).status_code == 200
    r = client.post(f"/v1/consents/{consent['id']}/withdraw", headers=agent.headers)
    assert r.status_code == 403 and r.json()["code"] == "not_permitted"
    r = client.post(f"/v1/consents/{consent['id']}/withdraw", headers=executor.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def consent_required_assurance(response) -> str | None:
    return response.json()["consent"]["signature"]["required_assurance"]


def test_agent_cannot_sign_but_an_attorney_can_for_a_living_adult(
    client: TestClient, holder, studio, add_representative, request_consent
):
    agent = add_representative(holder.id, "agent", holder.headers, approved=True)
    attorney = add_representative(holder.id, "attorney", holder.headers, approved=True)
    guardian = add_representative(holder.id, "guardian", holder.headers, approved=True)
    req = request_consent(holder.id)
    assert client.get(f"/v1/consent-requests/{req['id']}", headers=agent.headers).status_code == 200
    for who in (agent, guardian):
        r = accept(client, who.headers, req)
        assert r.status_code == 422 and r.json()["code"] == "signer_not_authorised"
    r = client.post(f"/v1/consent-requests/{req['id']}/decline", headers=agent.headers)
    assert r.status_code == 403
    r = accept(client, attorney.headers, req)
    assert r.status_code == 201
    assert r.json()["consent"]["signature"]["role"] == "representative"
    cid = r.json()["consent"]["id"]
    r = client.post(f"/v1/consents/{cid}/revoke", json={"reason": "x"}, headers=guardian.headers)
    assert r.status_code == 403, "a guardian has no authority over an adult's consent"
    r = client.post(f"/v1/consents/{cid}/withdraw", headers=attorney.headers)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"


def test_representatives_are_added_by_the_holder_or_an_admin_only(
    client: TestClient, holder, register_holder, studio, add_representative
):
    other = register_holder()
    body = {
        "kind": "agent",
        "name": "Agent Smith",
        "email": "agent@example.org",
        "password": "representative passphrase",
        "authority_evidence": {
            "type": "agency_agreement",
            "reference": "AA-1",
            "issued_by": "Talent Co",
            "issued_on": "2026-01-01",
        },
    }
    for headers in (other.headers, studio.headers):
        r = client.post(f"/v1/holders/{holder.id}/representatives", json=body, headers=headers)
        assert r.status_code == 404
    agent = add_representative(holder.id, "agent", holder.headers)
    r = client.post(
        f"/v1/holders/{holder.id}/representatives",
        json={**body, "email": "agent2@example.org"},
        headers=agent.headers,
    )
    assert r.status_code == 404, "a representative cannot appoint others"
    r = client.post(
        f"/v1/holders/{holder.id}/representatives",
        json={**body, "email": holder.email},
        headers=holder.headers,
    )
    assert r.status_code == 409 and r.json()["code"] == "email_already_registered"
    r = client.post(
        f"/v1/holders/{holder.id}/representatives",
        json={
            **body,
            "post_mortem_rights": {"until": "2040-01-01", "registry": "x", "reference": "y"},
        },
        headers=holder.headers,
    )
    assert r.status_code == 422
    assert "password" not in agent.body and agent.body["kind"] == "agent"
    # A representative does not read the holder's full record.
    assert client.get(f"/v1/holders/{holder.id}", headers=agent.headers).status_code == 404


def test_holder_lists_and_revokes_a_representative_whose_access_ends_at_once(
    client: TestClient, holder, register_holder, studio, add_representative, admin_headers
):
    agent = add_representative(holder.id, "agent", holder.headers)
    attorney = add_representative(holder.id, "attorney", holder.headers)
    listed = client.get(f"/v1/holders/{holder.id}/representatives", headers=holder.headers)
    assert listed.status_code == 200
    assert {r["id"] for r in listed.json()["items"]} == {agent.id, attorney.id}
    assert {r["kind"] for r in listed.json()["items"]} == {"agent", "attorney"}

    # Only the holder (not a representative, another holder or a studio) manages them.
    other = register_holder()
    for headers in (attorney.headers, other.headers, studio.headers):
        assert (
            client.get(f"/v1/holders/{holder.id}/representatives", headers=headers).status_code
            == 404
        )
        r = client.delete(f"/v1/holders/{holder.id}/representatives/{agent.id}", headers=headers)
        assert r.status_code == 404
    # A representative id of another holder is not found under this holder.
    r = client.delete(
        f"/v1/holders/{other.id}/representatives/{attorney.id}", headers=other.headers
    )
    assert r.status_code == 404

    # Before revocation the attorney's token works.
    assert client.get("/v1/consent-requests", headers=attorney.headers).status_code == 200
    r = client.delete(
        f"/v1/holders/{holder.id}/representatives/{attorney.id}", headers=holder.headers
    )
    assert r.status_code == 204
    # Its token stops working at once, and it cannot sign in again.
    r = client.get("/v1/consent-requests?status=pending", headers=attorney.headers)
    assert r.status_code == 401
    r = client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": attorney.email, "password": attorney.password},
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    listed = client.get(f"/v1/holders/{holder.id}/representatives", headers=admin_headers)
    assert [r["id"] for r in listed.json()["items"]] == [agent.id]
    # Revoking again is harmless.
    r = client.delete(
        f"/v1/holders/{holder.id}/representatives/{attorney.id}", headers=holder.headers
    )
    assert r.status_code == 204
