"""The plain invitation page the mail links to, used like a browser (tests/portal's Portal)."""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from consent_service.config import Settings
from tests.accounts.test_account_links import link_token, mails_to, sign_up_body
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
        assert f"/portal/sign-up?invitation={token}" in page.text
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


def _invited(app: FastAPI, client: TestClient, settings: Settings, studio: Org) -> tuple[str, str]:
    """(invitation id, token) of a new invitation with terms, the token read from the mail."""
    email = an_address()
    created = invite(client, studio, email, consent_request={"terms": make_terms()}).json()
    return created["id"], invitation_token(mails_to(app, settings, email)[0][1])


def test_signing_in_from_the_mail_link_accepts_and_lands_on_the_request(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    make_org: Callable[..., Org],
    holder: HolderAccount,
    caplog: Any,
) -> None:
    studio = make_org("studio", name="Northlight Pictures")
    invitation_id, token = _invited(app, client, settings, studio)
    caplog.set_level(logging.DEBUG)
    browser = Portal(app)
    try:
        form = browser.get("/portal/login", params={"invitation": token})
        assert "Signing in accepts the invitation of Northlight Pictures" in form.text
        assert hidden_field(form.text, "invitation") == token
        csrf = hidden_field(form.text, "csrf_token")
        # A wrong password: the page keeps the invitation, nothing is accepted.
        wrong = browser.http.post(
            "/portal/login",
            data={
                "email": holder.email,
                "password": "not it at all",
                "csrf_token": csrf,
                "invitation": token,
            },
        )
        assert wrong.status_code == 401 and hidden_field(wrong.text, "invitation") == token
        assert listed(client, studio)[invitation_id]["status"] == "pending"
        # Signed in: accepted as on the accept page, and on to the request it made, whatever
        # `next` says (the destination is built from the request's id, never from the form).
        r = browser.http.post(
            "/portal/login",
            data={
                "email": holder.email,
                "password": holder.password,
                "csrf_token": csrf,
                "invitation": token,
                "next": "https://evil.example/portal",
            },
        )
        assert r.status_code == 303, r.text
        shown = listed(client, studio)[invitation_id]
        assert shown["status"] == "accepted" and shown["holder_id"] == holder.id
        assert r.headers["location"] == (
            f"/portal/requests/{shown['consent_request_id']}?done=invitation"
        )
        landing = browser.get(r.headers["location"])
        assert landing.status_code == 200 and "You accepted the invitation" in landing.text
        # Single use: the same link again signs in, accepts nothing, and says so.
        again = Portal(app)
        try:
            form = again.get("/portal/login", params={"invitation": token})
            assert 'id="invitation-note"' not in form.text and 'name="invitation"' not in form.text
            r = again.http.post(
                "/portal/login",
                data={
                    "email": holder.email,
                    "password": holder.password,
                    "csrf_token": hidden_field(form.text, "csrf_token"),
                    "invitation": token,
                },
            )
            assert r.status_code == 303 and r.headers["location"] == "/portal"
        finally:
            again.close()
    finally:
        browser.close()
    # The token never reaches a log line of the service (httpx here is the test's own client).
    service = [r for r in caplog.records if not r.name.startswith(("httpx", "asyncio"))]
    assert service and any(r.name == "consent_service.access" for r in service)
    for record in service:
        assert token not in record.getMessage() and token not in str(record.__dict__)


def test_a_sign_up_from_the_link_keeps_the_invitation_for_the_sign_in_after_confirming(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org
) -> None:
    invitation_id, token = _invited(app, client, settings, studio)
    browser = Portal(app)
    try:
        # The first mails' address goes on to the sign-up page, token and all.
        old = browser.get("/portal/signup", params={"invitation": token})
        assert old.status_code == 303
        assert old.headers["location"] == f"/portal/sign-up?invitation={token}"
        form = browser.get(old.headers["location"])
        assert hidden_field(form.text, "invitation") == token
        assert "You are answering the invitation of" in form.text
        body = sign_up_body()
        r = browser.http.post(
            "/portal/sign-up",
            data={
                **{k: body[k] for k in ("legal_name", "email", "password", "date_of_birth")},
                "jurisdiction": "gb",
                "csrf_token": hidden_field(form.text, "csrf_token"),
                "invitation": token,
            },
        )
        assert r.status_code == 200 and "Check your email" in r.text
        assert "Signing in accepts the invitation" in r.text
        cookie = next(
            c
            for c in r.headers.get_list("set-cookie")
            if c.startswith("consent_portal_invitation=")
        )
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/portal" in cookie
        assert listed(client, studio)[invitation_id]["status"] == "pending"

        # Confirm the address by the mailed link (the same browser), then sign in: accepted.
        link = link_token(mails_to(app, settings, body["email"])[-1][1], "/portal/confirm-email")
        page = browser.get("/portal/confirm-email", params={"token": link})
        done = browser.http.post(
            "/portal/confirm-email",
            data={"token": link, "csrf_token": hidden_field(page.text, "csrf_token")},
        )
        assert done.status_code == 200 and "Signing in accepts the invitation" in done.text
        login = browser.get("/portal/login")  # no token in the address: the cookie's
        assert hidden_field(login.text, "invitation") == token
        r = browser.http.post(
            "/portal/login",
            data={
                "email": body["email"],
                "password": body["password"],
                "invitation": token,
                "csrf_token": hidden_field(login.text, "csrf_token"),
            },
        )
        assert r.status_code == 303 and r.headers["location"].startswith("/portal/requests/")
        assert any(
            c.startswith('consent_portal_invitation=""') for c in r.headers.get_list("set-cookie")
        )
        assert listed(client, studio)[invitation_id]["status"] == "accepted"
    finally:
        browser.close()


def test_a_bad_invitation_token_is_ignored_and_said_so(
    app: FastAPI, client: TestClient, settings: Settings, studio: Org
) -> None:
    browser = Portal(app)
    try:
        form = browser.get("/portal/sign-up", params={"invitation": "x" * 43})
        assert form.status_code == 200 and "The invitation in this link is not valid" in form.text
        assert 'name="invitation"' not in form.text
        login = browser.get("/portal/login", params={"invitation": "x" * 43})
        assert 'name="invitation"' not in login.text
        too_long = browser.get("/portal/login", params={"invitation": "x" * 500})
        assert too_long.status_code == 422
    finally:
        browser.close()
