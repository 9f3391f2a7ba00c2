"""The screenshots of docs/holders.md, taken by walking the portal as an actor does: sign-up,
the request with its choices, the consent with its actions, the receipt, the withdraw
confirmation, the account page and identity verification (desktop width).

By default the images go to test-artifacts/docs-screenshots/ (git-ignored), so running the
suite leaves the docs alone. To refresh the docs' images, run this file with
`CONSENT_DOCS_SCREENSHOTS=1`: they are written to docs/images/, reduced to 256 colours (Pillow)
to keep the repository small. Look at each one before committing it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from PIL import Image

from consent_service.config import Settings
from tests.conftest import PRODUCTION_CONTROLLER, Org
from tests.e2e.helpers import mailed_link, on_server, sign_in_as, studio_asks
from tests.vault import media

ROOT = Path(__file__).resolve().parents[2]
DESKTOP = {"width": 1024, "height": 768}
PASSWORD = "a long enough passphrase"
EMAIL = "imogen.testperson@example.org"
SHOTS = (
    "portal-sign-up",
    "portal-home",
    "portal-request",
    "portal-consent",
    "portal-receipt",
    "portal-withdraw",
    "portal-account",
    "portal-verification",
)


def _target() -> Path:
    if os.environ.get("CONSENT_DOCS_SCREENSHOTS") == "1":
        return ROOT / "docs" / "images"
    return ROOT / "test-artifacts" / "docs-screenshots"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # A configured controller, as in production: the receipt page shows it.
    return settings.model_copy(update={"require_email_confirmation": True, **PRODUCTION_CONTROLLER})


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _shot(page: Any, name: str) -> None:
    target = _target()
    target.mkdir(parents=True, exist_ok=True)
    path = target / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256)
    small.save(path, optimize=True)


def test_the_docs_screenshots(
    app: FastAPI,
    settings: Settings,
    live_server: str,
    page: Any,
    make_org: Callable[..., Org],
) -> None:
    studio = make_org("studio", name="Northlight Pictures")
    page.goto(f"{live_server}/portal/sign-up")
    page.get_by_label("Full legal name").fill("Imogen Testperson")
    page.get_by_label("Stage name (optional)").fill("Imogen Test")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1990-01-02")
    page.get_by_label("Country (or state) where you live").fill("GB")
    _shot(page, "portal-sign-up")
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Check your email").wait_for()
    page.goto(on_server(mailed_link(app, settings, EMAIL, "/portal/confirm-email"), live_server))
    page.get_by_role("button", name="Confirm my email address").click()
    page.get_by_role("heading", name="Your email address is confirmed").wait_for()

    sign_in_as(page, live_server, EMAIL, PASSWORD)
    page.goto(f"{live_server}/portal/account")
    holder_id = page.locator("#holder-id").inner_text()
    req = studio_asks(
        live_server,
        studio,
        holder_id,
        project="Night Train",
        purposes=["film_tv", "advertising", "ai_training"],
        media=["streaming", "theatrical", "social_media"],
        optional={"purposes": ["advertising", "ai_training"], "media": ["social_media"]},
    )
    page.goto(f"{live_server}/portal")
    page.get_by_role("link", name="Northlight Pictures: “Night Train”").wait_for()
    _shot(page, "portal-home")

    page.get_by_role("link", name="Northlight Pictures: “Night Train”").click()
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}")
    page.get_by_label("Yes to use: advertising").check()
    page.get_by_label("Type your full name to sign").fill("Imogen Testperson")
    _shot(page, "portal-request")
    page.get_by_role("button", name="I consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    _shot(page, "portal-consent")

    page.get_by_role("link", name="See and print your receipt").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}/receipt/view")
    _shot(page, "portal-receipt")

    page.goto(f"{live_server}/portal/consents/{consent_id}")
    page.get_by_role("link", name="Withdraw consent").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}/withdraw")
    _shot(page, "portal-withdraw")

    page.goto(f"{live_server}/portal/account")
    _shot(page, "portal-account")

    page.get_by_role("link", name="Verify your identity").click()
    page.get_by_label("Kind of document").select_option("passport")
    page.get_by_label("Country that issued it").select_option("GB")
    page.get_by_label("Last 4 letters or digits of its number").fill("4821")
    page.get_by_label("Photo of the document").set_input_files(
        {"name": "passport.png", "mimeType": "image/png", "buffer": media.png_with_text()}
    )
    page.get_by_role("button", name="Upload the document").click()
    page.wait_for_url(f"{live_server}/portal/verification?done=document")
    page.get_by_role("button", name="Get a phrase to say").click()
    page.locator("#challenge-phrase").wait_for()
    _shot(page, "portal-verification")

    for name in SHOTS:
        with Image.open(_target() / f"{name}.png") as image:
            assert image.width == DESKTOP["width"], name
