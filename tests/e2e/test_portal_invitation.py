"""A studio's invitation, followed in Chromium from the mail that really arrived (the Maildir):
a new person signs up from its link, confirms the address by the mailed link, signs in and
lands on the studio's request with the invitation accepted; a registered holder signs in from
the mail's other link and lands there too. A used link accepts nothing twice."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
from fastapi import FastAPI

from consent_service.config import Settings
from tests.conftest import HolderAccount, Org
from tests.e2e.a11y import check_page
from tests.e2e.helpers import mailed_link, on_server
from tests.e2e.test_portal_account import PASSWORD, page, settings  # noqa: F401 (fixtures)
from tests.licences.conftest import grant_terms


def invite(live_server: str, studio: Org, email: str) -> dict[str, Any]:
    r = httpx.post(
        f"{live_server}/v1/invitations",
        json={"email": email, "consent_request": {"terms": grant_terms(project="Tidewater")}},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def invitation_of(live_server: str, studio: Org, invitation_id: str) -> dict[str, Any]:
    r = httpx.get(f"{live_server}/v1/invitations", headers=studio.headers)
    assert r.status_code == 200, r.text
    return next(item for item in r.json()["items"] if item["id"] == invitation_id)


def sign_the_request(tab: Any, name: str) -> None:
    tab.get_by_label("Type your full name to sign").fill(name)
    tab.get_by_role("button", name="I consent").click()
    tab.wait_for_url("**/portal/consents/*")
    assert tab.locator("#consent-status").inner_text() == "active"


def test_a_new_person_signs_up_from_the_invitation_confirms_and_lands_on_the_request(
    app: FastAPI,
    settings: Settings,  # noqa: F811
    live_server: str,
    page: Any,  # noqa: F811
    make_org: Any,
) -> None:
    studio = make_org("studio", name="Tidewater Films")
    email = f"newcomer-{secrets.token_hex(4)}@example.org"
    created = invite(live_server, studio, email)
    link = mailed_link(app, settings, email, "/portal/sign-up", param="invitation")
    page.goto(on_server(link, live_server))
    assert (
        "You are answering the invitation of Tidewater Films" in page.locator("main").inner_text()
    )
    check_page(page, "sign-up-invitation")
    page.get_by_label("Full legal name").fill("Noor Newcomer")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1992-07-08")
    page.get_by_label("Country (or state) where you live").fill("gb")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    assert (
        "Signing in accepts the invitation of Tidewater Films" in page.locator("main").inner_text()
    )
    assert invitation_of(live_server, studio, created["id"])["status"] == "pending"

    # The confirmation link from the mail, opened in the same browser, confirmed by its button.
    page.goto(on_server(mailed_link(app, settings, email, "/portal/confirm-email"), live_server))
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_role("heading", name="Your email address is confirmed").wait_for()
    page.get_by_role("link", name="Sign in").click()
    assert (
        "Signing in accepts the invitation of Tidewater Films"
        in page.locator("#invitation-note").inner_text()
    )
    check_page(page, "login-invitation")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # On the request the invitation made, the invitation accepted; the studio sees who.
    page.wait_for_url(f"{live_server}/portal/requests/*?done=invitation")
    assert "You accepted the invitation" in page.get_by_role("status").first.inner_text()
    shown = invitation_of(live_server, studio, created["id"])
    assert shown["status"] == "accepted" and shown["holder_id"].startswith("hld_")
    assert page.url.split("?")[0].endswith(shown["consent_request_id"])
    sign_the_request(page, "Noor Newcomer")


def test_a_registered_holder_signs_in_from_the_invitation_and_lands_on_the_request(
    app: FastAPI,
    settings: Settings,  # noqa: F811
    live_server: str,
    page: Any,  # noqa: F811
    studio: Org,
    holder: HolderAccount,
) -> None:
    # The invitation goes to the holder's address; they already have an account (confirmed).
    created = invite(live_server, studio, holder.email)
    link = on_server(
        mailed_link(app, settings, holder.email, "/portal/login", param="invitation"), live_server
    )
    page.goto(link)
    page.get_by_label("Email").fill(holder.email)
    page.get_by_label("Password").fill(holder.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server}/portal/requests/*?done=invitation")
    shown = invitation_of(live_server, studio, created["id"])
    assert shown["status"] == "accepted" and shown["holder_id"] == holder.id
    assert page.url.split("?")[0].endswith(shown["consent_request_id"])

    # The same link again, signed in: used up, so simply home; nothing more is accepted.
    page.goto(link)
    page.wait_for_url(f"{live_server}/portal")
    mine = httpx.get(f"{live_server}/v1/consent-requests", headers=holder.headers).json()
    assert [item["id"] for item in mine["items"]] == [shown["consent_request_id"]]
