"""The plain invitation page the mail links to, used like a browser (tests/portal's Portal)."""

from __future__ import annotations

import html
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.accounts.test_account_links import mails_to
from tests.conftest import HolderAccount, Org
from tests.consents.conftest import make_terms
from tests.invitations.test_invitations import an_address, invitation_token, invite, listed, stored
from tests.portal.conftest import Portal, hidden_field


def test_a_signed_in_person_accepts_on_the_page(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    make_org: Callable[..., Org],
    holder: HolderAccount,
) -> None:
    studio = make_org("studio", name="Harbour & Sons <Films>")
    email = an_address()
    created = invite(client, studio, email, consent_request={"terms": make_terms()}).json()
    token = invitation_token(mails_to(app, settings, email)[0][1])
    browser = Portal(app)
    try:
        # Not signed in: who invites, and the ways to sign up or in; the studio's name escaped.
        page = browser.get("/portal/invitations/accept", params={"token": token})
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "Harbour &amp; Sons &lt;Films&gt;" in page.text and "<Films>" not in page.text
        assert f"/portal/signup?invitation={token}" in page.text
        assert f"/portal/login?invitation={token}" in page.text
        assert email not in page.text
        # Accepting needs a session: without one the browser is sent to sign in.
        anonymous = browser.submit("/portal/invitations/accept", csrf=False, token=token)
        assert anonymous.status_code == 303 and "/portal/login" in anonymous.headers["location"]

        assert browser.login(holder.email, holder.password).status_code == 303
        page = browser.get("/portal/invitations/accept", params={"token": token})
        assert "Accept as the signed-in person" in page.text
        forged = browser.submit("/portal/invitations/accept", csrf=False, token=token)
        assert forged.status_code == 403
        assert listed(client, studio)[created["id"]]["status"] == "pending"

        csrf = hidden_field(page.text, "csrf_token")
        done = browser.http.post(
            "/portal/invitations/accept", data={"token": token, "csrf_token": csrf}
        )
        assert done.status_code == 200, done.text
        shown = listed(client, studio)[created["id"]]
        assert shown["status"] == "accepted" and shown["holder_id"] == holder.id
        assert f"/portal/requests/{shown['consent_request_id']}" in html.unescape(done.text)

        again = browser.get("/portal/invitations/accept", params={"token": token})
        assert again.status_code == 400 and "not valid" in again.text
    finally:
        browser.close()


def test_anyone_with_the_link_may_decline_on_the_page(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org
) -> None:
    email = an_address()
    created = invite(client, studio, email).json()
    token = invitation_token(mails_to(app, settings, email)[0][1])
    browser = Portal(app)
    try:
        declined = browser.submit("/portal/invitations/decline", csrf=False, token=token)
        assert declined.status_code == 200 and "You declined" in declined.text
        shown = listed(client, studio)[created["id"]]
        assert shown["status"] == "declined" and shown["holder_id"] is None
        assert stored(app, created["id"])["email_sealed"] is None
        twice = browser.submit("/portal/invitations/decline", csrf=False, token=token)
        assert twice.status_code == 400
        forged = browser.submit("/portal/invitations/decline", csrf=False, token="x" * 43)
        assert forged.status_code == 400
    finally:
        browser.close()
