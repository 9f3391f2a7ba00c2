"""In Chromium: a readable notice with separate choices, a subset accepted by keyboard alone,
and the printable receipt; at desktop width and at 360 px. Screenshots are kept as artefacts
(CONSENT_E2E_ARTEFACTS, default /tmp/consent-e2e) for people to look at."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from consent_service.consents.receipts import RECEIPT_TYP
from consent_service.crypto import signing
from tests.conftest import HolderAccount, Org
from tests.e2e.test_portal_browser import sign_in
from tests.licences.conftest import grant_terms

ARTEFACTS = Path(os.environ.get("CONSENT_E2E_ARTEFACTS", "/tmp/consent-e2e"))
PHONE = {"width": 360, "height": 740}


def shot(page: Any, name: str) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / f"{name}.png"), full_page=True)


def fits(page: Any) -> bool:
    """Nothing wider than the viewport: no sideways scrolling."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.fixture(params=[None, PHONE], ids=["desktop", "phone"])
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    options: dict[str, Any] = {"accept_downloads": True}
    if request.param:
        options["viewport"] = request.param
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def test_a_holder_reads_the_notice_chooses_by_keyboard_and_prints_the_receipt(
    live_server: str,
    page: Any,
    register_holder: Any,
    studio: Org,
    tmp_path: Path,
):
    size = "phone" if page.viewport_size["width"] == PHONE["width"] else "desktop"
    holder: HolderAccount = register_holder(time_zone="Europe/Paris")
    terms = grant_terms(
        project="Night Train",
        purposes=["film_tv", "advertising", "ai_training"],
        media=["streaming", "theatrical", "social_media"],
        optional={"purposes": ["advertising"], "media": ["social_media"]},
        valid_from="2027-01-10T09:00:00Z",
        valid_until="2028-01-10T09:00:00Z",
    )
    r = httpx.post(
        f"{live_server}/v1/consent-requests",
        json={"holder_id": holder.id, "terms": terms},
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    req = r.json()
    sign_in(page, live_server, holder)

    # Home: what each request is for, with AI training visible before opening it.
    item = page.locator("li", has_text="Night Train")
    assert "training AI models" in item.text_content()
    assert item.locator(".ai-flag").is_visible()
    assert fits(page)
    shot(page, f"home-{size}")

    page.get_by_role("link", name="Night Train").click()
    page.wait_for_url(f"{live_server}/portal/requests/{req['id']}")
    # The structured notice says exactly the canonical text, block by block, in order.
    text = req["notice"]["text"]
    blocks = page.locator("#notice").locator("h3, p, li").all_text_contents()
    expected = [
        line.removeprefix("## ").removeprefix("# ").removeprefix("- ")
        for line in text.split("\n")
        if line.strip()
    ]
    assert [" ".join(b.split()) for b in blocks] == expected
    assert page.locator("#notice-text").text_content() == text
    assert page.locator("#notice-sha256").text_content() == req["notice"]["sha256"]
    # Dates in words in the holder's time zone (Paris is UTC+1 in January).
    assert "From 10 January 2027 at 10:00 until 10 January 2028 at 10:00" in text
    assert page.get_by_role("heading", name="Your choices").is_visible()
    ai_box = page.get_by_label("Yes to use: training AI models")
    assert not ai_box.is_checked()
    assert (
        "teach computer systems"
        in page.locator(f"#{ai_box.get_attribute('aria-describedby')}").text_content()
    )
    assert fits(page)
    shot(page, f"request-{size}")

    # Keyboard alone: tick AI training, leave the rest, type the name, press Enter.
    ai_box.focus()
    page.keyboard.press("Space")
    assert ai_box.is_checked()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "signed_name"
    page.keyboard.type("Imogen Testperson")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    grant = httpx.get(f"{live_server}/v1/consents/{consent_id}", headers=holder.headers).json()
    assert grant["terms"]["purposes"] == ["ai_training", "film_tv"]
    assert grant["terms"]["media"] == ["streaming", "theatrical"]
    assert fits(page)
    shot(page, f"consent-{size}")

    # The receipt for people: who, the signed name, choice by choice, how to check it.
    page.get_by_role("link", name="See and print your receipt").click()
    page.wait_for_url(f"{live_server}/portal/consents/{consent_id}/receipt/view")
    assert page.locator("#receipt-signed-name").text_content() == "Imogen Testperson"
    rows = page.locator("#receipt-choices tbody tr").all_text_contents()
    answers = {" ".join(row.split()) for row in rows}
    assert answers == {
        "Place it may be shown: social media No",
        "Use: advertising No",
        "Use: training AI models Yes",
    }
    assert page.locator("#receipt-notice-sha256").text_content() == req["notice"]["sha256"]
    assert page.locator("#receipt-choices-sha256").text_content() == grant["choices_sha256"]
    # Where it was given, and who answers for the data (the controller).
    assert page.locator("#receipt-collection-method").text_content() == "in this portal"
    assert page.locator("#receipt-controller").is_visible()
    assert fits(page)
    shot(page, f"receipt-{size}")
    page.emulate_media(media="print")
    assert not page.locator("header.site").is_visible()
    shot(page, f"receipt-print-{size}")
    page.emulate_media(media="screen")

    # The signed JWS still downloads, and it records the same choices.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the signed receipt file").click()
    target = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(target)
    keys = signing.keys_from_jwks(httpx.get(f"{live_server}/.well-known/jwks.json").json())
    _header, claims = signing.verify(target.read_text(), keys=keys, typ=RECEIPT_TYP)
    assert claims["choices"] == grant["choices"]
    assert claims["purposes"] == ["ai_training", "film_tv"]

    # Home now lists the consent with what it allows, AI training flagged, and still fits.
    page.goto(f"{live_server}/portal")
    row = page.locator("tr", has_text="Night Train")
    assert "includes AI training" in row.text_content()
    assert fits(page)
    shot(page, f"home-with-consent-{size}")


def test_a_holder_reads_the_notice_in_spanish_switches_to_french_and_signs_it(
    live_server: str, page: Any, register_holder: Any, studio: Org
):
    size = "phone" if page.viewport_size["width"] == PHONE["width"] else "desktop"
    holder: HolderAccount = register_holder(language="es", time_zone="Europe/Madrid")
    r = httpx.post(
        f"{live_server}/v1/consent-requests",
        json={
            "holder_id": holder.id,
            "terms": grant_terms(project="Tren Nocturno", purposes=["film_tv", "ai_training"]),
        },
        headers=studio.headers,
    )
    assert r.status_code == 201, r.text
    req = r.json()
    notices = {n["language"]: n for n in req["translations"]}
    sign_in(page, live_server, holder)
    page.get_by_role("link", name="Tren Nocturno").click()
    assert page.locator("#notice").get_attribute("lang") == "es"
    assert page.locator("#notice h3").first.text_content() == "Aviso de consentimiento"
    assert page.locator("#notice-text").text_content() == notices["es"]["text"]
    assert fits(page)
    shot(page, f"request-es-{size}")

    # The page around the notice speaks the holder's language (Spanish) whichever notice is read.
    page.get_by_role("navigation", name="Idioma del aviso").get_by_role(
        "link", name="Français"
    ).click()
    assert page.locator("#notice-text").text_content() == notices["fr"]["text"]
    assert page.locator("#notice-sha256").text_content() == notices["fr"]["sha256"]
    page.get_by_label("Escriba su nombre completo para firmar").fill("Imogen Testperson")
    page.get_by_role("button", name="Doy mi consentimiento").click()
    page.wait_for_url(f"{live_server}/portal/consents/*")
    consent_id = page.url.split("/")[-1].split("?")[0]
    grant = httpx.get(f"{live_server}/v1/consents/{consent_id}", headers=holder.headers).json()
    assert grant["language"] == "fr" and grant["notice_sha256"] == notices["fr"]["sha256"]
    assert grant["terms"]["purposes"] == ["film_tv"]  # AI training left unticked
