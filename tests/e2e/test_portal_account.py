"""A person on their own, in Chromium: signs up, reads the confirmation link in the mail that
really arrived (the Maildir), confirms, consents; forgets the password and resets it by the
mailed link; changes it on the account page. Reused links and forged forms change nothing."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from consent_service.config import Settings
from tests.conftest import Org
from tests.e2e.helpers import mailed_link, on_server, sign_in_as, studio_asks

PASSWORD = "a long enough passphrase"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"require_email_confirmation": True})


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def counts(app: FastAPI) -> dict[str, int]:
    with app.state.services.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one()
            for t in ("holder", "login", "consent_grant", "login_token", "audit_event")
        }


def sign_up(page: Any, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/portal/login")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Full legal name").fill("Nadia Example")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1991-03-04")
    page.get_by_label("Country (or state) where you live").fill("gb")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()


def test_sign_up_confirm_by_the_mailed_link_then_consent(
    app: FastAPI, settings: Settings, live_server: str, page: Any, studio: Org
) -> None:
    email = f"nadia-{secrets.token_hex(4)}@example.org"
    sign_up(page, live_server, email)
    # The same answer for an address that is taken: nothing on the page tells them apart.
    taken_text = page.locator("main").inner_text()
    sign_up(page, live_server, email)
    assert page.locator("main").inner_text() == taken_text

    sign_in_as(page, live_server, email, PASSWORD)
    page.get_by_role("link", name="Your account").click()
    holder_id = page.locator("#holder-id").inner_text()
    assert page.locator("#email-status").inner_text() == "Not confirmed yet"

    # Consent before confirming: the request page says so plainly, and nothing is signed.
    req = studio_asks(live_server, studio, holder_id, project="Blue Hour")
    page.goto(f"{live_server}/portal/requests/{req['id']}")
    page.get_by_label("Type your full name to sign").fill("Nadia Example")
    before = counts(app)
    page.get_by_role("button", name="I consent").click()
    page.get_by_role("heading", name="Confirm your email first").wait_for()
    assert counts(app) == before
    page.get_by_role("button", name="Send the link again").click()
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}?done=confirmation_sent")
    assert "new link" in page.get_by_role("status").inner_text()

    # The newest mailed link; opening it (as a mail scanner would) uses nothing up.
    link = on_server(mailed_link(app, settings, email, "/portal/confirm-email"), live_server)
    assert httpx.get(link).status_code == 200
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_role("heading", name="Your email address is confirmed").wait_for()
    # Used once: the same link again says so and changes nothing.
    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_role("heading", name="This link does not work").wait_for()

    page.goto(f"{live_server}/portal/account")
    assert page.locator("#email-status").inner_text() == "Confirmed"
    page.goto(f"{live_server}/portal/requests/{req['id']}")
    page.get_by_label("Type your full name to sign").fill("Nadia Example")
    page.get_by_role("button", name="I consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    assert page.locator("#consent-status").inner_text() == "active"


def test_forgotten_password_reset_by_the_mailed_link_works_once(
    app: FastAPI, settings: Settings, live_server: str, page: Any, register_holder: Any
) -> None:
    holder = register_holder()
    page.goto(f"{live_server}/portal/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(holder.email)
    page.get_by_role("button", name="Mail me a link").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    known = page.locator("main").inner_text()
    # An unknown address gets the very same page.
    page.goto(f"{live_server}/portal/forgot-password")
    page.get_by_label("Email").fill(f"nobody-{secrets.token_hex(4)}@example.org")
    page.get_by_role("button", name="Mail me a link").click()
    assert page.locator("main").inner_text() == known

    link = on_server(
        mailed_link(app, settings, holder.email, "/portal/reset-password"), live_server
    )
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("another long passphrase")
    page.get_by_label("New password again").fill("not the same passphrase")
    page.get_by_role("button", name="Set the new password").click()
    assert "not the same" in page.get_by_role("alert").inner_text()
    page.get_by_label("New password", exact=True).fill("another long passphrase")
    page.get_by_label("New password again").fill("another long passphrase")
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("heading", name="Your password is changed").wait_for()
    # The old bearer token is signed out; the link does not work twice.
    assert httpx.get(f"{live_server}/v1/holders/me", headers=holder.headers).status_code == 401
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a third long passphrase")
    page.get_by_label("New password again").fill("a third long passphrase")
    page.get_by_role("button", name="Set the new password").click()
    page.get_by_role("heading", name="This link does not work").wait_for()
    sign_in_as(page, live_server, holder.email, "another long passphrase")


def test_change_password_on_the_account_page_and_forged_forms_change_nothing(
    app: FastAPI, live_server: str, page: Any, register_holder: Any
) -> None:
    holder = register_holder()
    sign_in_as(page, live_server, holder.email, holder.password)
    page.goto(f"{live_server}/portal/account")
    assert page.locator("#holder-id").inner_text() == holder.id

    page.get_by_label("Current password").fill("not my password at all")
    page.get_by_label("New password", exact=True).fill("another long passphrase")
    page.get_by_label("New password again").fill("another long passphrase")
    before = counts(app)
    page.get_by_role("button", name="Change password").click()
    assert "current password is not correct" in page.get_by_role("alert").inner_text()
    assert counts(app) == before

    # A form without this session's CSRF token (another site's) is refused, nothing changes.
    forged = page.context.request.post(
        f"{live_server}/portal/account/password",
        form={
            "current_password": holder.password,
            "new_password": "forged long passphrase",
            "repeat_password": "forged long passphrase",
            "csrf_token": "forged",
        },
        max_redirects=0,
    )
    assert forged.status == 403 and "did not come from this site" in forged.text()
    forged_reset = page.context.request.post(
        f"{live_server}/portal/forgot-password",
        form={"email": holder.email, "csrf_token": "forged"},
        max_redirects=0,
    )
    assert forged_reset.status == 403
    assert counts(app) == before

    page.get_by_label("Current password").fill(holder.password)
    page.get_by_label("New password", exact=True).fill("another long passphrase")
    page.get_by_label("New password again").fill("another long passphrase")
    page.get_by_role("button", name="Change password").click()
    page.get_by_role("heading", name="Your password is changed").wait_for()
    page.goto(f"{live_server}/portal")
    assert page.url.startswith(f"{live_server}/portal/login")
    sign_in_as(page, live_server, holder.email, "another long passphrase")
