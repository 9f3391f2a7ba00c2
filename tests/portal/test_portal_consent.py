"""Reading notices, accepting, declining and withdrawing consent through the portal pages."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi.testclient import TestClient

from consent_service.consents.models import ConsentReceipt
from consent_service.consents.receipts import RECEIPT_TYP
from consent_service.crypto import signing
from tests.authority import approve_authority, approve_court_approval
from tests.conftest import HolderAccount, Org
from tests.portal.conftest import Portal, hidden_field, issue_licence, notice_in_page


def _accept(portal: Portal, request_id: str, name: str = "Imogen Testperson"):
    page = portal.get(f"/portal/requests/{request_id}")
    assert page.status_code == 200, page.text
    return portal.submit(
        f"/portal/requests/{request_id}/accept",
        notice_sha256=hidden_field(page.text, "notice_sha256"),
        signed_name=name,
    )


def test_home_lists_pending_requests_and_the_consents_given(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    assert "No studio is waiting for an answer from you." in signed_in.get("/portal").text
    first = ask(holder.id, project="Night Train")
    second = ask(holder.id, project="Morning Ferry")
    _accept(signed_in, second["id"])
    page = signed_in.get("/portal").text
    pending, given = page.split('id="grants-heading"')
    assert f"/portal/requests/{first['id']}" in pending and "Night Train" in pending
    assert second["id"] not in pending
    assert "Morning Ferry" in given and "status-active" in given


def test_the_request_page_shows_the_notice_exactly_and_quotes_its_hash(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id)
    page = signed_in.get(f"/portal/requests/{req['id']}")
    assert page.status_code == 200
    shown = notice_in_page(page.text)
    assert shown == req["notice"]["text"]
    assert hashlib.sha256(shown.encode()).hexdigest() == req["notice"]["sha256"]
    assert hidden_field(page.text, "notice_sha256") == req["notice"]["sha256"]
    assert '<label for="signed_name">' in page.text and '<label for="reason">' in page.text


def test_accepting_in_the_portal_makes_an_active_consent_with_a_receipt(
    client: TestClient,
    signed_in: Portal,
    holder: HolderAccount,
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    r = _accept(signed_in, req["id"])
    assert r.status_code == 303
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    grant = client.get(f"/v1/consents/{consent_id}", headers=holder.headers).json()
    assert grant["status"] == "active"
    assert grant["notice_sha256"] == req["notice"]["sha256"]
    assert grant["signature"]["method"] == "typed_name"
    # The receipt says where the consent was given: here, in the portal.
    receipt = client.get(f"/v1/consents/{consent_id}/receipt", headers=holder.headers).json()
    assert receipt["claims"]["collectionMethod"] == "portal:typed_name"
    assert receipt["claims"]["iso27560"]["events"][0]["expression_method"] == "portal:typed_name"
    printable = signed_in.get(f"/portal/consents/{consent_id}/receipt/view").text
    assert '<span id="receipt-collection-method">in this portal</span>' in printable
    assert 'id="receipt-controller"' in printable and "your explicit consent" in printable
    page = signed_in.get(r.headers["location"])
    assert "You gave your consent." in page.text
    assert 'id="consent-status" class="status status-active">active<' in page.text
    assert "Withdraw consent" in page.text


def test_a_changed_notice_hash_is_refused_and_nothing_is_granted(
    client: TestClient,
    signed_in: Portal,
    holder: HolderAccount,
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    r = signed_in.submit(
        f"/portal/requests/{req['id']}/accept", notice_sha256="0" * 64, signed_name="Imogen"
    )
    assert r.status_code == 422
    assert "notice" in r.text.lower()
    assert (
        client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()["status"]
        == "pending"
    )


def test_signing_without_a_name_shows_the_form_again(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id)
    page = signed_in.get(f"/portal/requests/{req['id']}")
    r = signed_in.submit(
        f"/portal/requests/{req['id']}/accept",
        notice_sha256=hidden_field(page.text, "notice_sha256"),
        signed_name="   ",
    )
    assert r.status_code == 422
    assert "Type your full name to sign" in r.text and "Nothing was signed" in r.text
    assert notice_in_page(r.text) == req["notice"]["text"]


def test_declining_in_the_portal(
    client: TestClient,
    signed_in: Portal,
    holder: HolderAccount,
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    r = signed_in.submit(f"/portal/requests/{req['id']}/decline", reason="Not this project")
    assert r.status_code == 303
    page = signed_in.get(r.headers["location"])
    assert "You declined this request." in page.text and "I consent" not in page.text
    body = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert body["status"] == "declined" and body["decline_reason"] == "Not this project"
    # Once decided, a second answer is refused with a page, not a crash.
    again = signed_in.submit(
        f"/portal/requests/{req['id']}/accept",
        notice_sha256=req["notice"]["sha256"],
        signed_name="Imogen Testperson",
    )
    assert again.status_code == 409 and "already" in again.text


def test_one_click_withdrawal_revokes_the_licences_and_gives_a_verifiable_receipt(
    client: TestClient,
    signed_in: Portal,
    holder: HolderAccount,
    studio: Org,
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    consent_id = _accept(signed_in, req["id"]).headers["location"].split("/")[-1].split("?")[0]
    licence = issue_licence(client, studio, consent_id)
    page = signed_in.get(f"/portal/consents/{consent_id}").text
    assert licence["id"] in page and "status-active" in page

    r = signed_in.submit(f"/portal/consents/{consent_id}/withdraw")
    assert r.status_code == 303
    page = signed_in.get(r.headers["location"]).text
    assert 'class="status status-withdrawn">withdrawn<' in page
    assert "Withdraw consent" not in page
    assert "status-revoked" in page  # the licence row
    verdict = client.post("/v1/licences/verify", json={"token": licence["token"]}).json()
    assert verdict["code"] == "REVOKED"

    receipt = signed_in.get(f"/portal/consents/{consent_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"].startswith("application/jose")
    assert receipt.headers["content-disposition"] == (
        f'attachment; filename="{consent_id}-receipt.jws"'
    )
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    _header, claims = signing.verify(receipt.text, keys=keys, typ=RECEIPT_TYP)
    assert claims["iso27560"]["record_id"] == consent_id and claims["consent_state"] == "withdrawn"

    # Withdrawing again is harmless: same state, no error.
    assert signed_in.submit(f"/portal/consents/{consent_id}/withdraw").status_code == 303


def test_another_holder_sees_nothing_of_the_first_holders_requests_and_consents(
    open_portal: Callable[..., Portal],
    signed_in: Portal,
    holder: HolderAccount,
    register_holder: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
):
    req = ask(holder.id)
    consent_id = _accept(signed_in, ask(holder.id)["id"]).headers["location"].split("/")[-1]
    consent_id = consent_id.split("?")[0]
    someone = register_holder()
    other = open_portal()
    assert other.login(someone.email, someone.password).status_code == 303
    for path in [
        f"/portal/requests/{req['id']}",
        f"/portal/consents/{consent_id}",
        f"/portal/consents/{consent_id}/receipt",
    ]:
        r = other.get(path)
        assert r.status_code == 404, path
        assert "There is nothing here." in r.text
    for path, fields in [
        (
            f"/portal/requests/{req['id']}/accept",
            {"notice_sha256": req["notice"]["sha256"], "signed_name": "Someone Else"},
        ),
        (f"/portal/requests/{req['id']}/decline", {}),
        (f"/portal/consents/{consent_id}/withdraw", {}),
    ]:
        assert other.submit(path, **fields).status_code == 404, path
    assert req["id"] not in other.get("/portal").text


def test_what_studios_write_is_shown_as_text_not_markup(
    signed_in: Portal, holder: HolderAccount, ask: Callable[..., dict[str, Any]]
):
    req = ask(holder.id, project='<script>alert("x")</script> & <b>Co</b>')
    for path in ["/portal", f"/portal/requests/{req['id']}"]:
        page = signed_in.get(path).text
        assert "<script>alert" not in page and "<b>Co</b>" not in page
        assert "&lt;script&gt;" in page


def test_an_agent_may_read_but_not_sign(
    open_portal: Callable[..., Portal],
    holder: HolderAccount,
    add_representative: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
    client: TestClient,
):
    agent = add_representative(holder.id, "agent", holder.headers)
    portal = open_portal()
    assert portal.login(agent.email, agent.password).status_code == 303
    req = ask(holder.id)
    home = portal.get("/portal").text
    assert "acting as <strong>agent</strong>" in home and req["id"] in home
    r = _accept(portal, req["id"], name="A Agent")
    assert r.status_code == 422 and "signs for themself" in r.text  # the rule's own words
    r = portal.submit(f"/portal/requests/{req['id']}/decline")
    assert r.status_code == 403 and "an agent may not decide" in r.text
    status = client.get(f"/v1/consent-requests/{req['id']}", headers=holder.headers).json()
    assert status["status"] == "pending"


def test_a_guardian_signs_for_a_minor_with_the_court_approval(
    client: TestClient,
    open_portal: Callable[..., Portal],
    register_holder: Callable[..., HolderAccount],
    add_representative: Callable[..., HolderAccount],
    ask: Callable[..., dict[str, Any]],
    admin_headers: dict[str, str],
):
    today = date.today()
    minor = register_holder(date_of_birth=today.replace(year=today.year - 16).isoformat())
    # A minor's own login cannot appoint its guardian: an admin records it.
    guardian = add_representative(minor.id, "guardian", admin_headers)
    req = ask(minor.id)

    own = open_portal()
    assert own.login(minor.email, minor.password).status_code == 303
    assert "Court approval" not in own.get(f"/portal/requests/{req['id']}").text
    r = _accept(own, req["id"])
    assert r.status_code == 422 and "a guardian must sign" in r.text

    portal = open_portal()
    assert portal.login(guardian.email, guardian.password).status_code == 303
    page = portal.get(f"/portal/requests/{req['id']}").text
    assert '<label for="court">' in page and '<label for="court_date">' in page
    fields = {"notice_sha256": hidden_field(page, "notice_sha256"), "signed_name": "A Guardian"}
    typed = {"court": "Family Court at Leeds", "case_number": "LS-2026-0042"}
    typed["court_date"] = "2026-10-01"
    # Signed in, but the guardian's authority was not reviewed yet: nothing is signed.
    r = portal.submit(f"/portal/requests/{req['id']}/accept", **fields, **typed)
    assert r.status_code == 403 and "authority" in r.text
    approve_authority(client, admin_headers, minor.id, guardian)
    # A typed court approval is not enough: the court's order must be reviewed.
    r = portal.submit(f"/portal/requests/{req['id']}/accept", **fields, **typed)
    assert r.status_code == 409 and "court approval" in r.text
    r = portal.submit(
        f"/portal/requests/{req['id']}/accept", **fields, **{**typed, "case_number": ""}
    )
    assert r.status_code == 422 and "Court approval: give the court" in r.text
    approve_court_approval(client, admin_headers, req["id"], guardian)
    r = portal.submit(f"/portal/requests/{req['id']}/accept", **fields)
    assert r.status_code == 303, r.text
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    grant = client.get(f"/v1/consents/{consent_id}", headers=minor.headers).json()
    assert grant["status"] == "active" and grant["holder_status"] == "minor"
    assert grant["signature"]["role"] == "guardian"


def test_a_receipt_issued_before_the_kantara_shape_still_shows(
    client: TestClient,
    app,
    db_session,
    signed_in: Portal,
    holder: HolderAccount,
    ask: Callable[..., dict[str, Any]],
):
    """Receipts signed before migration 0023 kept snake_case look-alikes and no controller:
    the printable page still shows them (a database carried over from before has them)."""
    r = _accept(signed_in, ask(holder.id)["id"])
    consent_id = r.headers["location"].split("/")[-1].split("?")[0]
    claims = client.get(f"/v1/consents/{consent_id}/receipt", headers=holder.headers).json()
    claims = claims["claims"]
    old = {
        k: v
        for k, v in claims.items()
        if k not in {"consentReceiptID", "collectionMethod", "piiControllers", "policyUrl"}
    }
    old["receipt_id"] = "rcp_issuedbeforetheshape000"
    services = app.state.services
    db_session.add(
        ConsentReceipt(
            id=old["receipt_id"],
            grant_id=consent_id,
            consent_state="active",
            audit_seq=claims["audit_seq"] + 1_000_000,
            token=services.signer.sign(db_session, old, typ=RECEIPT_TYP),
        )
    )
    db_session.commit()
    page = signed_in.get(f"/portal/consents/{consent_id}/receipt/view")
    assert page.status_code == 200, page.text
    assert "rcp_issuedbeforetheshape000" in page.text
    assert "(where was not recorded)" in page.text
    assert 'id="receipt-controller"' not in page.text
