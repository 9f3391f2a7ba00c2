"""Every portal page passes axe-core with zero violations, reads at 360 px wide without
scrolling sideways (screenshots in test-artifacts/portal-360/). The walk goes through the pages
as a new person meets them: sign-up, the confirmation link, a request, consent, a licence, the
rights pages, signing out and resetting the password."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from consent_service.config import Settings
from tests.conftest import Org
from tests.e2e.a11y import check_page, violations
from tests.e2e.helpers import mailed_link, on_server, sign_in_as, studio_asks
from tests.licences.conftest import licence_scope
from tests.vault import media

PASSWORD = "a long enough passphrase"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"require_email_confirmation": True})


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_the_check_finds_a_violation(live_server: str, page: Any) -> None:
    """The check can fail: an image without a text alternative on a real page is caught."""
    page.goto(f"{live_server}/portal/login")
    page.evaluate(
        "() => document.querySelector('main').append(Object.assign("
        "document.createElement('img'), {src: '/portal/static/portal.css'}))"
    )
    assert "image-alt" in [v["id"] for v in violations(page)]


def test_every_portal_page_passes_axe_and_reads_at_360_px(
    app: FastAPI, settings: Settings, live_server: str, page: Any, studio: Org
) -> None:
    email = f"ada-{secrets.token_hex(4)}@example.org"
    page.goto(f"{live_server}/portal/login")
    check_page(page, "login")
    page.goto(f"{live_server}/portal/sign-up")
    check_page(page, "sign-up")
    page.get_by_label("Full legal name").fill("Ada Example")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_label("Date of birth").fill("1990-01-02")
    page.get_by_label("Country (or state) where you live").fill("XX")
    page.locator("form").evaluate("f => f.noValidate = true")
    page.get_by_role("button", name="Create account").click()
    page.locator("#form-errors").wait_for()
    check_page(page, "sign-up-errors")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Country (or state) where you live").fill("FR")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    check_page(page, "sign-up-check-your-email")

    sign_in_as(page, live_server, email, PASSWORD)
    check_page(page, "home-empty")
    page.goto(f"{live_server}/portal/account")
    holder_id = page.locator("#holder-id").inner_text()
    check_page(page, "account-unconfirmed")

    req = studio_asks(live_server, studio, holder_id, project="Quiet Harbour")
    page.goto(f"{live_server}/portal")
    check_page(page, "home-pending")
    page.goto(f"{live_server}/portal/requests/{req['id']}")
    check_page(page, "request")
    page.get_by_label("Type your full name to sign").fill("Ada Example")
    page.get_by_role("button", name="I consent").click()
    page.locator("#confirm-first").wait_for()
    check_page(page, "request-confirm-email-first")

    link = on_server(mailed_link(app, settings, email, "/portal/confirm-email"), live_server)
    page.goto(link)
    check_page(page, "confirm-email")
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_role("heading", name="Your email address is confirmed").wait_for()
    check_page(page, "confirm-email-done")
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    check_page(page, "confirm-email-used-link")

    page.goto(f"{live_server}/portal/requests/{req['id']}")
    page.get_by_label("Type your full name to sign").fill("Ada Example")
    page.get_by_role("button", name="I consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    check_page(page, "consent-accepted")
    lic = httpx.post(
        f"{live_server}/v1/licences",
        json={"consent_id": consent_id, "scope": licence_scope()},
        headers=studio.headers,
    )
    assert lic.status_code == 201, lic.text
    page.goto(f"{live_server}/portal/licences/{lic.json()['id']}")
    check_page(page, "licence")
    page.goto(f"{live_server}/portal/consents/{consent_id}/withdraw")
    check_page(page, "withdraw-confirm")
    page.get_by_role("button", name="Suspend instead").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}?done=suspended")
    check_page(page, "consent-suspended")
    page.goto(f"{live_server}/portal")
    check_page(page, "home-with-consent")

    token = httpx.post(
        f"{live_server}/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    up = httpx.post(
        f"{live_server}/v1/holders/{holder_id}/references",
        files={"file": ("me.jpg", media.jpeg_with_gps(), "image/jpeg")},
        data={"attribute": "face"},
        headers=headers,
    )
    assert up.status_code == 201, up.text
    rep = httpx.post(
        f"{live_server}/v1/holders/{holder_id}/representatives",
        json={
            "kind": "agent",
            "name": "Ann Agent",
            "email": f"ann-{secrets.token_hex(3)}@example.org",
            "password": "representative passphrase",
            "authority_evidence": {
                "type": "agency_agreement",
                "reference": "AG-1",
                "issued_by": "Agency",
                "issued_on": "2026-01-01",
            },
        },
        headers=headers,
    )
    assert rep.status_code == 201, rep.text
    page.goto(f"{live_server}/portal/account")
    check_page(page, "account")
    page.goto(f"{live_server}/portal/references")
    check_page(page, "references")
    page.goto(f"{live_server}/portal/representatives")
    check_page(page, "representatives")
    page.goto(f"{live_server}/portal/account/erase")
    check_page(page, "erase-confirm")
    page.goto(f"{live_server}/portal/consents/nothing-here")
    check_page(page, "not-found")

    page.goto(f"{live_server}/portal")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{live_server}/portal/login?signed_out=true")
    check_page(page, "signed-out")
    page.goto(f"{live_server}/portal/forgot-password")
    check_page(page, "forgot-password")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Mail me a link").click()
    check_page(page, "forgot-password-sent")
    reset = on_server(mailed_link(app, settings, email, "/portal/reset-password"), live_server)
    page.goto(reset)
    check_page(page, "reset-password")
    page.get_by_label("New password", exact=True).fill("another long passphrase")
    page.get_by_label("New password again").fill("not the same at all")
    page.get_by_role("button", name="Set the new password").click()
    check_page(page, "reset-password-errors")
